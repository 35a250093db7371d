package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// measureJetStreamR1 is (j1), issue 9: fold-exec --sync batch across 1,000
// instances on a JetStream store (one server, file storage), beside a raw
// publish loop on the same server.
func measureJetStreamR1(e *Env) error { return e.jetStreamExec(1, "(j1)") }

// measureJetStreamR3 is (j3): the same on a three-node cluster, R3.
func measureJetStreamR3(e *Env) error { return e.jetStreamExec(3, "(j3)") }

// jetStreamExec runs the counter workload across many instances on a
// store of the given replicas, cold then warm, between two runs of the raw
// loop; the ratios compare each with the mean of the raw loops.
func (e *Env) jetStreamExec(replicas int, tag string) error {
	n, inst := e.N(100000, 2000), e.N(1000, 100)
	c, err := e.startNATS(replicas)
	if err != nil {
		return err
	}
	defer c.stop()
	dir, err := e.NewDir("input")
	if err != nil {
		return err
	}
	input := filepath.Join(dir, "commands.jsonl")
	if err := writeCommands(input, n, inst); err != nil {
		return err
	}
	e.Logf("raw loop: %d messages of an event line's size round-robin over %d subjects, async publish expecting each subject's last sequence, R%d", n, inst, replicas)
	raw1, err := rawPublish(c.URL, fmt.Sprintf("RAW1_%d", replicas), replicas, n, inst)
	if err != nil {
		return fmt.Errorf("raw publish loop: %w", err)
	}
	e.Logf("  raw loop: %s msgs/s", num(raw1))
	best := map[string]time.Duration{}
	for run := range e.Runs {
		url := c.storeURL(fmt.Sprintf("bench%d", run), replicas)
		root, err := e.NewDir("root")
		if err != nil {
			return err
		}
		for _, phase := range []string{"cold", "warm"} {
			e.Logf("%s: %d Increment commands round-robin over %d instances on %s", phase, n, inst, url)
			res, err := e.runExec(execRun{root: filepath.Join(root, "root"), input: input, commands: n, sync: "batch",
				extra: []string{"--store", url}, label: fmt.Sprintf("%s-%s-%d", e.key, phase, run+1)})
			if err != nil {
				return err
			}
			if b, ok := best[phase]; !ok || res.Wall < b {
				best[phase] = res.Wall
			}
		}
	}
	raw2, err := rawPublish(c.URL, fmt.Sprintf("RAW2_%d", replicas), replicas, n, inst)
	if err != nil {
		return fmt.Errorf("raw publish loop: %w", err)
	}
	e.Logf("  raw loop again: %s msgs/s", num(raw2))
	raw := (raw1 + raw2) / 2
	e.Add(Row{Measure: fmt.Sprintf("raw JetStream R%d: async publish expecting the subject's last sequence, %s subjects (mean of 2 loops)", replicas, num(float64(inst))),
		Value: raw, Unit: "msgs/s"})
	for _, phase := range []string{"cold", "warm"} {
		rate := foldRate(n, best[phase])
		e.Add(Row{Measure: fmt.Sprintf("fold-exec --sync batch on JetStream R%d, %s instances, %s cmds, %s%s", replicas, num(float64(inst)), num(float64(n)), phase, e.best()),
			Value: rate, Unit: "cmd/s"})
		e.Add(Row{Measure: fmt.Sprintf("%s fold-exec %s / raw publish loop, R%d", tag, phase, replicas), Value: rate / raw, Unit: "ratio", Target: AtLeast(0.5)})
	}
	return nil
}

