// Package natstest runs real nats-server processes for tests, as
// net/http/httptest runs real HTTP servers: the binary (never linked into
// fold's programs) on a free 127.0.0.1 port, with JetStream on and its
// storage in the test's temporary directory, stopped when the test ends.
//
// The binary is $NATS_SERVER, else .cache/bin/nats-server in the
// repository (make nats-server puts it there), else nats-server on PATH;
// it must be 2.12 or later (atomic batch publish). Without one, tests
// skip, unless FOLD_REQUIRE_NATS=1 (make test sets it): then they fail.
package natstest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// Binary finds the nats-server to run and checks its version.
func Binary() (string, error) {
	path := os.Getenv("NATS_SERVER")
	if path == "" {
		path = inRepo()
	}
	if path == "" {
		p, err := exec.LookPath("nats-server")
		if err != nil {
			return "", errors.New("no nats-server: not in $NATS_SERVER, .cache/bin or PATH")
		}
		path = p
	}
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", path, err)
	}
	m := regexp.MustCompile(`v(\d+)\.(\d+)\.`).FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("%s --version says %q", path, strings.TrimSpace(string(out)))
	}
	major, _ := strconv.Atoi(string(m[1]))
	minor, _ := strconv.Atoi(string(m[2]))
	if major < 2 || major == 2 && minor < 12 {
		return "", fmt.Errorf("%s is %s; fold needs 2.12 or later", path, strings.TrimSpace(string(out)))
	}
	return path, nil
}

// inRepo looks for .cache/bin/nats-server in the working directory and
// the directories above it.
func inRepo() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		p := filepath.Join(dir, ".cache", "bin", "nats-server")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
		up := filepath.Dir(dir)
		if up == dir {
			return ""
		}
		dir = up
	}
}

// Need returns the binary, or ends the test: a skip naming what to do,
// or a failure when FOLD_REQUIRE_NATS=1.
func Need(t testing.TB) string {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		if os.Getenv("FOLD_REQUIRE_NATS") == "1" {
			t.Fatalf("%v (FOLD_REQUIRE_NATS=1; run make nats-server)", err)
		}
		t.Skipf("%v: run make nats-server, or set NATS_SERVER", err)
	}
	return bin
}

// Server is one running nats-server.
type Server struct {
	URL  string // nats://127.0.0.1:PORT
	Port int
	Dir  string // its JetStream storage

	t    testing.TB
	bin  string
	logf string
	conf string
	cmd  *exec.Cmd
}

// Start runs a server for the test, stopped at its end. Lines of
// configuration (e.g. "max_payload: 8KB") may be given.
func Start(t testing.TB, conf ...string) *Server {
	t.Helper()
	s := &Server{t: t, bin: Need(t), Dir: t.TempDir()}
	s.logf = filepath.Join(s.Dir, "nats-server.log")
	if len(conf) > 0 {
		s.conf = filepath.Join(s.Dir, "nats-server.conf")
		if err := os.WriteFile(s.conf, []byte(strings.Join(conf, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s.start(-1)
	t.Cleanup(s.Stop)
	return s
}

// start runs the server on port (-1: a free one) and waits until its
// JetStream answers.
func (s *Server) start(port int) {
	s.t.Helper()
	portsDir := s.t.TempDir()
	args := []string{"-a", "127.0.0.1", "-p", strconv.Itoa(port), "-js",
		"-sd", filepath.Join(s.Dir, "jetstream"), "--ports_file_dir", portsDir, "-l", s.logf}
	if s.conf != "" {
		args = append(args, "-c", s.conf)
	}
	s.cmd = exec.Command(s.bin, args...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", s.bin, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for port < 0 {
		if time.Now().After(deadline) {
			s.Stop()
			s.t.Fatalf("nats-server wrote no ports file in %s; its log:\n%s", portsDir, s.Log())
		}
		port = readPort(portsDir)
		time.Sleep(10 * time.Millisecond)
	}
	s.Port = port
	s.URL = fmt.Sprintf("nats://127.0.0.1:%d", s.Port)
	for {
		if ready(s.URL) {
			return
		}
		if time.Now().After(deadline) {
			s.Stop()
			s.t.Fatalf("nats-server at %s did not get ready; its log:\n%s", s.URL, s.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readPort reads the client port from the ports file the server writes.
func readPort(dir string) int {
	files, _ := filepath.Glob(filepath.Join(dir, "*.ports"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var ports struct{ Nats []string }
		if json.Unmarshal(b, &ports) != nil || len(ports.Nats) == 0 {
			continue
		}
		u := ports.Nats[0]
		if p, err := strconv.Atoi(u[strings.LastIndexByte(u, ':')+1:]); err == nil {
			return p
		}
	}
	return -1
}

// ready reports whether JetStream answers at url.
func ready(url string) bool {
	nc, err := nats.Connect(url, nats.Timeout(time.Second))
	if err != nil {
		return false
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		return false
	}
	_, err = js.AccountInfo(nats.MaxWait(time.Second))
	return err == nil
}

// Log is what the server logged.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.logf)
	return string(b)
}

// Kill stops the server at once, as kill -9 does.
func (s *Server) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// Stop stops the server cleanly (SIGTERM), killing it if it lingers.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		_ = s.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

// Restart starts a stopped or killed server again, on the same port and
// storage.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start(s.Port)
}
