package jetstream

import (
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/fold-es/fold/lib/record"
)

// Any type and id a stream may have makes one token that reads back.
func TestEscapeRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.String().Draw(t, "s")
		tok := escape(s)
		for i := 0; i < len(tok); i++ {
			if !safe(tok[i]) && tok[i] != escapeChar {
				t.Fatalf("escape(%q) = %q holds %q", s, tok, tok[i])
			}
		}
		back, err := unescape(tok)
		if err != nil || back != s {
			t.Fatalf("unescape(escape(%q)) = %q, %v", s, back, err)
		}
	})
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"a-1_B": "a-1_B", "a.b": "a=2Eb", "*": "=2A", ">": "=3E", "x y": "x=20y",
		"=": "=3D", "é": "=C3=A9", "$sys": "=24sys",
	} {
		if got := escape(in); got != want {
			t.Errorf("escape(%q) = %q; want %q", in, got, want)
		}
	}
	for _, bad := range []string{"a.b", "=", "=4", "=zz", "a b", "=4g"} {
		if got, err := unescape(bad); err == nil {
			t.Errorf("unescape(%q) = %q; want an error", bad, got)
		}
	}
}

func TestSubjects(t *testing.T) {
	s := subjects{prefix: "fold"}
	id := record.StreamID{Type: "order.v2", ID: "o 1"}
	for subj, events := range map[string]bool{s.events(id): true, s.created(id): false} {
		got, ev, err := s.parse(subj)
		if err != nil || got != id || ev != events {
			t.Errorf("parse(%q) = %v, %v, %v; want %v, %v", subj, got, ev, err, id, events)
		}
	}
	if got := s.events(id); got != "fold.order=2Ev2.o=201" {
		t.Errorf("events(%v) = %q", id, got)
	}
	// A type named like the registry token is still a type.
	reg := record.StreamID{Type: registryToken, ID: "x"}
	if got, ev, err := s.parse(s.events(reg)); err != nil || got != reg || !ev {
		t.Errorf("parse(%q) = %v, %v, %v", s.events(reg), got, ev, err)
	}
	for _, bad := range []string{"other.a.b", "fold.a", "fold.a.b.c", "fold._x.a.b", "fold.a.b=zz"} {
		if _, _, err := s.parse(bad); err == nil {
			t.Errorf("parse(%q) succeeded", bad)
		}
	}
	if !strings.HasPrefix(snapshotKey(id), "order=2Ev2.") {
		t.Errorf("snapshotKey = %q", snapshotKey(id))
	}
}

func TestParseURL(t *testing.T) {
	cfg, err := ParseURL("nats://127.0.0.1:4222,127.0.0.1:4223/orders?replicas=3&timeout=5s")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Servers != "nats://127.0.0.1:4222,nats://127.0.0.1:4223" || cfg.Name != "orders" || cfg.Replicas != 3 || cfg.Timeout.String() != "5s" {
		t.Errorf("ParseURL = %+v", cfg)
	}
	if cfg, err := ParseURL("nats://h:1"); err != nil || cfg.Name != DefaultName || cfg.Replicas != 1 {
		t.Errorf("ParseURL without name = %+v, %v", cfg, err)
	}
	for _, bad := range []string{"http://h:1", "nats://", "nats://h:1/a.b", "nats://h:1/x?replicas=0", "nats://h:1/x?replicas=9",
		"nats://h:1/x?timeout=-1s", "nats://h:1/x?color=red", "nats://h:1/" + strings.Repeat("n", 33)} {
		if _, err := ParseURL(bad); err == nil {
			t.Errorf("ParseURL(%q) succeeded", bad)
		}
	}
}
