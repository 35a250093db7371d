package main

// Measure is one named measurement. Run does the work (usually starting
// the programs under Env.Bin on a fresh root from Env.NewDir), prints the
// command lines it ran with Env.Cmd, and reports figures with Env.Add.
type Measure struct {
	Key   string // what -only selects: short, no commas
	Title string
	Run   func(*Env) error
}

// measures is the registry, in the order a full run goes through it. To add
// a measurement, write its Run function in a file of its own and add a line
// here. Keys a-e are the targets of issue 2 (fold-exec), w, p1 and p2 those
// of issue 3 (fold-watch, fold-project), pm that of issue 4 (fold-pm), jq
// and pj those of issue 11 (in-process jq handlers), j1, j3 and jw those of
// issue 9 (NATS JetStream), fs, fl and fi those of issue 15 (--follow on
// 200,000 streams).
var measures = []Measure{
	{"a", "commands/s, --sync each, one instance, vs. the raw fdatasync loop", measureSyncEach},
	{"b", "commands/s, --sync batch, across 1,000 instances (cold, then warm)", measureSyncBatch},
	{"sync", "syncfs(2) vs. fdatasyncs over many dirty files (what group commit costs)", measureSyncfs},
	{"c", "commands/s, --sync none, across 1,000 instances (cold, then warm)", measureSyncNone},
	{"d", "replay: events/s rebuilding one instance from a 1,000,000-event log", measureReplay},
	{"e", "peak RSS of a run touching 100,000 distinct instances", measureRSS},
	{"m", "peak RSS of a run of 50,000 commands of 3 KiB over 1,000 instances", measureMemory},
	{"w", "fold-watch --follow live latency after fold-exec's ack, p50/p99 over 1,000 appends", measureWatch},
	{"fs", "fold-watch --follow start-up on 200,000 streams, beside the plain catch-up", measureFollowStart},
	{"fi", "fold-watch --follow CPU on 200,000 streams while nothing is appended, over a scan period", measureFollowIdle},
	{"fl", "fold-watch --follow live latency with 1,000 and 200,000 streams in the root, p99", measureFollowLatency},
	{"p1", "fold-project no-op catch-up over 100,000 streams with nothing new", measureProjectNoop},
	{"p2", "fold-project throughput with totals-go over 1,000,000 events", measureProjectRate},
	{"pm", "fold-pm | fold-exec reactions/s vs. fold-exec alone on the same envelopes", measurePM},
	{"jq", "fold-exec --sync none, 1,000 instances: the counter in jq in-process vs. the Go co-process", measureJQExec},
	{"pj", "fold-project throughput with total_counter.jq in-process over 1,000,000 events", measureJQProject},
	{"j1", "commands/s, --sync batch, 1,000 instances on NATS JetStream R1, vs. a raw publish loop", measureJetStreamR1},
	{"j3", "commands/s, --sync batch, 1,000 instances on a 3-node JetStream cluster R3, vs. a raw publish loop", measureJetStreamR3},
	{"jw", "fold-watch --follow live latency on NATS JetStream after fold-exec's ack, p50/p99", measureWatchJetStream},
}
