// Command foldschema validates what fold reads and writes against the JSON
// Schemas in docs/schema, for the tests that feed it real traffic
// (tests/bats/schema.bats):
//
//	foldschema DIR SCHEMA FILE...    each line of each FILE (JSON lines)
//	foldschema -whole DIR SCHEMA FILE...   each FILE as one JSON document
//	foldschema -protocol DIR FILE...  FOLD_DEBUG=protocol lines: each request
//	                                  against <op>-request, its answer against
//	                                  <op>-answer (one handler process)
//
// It prints "FILE:LINE: schema SCHEMA: why" for each value that does not
// validate and "foldschema: N valid" at the end, and exits 1 if any did
// not, 2 on a usage error or a schema that does not compile.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The prefixes of FOLD_DEBUG=protocol lines (lib/handler).
const (
	debugRequest = "fold: protocol > "
	debugAnswer  = "fold: protocol < "
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("foldschema", flag.ContinueOnError)
	fs.SetOutput(stderr)
	whole := fs.Bool("whole", false, "each file is one JSON document")
	protocol := fs.Bool("protocol", false, "files are FOLD_DEBUG=protocol output")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	need := 3
	if *protocol {
		need = 2
	}
	if len(rest) < need {
		fmt.Fprintln(stderr, "usage: foldschema [-whole] DIR SCHEMA FILE... | foldschema -protocol DIR FILE...")
		return 2
	}
	v := &validator{dir: rest[0], schemas: map[string]*jsonschema.Schema{}, out: stdout}
	var err error
	switch {
	case *protocol:
		err = v.protocolFiles(rest[1:])
	case *whole:
		err = v.wholeFiles(rest[1], rest[2:])
	default:
		err = v.lineFiles(rest[1], rest[2:])
	}
	if err != nil {
		fmt.Fprintf(stderr, "foldschema: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "foldschema: %d valid, %d invalid\n", v.valid, v.invalid)
	if v.invalid > 0 || v.valid == 0 {
		return 1 // nothing validated is a test that tested nothing
	}
	return 0
}

type validator struct {
	dir     string
	schemas map[string]*jsonschema.Schema
	out     io.Writer
	valid   int
	invalid int
}

// schema compiles DIR/NAME.json once; its $refs are files beside it.
func (v *validator) schema(name string) (*jsonschema.Schema, error) {
	if s, ok := v.schemas[name]; ok {
		return s, nil
	}
	path, err := filepath.Abs(filepath.Join(v.dir, name+".json"))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	s, err := c.Compile(path)
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	v.schemas[name] = s
	return s, nil
}

// check validates one JSON text against a schema, printing why not.
func (v *validator) check(where, name string, text []byte) error {
	s, err := v.schema(name)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(text))
	if err == nil {
		err = s.Validate(doc)
	}
	if err == nil {
		v.valid++
		return nil
	}
	v.invalid++
	var ve *jsonschema.ValidationError
	msg := err.Error()
	if errors.As(err, &ve) {
		msg = strings.ReplaceAll(fmt.Sprintf("%v", ve), "\n", " | ")
	}
	fmt.Fprintf(v.out, "%s: schema %s: %s\n", where, name, msg)
	return nil
}

func (v *validator) lineFiles(name string, files []string) error {
	for _, f := range files {
		err := eachLine(f, func(n int, line []byte) error {
			if len(bytes.TrimSpace(line)) == 0 {
				return nil
			}
			return v.check(fmt.Sprintf("%s:%d", f, n), name, line)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (v *validator) wholeFiles(name string, files []string) error {
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := v.check(f, name, data); err != nil {
			return err
		}
	}
	return nil
}

// protocolFiles pairs each answer with its request: one handler process
// answers in the order it was asked, and fold pipelines requests, so the
// answers take the ops of the requests first in, first out.
func (v *validator) protocolFiles(files []string) error {
	for _, f := range files {
		var ops []string
		err := eachLine(f, func(n int, line []byte) error {
			where := fmt.Sprintf("%s:%d", f, n)
			s := string(line)
			switch {
			case strings.HasPrefix(s, debugRequest):
				text := []byte(s[len(debugRequest):])
				var req struct {
					Op string `json:"op"`
				}
				if err := json.Unmarshal(text, &req); err != nil || req.Op == "" {
					v.invalid++
					fmt.Fprintf(v.out, "%s: a request without an op\n", where)
					return nil
				}
				ops = append(ops, req.Op)
				return v.check(where, req.Op+"-request", text)
			case strings.HasPrefix(s, debugAnswer):
				if len(ops) == 0 {
					v.invalid++
					fmt.Fprintf(v.out, "%s: an answer with no request before it\n", where)
					return nil
				}
				op := ops[0]
				ops = ops[1:]
				return v.check(where, op+"-answer", []byte(s[len(debugAnswer):]))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// eachLine calls fn with each line of a file (1-based), up to 64 MiB long.
func eachLine(path string, fn func(int, []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for n := 1; sc.Scan(); n++ {
		if err := fn(n, sc.Bytes()); err != nil {
			return err
		}
	}
	return sc.Err()
}
