// Package handler speaks fold's handler protocol (version 1, SPEC section 4)
// from both ends.
//
// On the tool's side, a Process runs one handler command line with
// /bin/sh -c as a long-lived co-process and exchanges one JSON line per
// request with it, pipelining the requests of concurrent callers; a Pool
// keeps several of them. The package owns the exec.Cmd, the pipes and the
// framing, so the programs see only requests, answers and typed errors. A
// Pool whose command is "jq:FILE" runs the jq program FILE in-process
// instead (with gojq), behind the same Call and with the same errors.
// Pool.Start checks that a handler starts and answers before a program
// reads its input.
// Handle, Apply, Project and React add the typed requests and answers of
// the four ops on top of that.
//
// On the handler's side, ServeAggregate, ServeProjection and
// ServeProcessManager turn pure Go functions into a protocol loop, so a Go
// handler is a main function of a few lines.
package handler
