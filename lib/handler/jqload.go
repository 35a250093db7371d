package handler

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/itchyny/gojq"
)

// load reads the program and compiles it once, for the first runner; the
// outcome is every later call's.
func (j *jqProgram) load() error {
	j.once.Do(func() {
		var r *runner
		if r, j.err = j.read(); j.err == nil {
			j.spare.Store(r)
		}
	})
	return j.err
}

// read reads and parses the program file and compiles it into a runner.
func (j *jqProgram) read() (*runner, error) {
	fail := func(reason, hint string, err error) (*runner, error) {
		return nil, &StartError{Handler: j.name, Reason: reason, Hint: hint, Err: err}
	}
	if j.file == "" {
		return fail("names no program file", "write --handler jq:FILE, FILE being a jq program", errors.New("no program file"))
	}
	src, err := os.ReadFile(j.file)
	if err != nil {
		return fail("cannot read its program: "+err.Error(), "the path is relative to the current directory", err)
	}
	if _, err := gojq.Parse(string(src)); err != nil {
		reason := "its program does not parse: " + err.Error()
		if pe, ok := errors.AsType[*gojq.ParseError](err); ok {
			// Offset is past the token that did not fit: point at it.
			line, col := position(src, pe.Offset-len(pe.Token))
			reason = fmt.Sprintf("its program does not parse: %s:%d:%d: %v", j.file, line, col, err)
		}
		return fail(reason, "", err)
	}
	j.src = string(src)
	j.environ = append(append(os.Environ(), j.cfg.Env...), "FOLD_PROTOCOL=1")
	r, err := j.newRunner()
	if err != nil {
		return fail("its program does not compile: "+err.Error(),
			"in-process handlers run gojq, which lacks a few of jq's builtins: see docs/jq.md", err)
	}
	return r, nil
}

// newRunner compiles the program into a runner of its own. The program
// runs inside a loop that never ends, so that one gojq run, with its
// stacks, serves request after request instead of being made and grown
// for each:
//
//	def _fold_program: PROGRAM;
//	def _fold_loop: (_fold_request | if . == null then . else _fold_program end), _fold_loop;
//	_fold_loop
//
// _fold_request hands the loop the runner's request, or null when there is
// none yet: the null that comes out then is the pause between requests,
// where the run waits for the next one. A request is never null. Each
// runner compiles its own loop, since its _fold_request reads its own
// request.
func (j *jqProgram) newRunner() (*runner, error) {
	q, err := gojq.Parse(j.src)
	if err != nil {
		return nil, err // read parsed it already
	}
	compat, err := gojq.Parse(jqCompat)
	if err != nil {
		panic(err) // a constant
	}
	// The program's own definitions come after, and win. Its imports go to
	// the top, where they must be.
	q.FuncDefs = append(compat.FuncDefs, q.FuncDefs...)
	program := *q
	program.Meta, program.Imports = nil, nil
	body, err := gojq.Parse(`_fold_request | if . == null then . else _fold_program end`)
	if err != nil {
		panic(err) // a constant
	}
	loop := &gojq.Term{Type: gojq.TermTypeFunc, Func: &gojq.Func{Name: "_fold_loop"}}
	top := &gojq.Query{
		Meta:    q.Meta,
		Imports: q.Imports,
		FuncDefs: []*gojq.FuncDef{
			{Name: "_fold_program", Body: &program},
			{Name: "_fold_loop", Body: &gojq.Query{Left: body, Op: gojq.OpComma, Right: &gojq.Query{Term: loop}}},
		},
		Term: loop,
	}
	r := newRunner()
	r.code, err = gojq.Compile(top,
		gojq.WithEnvironLoader(func() []string { return j.environ }),
		// jq's default search path has ~/.jq; the program's own directory
		// stands in for jq's -L.
		gojq.WithModuleLoader(gojq.NewModuleLoader([]string{"~/.jq", filepath.Dir(j.file)})),
		gojq.WithFunction("debug", 0, 0, j.debugFunc),
		gojq.WithFunction("stderr", 0, 0, j.stderrFunc),
		gojq.WithFunction("input_filename", 0, 0, func(any, []any) any { return nil }),
		gojq.WithFunction("_fold_request", 0, 0, r.request),
	)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// jqCompat defines builtins of jq that gojq lacks and that mean the same
// in-process: gojq keeps no order of keys, so the unsorted keys are the
// sorted ones, as .[] and to_entries give them.
const jqCompat = `
def keys_unsorted: keys;
def leaf_paths: paths(scalars);
.`

// position is the 1-based line and column of byte offset off in src.
func position(src []byte, off int) (line, col int) {
	off = min(max(off, 0), len(src))
	before := src[:off]
	line = 1 + strings.Count(string(before), "\n")
	col = off - strings.LastIndexByte(string(before), '\n')
	return line, col
}
