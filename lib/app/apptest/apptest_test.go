package apptest

import (
	"os"
	"testing"
)

func TestScrub(t *testing.T) {
	in := `{"aggregate_type":"counter","instance_id":"a","version":1,"offset":95,"hash":"fe6e51788968b258","event":{"type":"Incremented","data":{"id":"kept","ts":"kept"},"ts":1796688470,"id":"d797b84f-d1a2-4359-975f-08eddfb9e31a"}}`
	want := `{"aggregate_type":"counter","instance_id":"a","version":1,"offset":95,"hash":"HASH","event":{"type":"Incremented","data":{"id":"kept","ts":"kept"},"ts":0,"id":"ID"}}`
	if got := Scrub(in); got != want {
		t.Errorf("Scrub:\n%s\nwant:\n%s", got, want)
	}
}

func TestLines(t *testing.T) {
	got := Lines(t, "{\"a\":1}\n{\"b\":\"x\"}\n")
	if len(got) != 2 || got[0]["a"] != 1.0 || got[1]["b"] != "x" {
		t.Errorf("Lines: %v", got)
	}
}

func TestRepo(t *testing.T) {
	if got, want := Repo(t, "go.mod"), "../../../go.mod"; !sameFile(t, got, want) {
		t.Errorf("Repo(go.mod) = %s", got)
	}
}

func sameFile(t *testing.T, a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := os.Stat(b)
	if err != nil {
		t.Fatal(err)
	}
	return os.SameFile(sa, sb)
}
