package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
)

// natsCluster is one nats-server, or three clustered, started for a
// measurement on 127.0.0.1 with JetStream on the disk being measured.
type natsCluster struct {
	URL   string // every member's client URL, comma separated
	procs []*exec.Cmd
}

// natsServerBin finds nats-server: $NATS_SERVER, the repository's
// .cache/bin (make nats-server), PATH.
func (e *Env) natsServerBin() (string, error) {
	if p := os.Getenv("NATS_SERVER"); p != "" {
		return p, nil
	}
	if p := filepath.Join(filepath.Dir(e.Bin), ".cache", "bin", "nats-server"); fileExists(p) {
		return p, nil
	}
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("no nats-server (run make nats-server, or set NATS_SERVER)")
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// freePort returns a 127.0.0.1 port nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startNATS starts n (1 or 3) servers and waits until JetStream answers.
func (e *Env) startNATS(n int) (*natsCluster, error) {
	bin, err := e.natsServerBin()
	if err != nil {
		return nil, err
	}
	dir, err := e.NewDir(fmt.Sprintf("nats%d", n))
	if err != nil {
		return nil, err
	}
	c := &natsCluster{}
	ports, routes := make([]int, n), make([]string, n)
	for i := range n {
		if ports[i], err = freePort(); err != nil {
			return nil, err
		}
		rp, err := freePort()
		if err != nil {
			return nil, err
		}
		routes[i] = fmt.Sprintf("nats://127.0.0.1:%d", rp)
	}
	var urls []string
	for i := range n {
		conf := fmt.Sprintf("server_name: n%d\nlisten: 127.0.0.1:%d\njetstream { store_dir: %q }\n", i, ports[i], filepath.Join(dir, fmt.Sprintf("n%d", i)))
		if n > 1 {
			conf += fmt.Sprintf("cluster { name: bench, listen: %q, routes: [%s] }\n",
				strings.TrimPrefix(routes[i], "nats://"), strings.Join(quoteAll(routes), ", "))
		}
		cf := filepath.Join(dir, fmt.Sprintf("n%d.conf", i))
		if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
			return nil, err
		}
		cmd := exec.Command(bin, "-c", cf, "-l", filepath.Join(dir, fmt.Sprintf("n%d.log", i)))
		if err := cmd.Start(); err != nil {
			c.stop()
			return nil, err
		}
		c.procs = append(c.procs, cmd)
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", ports[i]))
	}
	c.URL = strings.Join(urls, ",")
	deadline := time.Now().Add(30 * time.Second)
	for {
		nc, err := nats.Connect(c.URL, nats.Timeout(time.Second))
		if err == nil {
			js, jerr := nc.JetStream()
			if jerr == nil {
				_, err = js.AccountInfo(nats.MaxWait(time.Second))
			}
			nc.Close()
			if jerr == nil && err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("nats-server at %s did not get ready: %v (logs in %s)", c.URL, err, dir)
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.Logf("nats-server: %d node(s) at %s, JetStream in %s", n, c.URL, dir)
	return c, nil
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		b, _ := json.Marshal(s)
		out[i] = string(b)
	}
	return out
}

// storeURL is the fold --store URL of a store named name on c.
func (c *natsCluster) storeURL(name string, replicas int) string {
	hosts := strings.ReplaceAll(c.URL, "nats://", "")
	return fmt.Sprintf("nats://%s/%s?replicas=%d", hosts, name, replicas)
}

func (c *natsCluster) stop() {
	for _, p := range c.procs {
		_ = p.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range c.procs {
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = p.Process.Kill()
			<-done
		}
	}
}
