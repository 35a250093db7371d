package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// instanceName is the id of the i-th instance of a workload: fixed width,
// so every envelope is the same size.
func instanceName(i int) string { return fmt.Sprintf("i%06d", i) }

// writeCommands writes n Increment envelopes for the counter, addressed
// round-robin to instances 0..instances-1, and returns the file's path.
func writeCommands(path string, n, instances int) error {
	return writeLines(path, n, func(b []byte, i int, _ *rand.Rand) []byte {
		b = append(b, `{"aggregate_type":"counter","instance_id":"`...)
		b = append(b, instanceName(i%instances)...)
		return append(b, `","command":{"type":"Increment"}}`...)
	})
}

// commandsInput writes n Increment envelopes round-robin over instances
// (see writeCommands) to a file in a new input directory, and returns its
// path.
func (e *Env) commandsInput(n, instances int) (string, error) {
	dir, err := e.NewDir("input")
	if err != nil {
		return "", err
	}
	input := filepath.Join(dir, "commands.jsonl")
	return input, writeCommands(input, n, instances)
}

// writeEventLog creates, under root, the stream counter/<id> holding n
// Incremented events, in the eventfold layout (the registry line
// included), written directly rather than through fold-exec. It returns
// the log's size.
func writeEventLog(root, id string, n int) (int64, error) {
	dir := filepath.Join(root, "streams", "counter", id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Join(root, "meta"), 0o755); err != nil {
		return 0, err
	}
	ts := time.Now().Unix()
	reg := fmt.Sprintf(`{"id":%q,"ts":%d,"type":"counter"}`+"\n", id, ts)
	if err := os.WriteFile(filepath.Join(root, "meta", "streams.jsonl"), []byte(reg), 0o644); err != nil {
		return 0, err
	}
	f, err := os.Create(filepath.Join(dir, "app.jsonl"))
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(1, uint64(ts)))
	var size int64
	var b []byte
	for i := range n {
		b = append(b[:0], `{"type":"Incremented","data":null,"ts":`...)
		b = strconv.AppendInt(b, ts+int64(i/1000), 10)
		b = append(b, `,"id":"`...)
		b = appendUUID(b, rng)
		b = append(b, "\"}\n"...)
		if _, err := w.Write(b); err != nil {
			f.Close()
			return 0, err
		}
		size += int64(len(b))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	return size, f.Close()
}

// appendUUID appends a random UUID v4 in its canonical text form.
func appendUUID(b []byte, rng *rand.Rand) []byte {
	const hex = "0123456789abcdef"
	var u [16]byte
	for i := 0; i < 16; i += 8 {
		v := rng.Uint64()
		for k := range 8 {
			u[i+k] = byte(v >> (8 * k))
		}
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hex[c>>4], hex[c&0xf])
	}
	return b
}
