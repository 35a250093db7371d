//go:build ignore

// Command foldcheck checks a fold root from the outside, for the bats suites.
// It is built once per bats run by build_foldcheck (helpers.bash) and knows
// nothing of fold's own packages: it reads the files as eventfold-es would.
//
//	foldcheck hash < lines            xxh64 (seed 0) of each line, 16 hex digits
//	foldcheck records ROOT < records  each event record is on disk: its event is
//	                                  line `version` of its log byte for byte,
//	                                  offset is the byte just past that line's
//	                                  newline, hash is the line's xxh64
//	foldcheck log ROOT TYPE ID        every line of the log is a complete JSON
//	                                  object with type, data and ts, and no two
//	                                  lines share an id; prints the line count
//
// Problems go to stderr, one per line, and make the exit status 1.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cespare/xxhash/v2"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var problems int
	switch os.Args[1] {
	case "hash":
		problems = hashLines()
	case "records":
		if len(os.Args) != 3 {
			usage()
		}
		problems = checkRecords(os.Args[2])
	case "log":
		if len(os.Args) != 5 {
			usage()
		}
		problems = checkLog(os.Args[2], os.Args[3], os.Args[4])
	default:
		usage()
	}
	if problems > 0 {
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: foldcheck hash | records ROOT | log ROOT TYPE ID")
	os.Exit(2)
}

func hex(line []byte) string { return fmt.Sprintf("%016x", xxhash.Sum64(line)) }

func scanner() *bufio.Scanner {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	return sc
}

func hashLines() int {
	sc := scanner()
	for sc.Scan() {
		fmt.Println(hex(sc.Bytes()))
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "foldcheck:", err)
		return 1
	}
	return 0
}

// streamLog is one app.jsonl split into lines; ends[i] is the offset just
// past line i's newline. A torn tail (no newline) is not a line.
type streamLog struct {
	lines [][]byte
	ends  []int64
}

func readLog(path string) (*streamLog, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	l := &streamLog{}
	var off int64
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, data[:i])
		off += int64(i) + 1
		l.ends = append(l.ends, off)
		data = data[i+1:]
	}
	return l, nil
}

func logPath(root, typ, id string) string {
	return filepath.Join(root, "streams", typ, id, "app.jsonl")
}

func checkRecords(root string) int {
	logs := map[string]*streamLog{}
	problems, n := 0, 0
	bad := func(format string, args ...any) {
		problems++
		fmt.Fprintf(os.Stderr, "record %d: "+format+"\n", append([]any{n}, args...)...)
	}
	sc := scanner()
	for sc.Scan() {
		n++
		var r struct {
			Type    string          `json:"aggregate_type"`
			ID      string          `json:"instance_id"`
			Version int             `json:"version"`
			Offset  int64           `json:"offset"`
			Hash    string          `json:"hash"`
			Event   json.RawMessage `json:"event"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			bad("not a record: %v: %s", err, sc.Bytes())
			continue
		}
		key := r.Type + "/" + r.ID
		l, ok := logs[key]
		if !ok {
			var err error
			if l, err = readLog(logPath(root, r.Type, r.ID)); err != nil {
				bad("%s: %v", key, err)
				continue
			}
			logs[key] = l
		}
		if r.Version < 1 || r.Version > len(l.lines) {
			bad("%s version %d: the log has %d lines", key, r.Version, len(l.lines))
			continue
		}
		line := l.lines[r.Version-1]
		if !bytes.Equal(line, r.Event) {
			bad("%s version %d: event %s but line %s", key, r.Version, r.Event, line)
		}
		if end := l.ends[r.Version-1]; r.Offset != end {
			bad("%s version %d: offset %d but the line ends at %d", key, r.Version, r.Offset, end)
		}
		if h := hex(line); r.Hash != h {
			bad("%s version %d: hash %s but the line hashes to %s", key, r.Version, r.Hash, h)
		}
	}
	if err := sc.Err(); err != nil {
		bad("%v", err)
	}
	return problems
}

func checkLog(root, typ, id string) int {
	path := logPath(root, typ, id)
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "foldcheck:", err)
		return 1
	}
	problems := 0
	if len(data) > 0 && data[len(data)-1] != '\n' {
		problems++
		fmt.Fprintf(os.Stderr, "%s: torn tail (no newline at the end)\n", path)
	}
	l, _ := readLog(path)
	ids := map[string]int{}
	for i, line := range l.lines {
		var ev map[string]json.RawMessage
		if err := json.Unmarshal(line, &ev); err != nil {
			problems++
			fmt.Fprintf(os.Stderr, "%s: line %d: %v\n", path, i+1, err)
			continue
		}
		for _, k := range []string{"type", "data", "ts"} {
			if _, ok := ev[k]; !ok {
				problems++
				fmt.Fprintf(os.Stderr, "%s: line %d: no %q\n", path, i+1, k)
			}
		}
		if raw, ok := ev["id"]; ok {
			var s string
			_ = json.Unmarshal(raw, &s)
			if first, dup := ids[s]; dup {
				problems++
				fmt.Fprintf(os.Stderr, "%s: line %d: id %q already on line %d\n", path, i+1, s, first)
			}
			ids[s] = i + 1
		}
	}
	fmt.Println(len(l.lines))
	return problems
}
