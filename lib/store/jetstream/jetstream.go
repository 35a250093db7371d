// Package jetstream is a store.Store on NATS JetStream, for streams shared
// by several machines. One JetStream stream holds a store: each fold
// stream's log is the run of messages on its subject <name>.<type>.<id>,
// whose payloads, put end to end, are the bytes of its eventfold-format
// log, so offsets and hashes are the SPEC's; every message carries in its
// headers where it starts and the position just past its last line.
// A writer appends a command's events as one message (an atomic batch
// when they pass the server's payload limit), expecting the subject's last
// sequence to be the one it read: two writers on two machines never both
// append on the same state, and the loser gets store.ErrConflict.
// Creations are recorded once each on <name>._streams.<type>.<id>, which
// gives discovery in creation order; snapshots live in the KV bucket
// <name>_snapshots; Watch is an ordered consumer, which also gives the
// order of appends across all streams (ReadOrdered). See docs/jetstream.md.
package jetstream

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// Defaults of a store URL.
const (
	DefaultName     = "fold"
	DefaultReplicas = 1
	DefaultTimeout  = 30 * time.Second
)

// Config says where a store is and how it is made.
type Config struct {
	// Servers is what nats.Connect takes: one URL or several, comma
	// separated (a cluster's members; the client learns the others).
	Servers string
	// Name is the store's name: its JetStream stream, the first token of
	// its subjects, and the prefix of its snapshot bucket.
	Name string
	// Replicas of the stream and the bucket, when this store creates them
	// (an existing stream keeps its own).
	Replicas int
	// Timeout is how long an operation keeps trying while the servers are
	// unreachable or electing a leader, before failing with an error
	// wrapping store.ErrUnavailable.
	Timeout time.Duration
}

// IsURL reports whether s names a JetStream store rather than a directory.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "nats://") || strings.HasPrefix(s, "tls://")
}

// ParseURL reads nats://HOST:PORT[,HOST:PORT...][/NAME][?replicas=N&timeout=D].
func ParseURL(s string) (Config, error) {
	cfg := Config{Name: DefaultName, Replicas: DefaultReplicas, Timeout: DefaultTimeout}
	u, err := url.Parse(s)
	if err != nil {
		return cfg, fmt.Errorf("store %s is not a URL: %w", record.Quote(s), err)
	}
	if u.Scheme != "nats" && u.Scheme != "tls" || u.Host == "" {
		return cfg, fmt.Errorf("store %s is not nats://HOST:PORT[/NAME]", record.Quote(s))
	}
	if name := strings.Trim(u.Path, "/"); name != "" {
		cfg.Name = name
	}
	if err := checkName(cfg.Name); err != nil {
		return cfg, fmt.Errorf("store %s: %w", record.Quote(s), err)
	}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "replicas":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 5 {
				return cfg, fmt.Errorf("store %s: replicas %s is not a number from 1 to 5", record.Quote(s), record.Quote(v))
			}
			cfg.Replicas = n
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return cfg, fmt.Errorf("store %s: timeout %s is not a positive duration", record.Quote(s), record.Quote(v))
			}
			cfg.Timeout = d
		default:
			return cfg, fmt.Errorf("store %s: unknown parameter %s (replicas and timeout are known)", record.Quote(s), record.Quote(k))
		}
	}
	var servers []string
	for h := range strings.SplitSeq(u.Host, ",") {
		servers = append(servers, (&url.URL{Scheme: u.Scheme, User: u.User, Host: h}).String())
	}
	cfg.Servers = strings.Join(servers, ",")
	return cfg, nil
}

// checkName accepts what can be a stream name, a subject token and a
// bucket name at once.
func checkName(name string) error {
	if len(name) > 32 {
		return fmt.Errorf("name %s is longer than 32 bytes", record.Quote(name))
	}
	for i := 0; i < len(name); i++ {
		if !safe(name[i]) {
			return fmt.Errorf("name %s may hold only letters, digits, '-' and '_'", record.Quote(name))
		}
	}
	return nil
}

// Store is a store on a JetStream server or cluster. It is safe for
// concurrent use; Close it when done.
type Store struct {
	cfg  Config
	nc   *nats.Conn
	js   jetstream.JetStream
	subj subjects
	loc  string

	creating sync.Mutex // held while the stream or the bucket is made
	looking  sync.Mutex // held while the stream is looked up

	mu     sync.Mutex
	stream jetstream.Stream   // nil until seen or made
	kv     jetstream.KeyValue // nil until seen or made
	locks  map[record.StreamID]store.LocalLock
	known  map[record.StreamID]bool // streams seen to exist (none is ever removed)

	bounds *bounds
}

