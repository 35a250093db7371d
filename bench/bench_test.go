package main

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 0.5891: "0.589", 1.5: "1.50", 12.34: "12.3", 256: "256", 15000: "15,000", 1234567.8: "1,234,568", -2500: "-2,500"} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestVerdict(t *testing.T) {
	for _, c := range []struct {
		r  Row
		ok bool
	}{
		{Row{Value: 16000, Target: AtLeast(15000)}, true},
		{Row{Value: 14999, Target: AtLeast(15000)}, false},
		{Row{Value: 100, Target: Below(256)}, true},
		{Row{Value: 256, Target: Below(256)}, false},
	} {
		if _, ok, has := c.r.verdict(); !has || ok != c.ok {
			t.Errorf("%+v: ok %v, want %v", c.r, ok, c.ok)
		}
	}
	if _, _, has := (Row{Value: 1}).verdict(); has {
		t.Error("a row without a target has a verdict")
	}
}

func TestShellLine(t *testing.T) {
	got := shellLine([]string{"/bin/fold-exec", "--handler", "counter=/a b/c", "it's"}, "/tmp/in.jsonl")
	want := `/bin/fold-exec --handler 'counter=/a b/c' 'it'\''s' < /tmp/in.jsonl`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestAppendUUID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100 {
		if u := string(appendUUID(nil, rng)); !re.MatchString(u) {
			t.Fatalf("%s is not a UUID v4", u)
		}
	}
}

func TestPhaseOf(t *testing.T) {
	stack := strings.Fields("syscall.write os.(*File).Write github.com/fold-es/fold/lib/handler.(*Process).Call github.com/fold-es/fold/lib/exec.(*stream).decideOne runtime.goexit.abi0")
	if got := phaseOf(stack); !strings.HasPrefix(got, "handler round trip") {
		t.Errorf("phaseOf = %q", got)
	}
}

func TestSelectMeasures(t *testing.T) {
	if _, err := selectMeasures("a,zz"); err == nil {
		t.Error("unknown key accepted")
	}
	m, err := selectMeasures("d,a")
	if err != nil || len(m) != 2 || m[0].Key != "a" || m[1].Key != "d" {
		t.Errorf("selectMeasures(d,a) = %v, %v", m, err)
	}
}