// rawPublish is the ceiling: n messages the size of a counter event line
// published round-robin on inst subjects of a stream made for it, each
// expecting its subject's last sequence, as fold's appends do. Publishes
// are asynchronous; a subject's next message waits for its previous
// one's acknowledgement, which carries the sequence to expect.
func rawPublish(url, name string, replicas, n, inst int) (float64, error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"},
		Storage: jetstream.FileStorage, Replicas: replicas}); err != nil {
		return 0, err
	}
	subjects := make([]string, inst)
	for i := range subjects {
		subjects[i] = fmt.Sprintf("%s.counter.%s", name, instanceName(i))
	}
	payload := func() []byte {
		var id [16]byte
		_, _ = rand.Read(id[:])
		return fmt.Appendf(nil, `{"type":"Incremented","data":null,"ts":%d,"id":"%s"}`+"\n", time.Now().Unix(), hex.EncodeToString(id[:]))
	}
	last := make([]uint64, inst)
	pending := make([]jetstream.PubAckFuture, inst)
	settle := func(k int) error {
		for pending[k] != nil {
			select {
			case ack := <-pending[k].Ok():
				last[k] = ack.Sequence
				pending[k] = nil
			case err := <-pending[k].Err():
				// A cluster refuses a subject's next message while its
				// previous one is still being applied (the "constant"
				// wrong-last-sequence): send it again, as fold does.
				var apiErr *jetstream.APIError
				if !errors.As(err, &apiErr) || apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequenceConstant {
					return err
				}
				if pending[k], err = js.PublishMsgAsync(pending[k].Msg(), jetstream.WithExpectLastSequencePerSubject(last[k])); err != nil {
					return err
				}
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	start := time.Now()
	for i := range n {
		k := i % inst
		if err := settle(k); err != nil {
			return 0, err
		}
		m := nats.NewMsg(subjects[k])
		m.Data = payload()
		if pending[k], err = js.PublishMsgAsync(m, jetstream.WithExpectLastSequencePerSubject(last[k])); err != nil {
			return 0, err
		}
	}
	for k := range pending {
		if err := settle(k); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// measureWatchJetStream is (jw): measureWatch's latency, ack to record,
// with fold-exec and fold-watch on a JetStream store.
func measureWatchJetStream(e *Env) error {
	n := e.N(1000, 100)
	ps, err := e.Progs("fold-exec", "fold-watch", "counter-go")
	if err != nil {
		return err
	}
	exe, watcher, counter := ps[0], ps[1], ps[2]
	c, err := e.startNATS(1)
	if err != nil {
		return err
	}
	defer c.stop()
	e.Logf("%d Increment commands to counter/w on JetStream R1, one at a time; latency = when fold-watch printed a record - when fold-exec printed it", n)
	var best *watchRun
	for run := range e.Runs {
		dir, err := e.NewDir("root")
		if err != nil {
			return err
		}
		root, url := filepath.Join(dir, "root"), c.storeURL(fmt.Sprintf("watch%d", run), 1)
		r, err := e.watchOnce(n, run,
			[]string{exe, "--root", root, "--store", url, "--type", "counter", "--handler", counter, "--sync", "batch"},
			[]string{watcher, "--root", root, "--store", url, "--follow", "--type", "counter"})
		if err != nil {
			return err
		}
		e.Logf("  run %d: p50 %.2f ms, p99 %.2f ms, max %.2f ms", run+1, ms(r.p50), ms(r.p99), ms(r.max))
		if best == nil || r.p99 < best.p99 {
			best = r
		}
	}
	e.Add(Row{Measure: "fold-exec --sync batch ack round trip on JetStream R1, 1 command at a time, p50", Value: ms(best.ackP50), Unit: "ms"})
	e.Add(Row{Measure: fmt.Sprintf("(jw) fold-watch --follow on JetStream R1, ack → record, p50 over %s appends%s", num(float64(n)), e.best()), Value: ms(best.p50), Unit: "ms"})
	e.Add(Row{Measure: fmt.Sprintf("(jw) fold-watch --follow on JetStream R1, ack → record, p99 over %s appends%s", num(float64(n)), e.best()), Value: ms(best.p99), Unit: "ms", Target: Below(20)})
	e.Add(Row{Measure: "(jw) fold-watch --follow on JetStream R1, ack → record, max", Value: ms(best.max), Unit: "ms"})
	return nil
}