var _ store.Store = (*Store)(nil)

// Open connects to the servers of cfg. A server that cannot be reached is
// an error wrapping store.ErrUnavailable; one without JetStream, or that
// refuses the connection, is a plain error (a misconfiguration). Nothing
// is created until a write needs it.
func Open(ctx context.Context, cfg Config, name string) (*Store, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.Replicas < 1 {
		cfg.Replicas = DefaultReplicas
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	loc := location(cfg)
	nc, err := nats.Connect(cfg.Servers, nats.Name(name), nats.Timeout(2*time.Second),
		nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond), nats.ReconnectJitter(100*time.Millisecond, 0),
		// A publish while reconnecting fails, and is retried or reported: a
		// buffered one could land after its append was reported failed.
		nats.ReconnectBufSize(-1))
	if err != nil {
		if errors.Is(err, nats.ErrNoServers) || isNetError(err) {
			return nil, fmt.Errorf("connect to %s: %w: %w", loc, store.ErrUnavailable, err)
		}
		return nil, fmt.Errorf("connect to %s: %w", loc, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("connect to %s: %w", loc, err)
	}
	s := &Store{cfg: cfg, nc: nc, js: js, subj: subjects{prefix: cfg.Name}, loc: loc,
		locks: map[record.StreamID]store.LocalLock{}, known: map[record.StreamID]bool{}, bounds: newBounds()}
	err = s.retry(ctx, "connect", func(ctx context.Context) error {
		_, err := js.AccountInfo(ctx)
		return err
	})
	if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
		nc.Close()
		return nil, fmt.Errorf("%s: %w (start nats-server with -js)", loc, err)
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	if _, err := s.getStream(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return s, nil
}

// location is how a store is named in messages: its URL without
// credentials.
func location(cfg Config) string {
	var hosts []string
	scheme := "nats"
	for srv := range strings.SplitSeq(cfg.Servers, ",") {
		if u, err := url.Parse(srv); err == nil && u.Host != "" {
			hosts, scheme = append(hosts, u.Host), u.Scheme
		} else {
			hosts = append(hosts, srv)
		}
	}
	return scheme + "://" + strings.Join(hosts, ",") + "/" + cfg.Name
}

// Close closes the connection. What was appended is on the server.
func (s *Store) Close() error {
	s.nc.Close()
	return nil
}

// Location is the store's URL (without credentials) and name.
func (s *Store) Location() string { return s.loc }

// Exists reports whether the store's JetStream stream exists.
func (s *Store) Exists() bool {
	st, err := s.getStream(context.Background())
	return err == nil && st != nil
}

// getStream returns the stream, or nil when the store was never written.
func (s *Store) getStream(ctx context.Context) (jetstream.Stream, error) {
	s.mu.Lock()
	st := s.stream
	s.mu.Unlock()
	if st != nil {
		return st, nil
	}
	// One lookup at a time: a cluster leaves some of a burst of lookups
	// of a stream that does not exist yet unanswered.
	s.looking.Lock()
	defer s.looking.Unlock()
	s.mu.Lock()
	st = s.stream
	s.mu.Unlock()
	if st != nil {
		return st, nil
	}
	err := s.retry(ctx, "open", func(ctx context.Context) error {
		var err error
		st, err = s.js.Stream(ctx, s.cfg.Name)
		return err
	})
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	}
	s.mu.Lock()
	s.stream = st
	s.mu.Unlock()
	return st, nil
}

// streamConfig is the JetStream stream a store creates. Direct gets are
// allowed only where the one server that answers them is the leader:
// with replicas, a follower could answer from behind, so reads go to the
// leader and see every acknowledged append.
func (s *Store) streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:               s.cfg.Name,
		Description:        "fold event store (docs/jetstream.md)",
		Subjects:           []string{s.subj.all()},
		Storage:            jetstream.FileStorage,
		Replicas:           s.cfg.Replicas,
		Retention:          jetstream.LimitsPolicy,
		MaxMsgs:            -1,
		MaxBytes:           -1,
		MaxAge:             0,
		MaxMsgsPerSubject:  -1,
		AllowDirect:        s.cfg.Replicas == 1,
		AllowAtomicPublish: true,
		DenyPurge:          true,
	}
}

// ensure creates the store's stream if it does not exist yet. One
// goroutine creates it while the others wait: a cluster answers a burst
// of creations of one stream slowly, some only after a timeout.
func (s *Store) ensure(ctx context.Context) (jetstream.Stream, error) {
	st, err := s.getStream(ctx)
	if err != nil || st != nil {
		return st, err
	}
	s.creating.Lock()
	defer s.creating.Unlock()
	if st, err = s.getStream(ctx); err != nil || st != nil {
		return st, err
	}
	err = s.retry(ctx, "create", func(ctx context.Context) error {
		var err error
		st, err = s.js.CreateStream(ctx, s.streamConfig())
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			st, err = s.js.Stream(ctx, s.cfg.Name) // made meanwhile, perhaps with other settings
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.stream == nil {
		s.stream = st
	}
	st = s.stream
	s.mu.Unlock()
	return st, nil
}

// Streams lists the streams of the given types (or all) in creation order.
func (s *Store) Streams(types ...string) ([]record.StreamID, error) {
	return s.list(types)
}

// StreamsUnchecked is Streams: a listed stream always has its log.
func (s *Store) StreamsUnchecked(types ...string) ([]record.StreamID, error) {
	return s.list(types)
}

// HasStream reports whether the stream was created.
func (s *Store) HasStream(id record.StreamID) bool {
	ok, err := s.has(context.Background(), id)
	return err == nil && ok
}

// has looks a stream's creation record up, once: a stream is never
// removed, so a stream seen stays known.
func (s *Store) has(ctx context.Context, id record.StreamID) (bool, error) {
	if store.CheckStream(id) != nil {
		return false, nil
	}
	s.mu.Lock()
	ok := s.known[id]
	s.mu.Unlock()
	if ok {
		return true, nil
	}
	st, err := s.getStream(ctx)
	if err != nil || st == nil {
		return false, err
	}
	m, err := s.lastRaw(ctx, st, s.subj.created(id))
	if err != nil || m == nil {
		return false, err
	}
	s.remember(id)
	return true, nil
}

func (s *Store) remember(id record.StreamID) {
	s.mu.Lock()
	s.known[id] = true
	s.mu.Unlock()
}

// OpenLog opens a stream's log for reading.
func (s *Store) OpenLog(id record.StreamID) (store.Log, error) {
	l, err := s.openLog(id)
	if err != nil {
		return nil, err
	}
	return l, nil
}

func (s *Store) openLog(id record.StreamID) (*jsLog, error) {
	ctx := context.Background()
	ok, err := s.has(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("open stream %s: %w", id, err)
	}
	if !ok {
		return nil, store.NoStreamError(id, fmt.Errorf("no creation record in %s", s.loc))
	}
	st, err := s.getStream(ctx)
	if err != nil {
		return nil, err
	}
	return &jsLog{s: s, st: st, id: id, subject: s.subj.events(id)}, nil
}

// OpenWriter opens a stream's log for appending. Creating it publishes
// its creation record, expecting none before: of any number of writers
// creating it at once, on any machines, one is told it created it.
func (s *Store) OpenWriter(id record.StreamID, create bool) (store.Writer, bool, error) {
	if err := store.CheckStream(id); err != nil {
		return nil, false, err
	}
	created := false
	if create {
		var err error
		if created, err = s.create(context.Background(), id); err != nil {
			return nil, false, fmt.Errorf("create stream %s: %w", id, err)
		}
	}
	l, err := s.openLog(id)
	if err != nil {
		return nil, false, err
	}
	return &writer{jsLog: *l, hold: store.LockHold{L: s.lockOf(id)}}, created, nil
}

// create records a stream's creation unless it exists.
func (s *Store) create(ctx context.Context, id record.StreamID) (bool, error) {
	if ok, err := s.has(ctx, id); err != nil || ok {
		return false, err
	}
	if _, err := s.ensure(ctx); err != nil {
		return false, err
	}
	msg := nats.NewMsg(s.subj.created(id))
	msg.Data, _ = record.Marshal(record.RegistryEntry{ID: id.ID, Ts: time.Now().Unix(), Type: id.Type})
	_, err := s.publish(ctx, msg, 0)
	switch {
	case errors.Is(err, store.ErrConflict):
		s.remember(id)
		return false, nil
	case err != nil:
		return false, err
	}
	s.remember(id)
	return true, nil
}

// lockOf returns a stream's writer lock in this process.
func (s *Store) lockOf(id record.StreamID) store.LocalLock {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.locks[id]
	if l == nil {
		l = store.NewLocalLock()
		s.locks[id] = l
	}
	return l
}

// SyncWriters does nothing: an append returns once the server stored it
// (and, with replicas, once a majority did).
func (s *Store) SyncWriters([]store.Writer) error { return nil }
