package record

import (
	"regexp"
	"strings"
	"testing"
)

func TestMembers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // key=value;... as Members hands them over
		ok   bool
	}{
		{`{}`, ``, true},
		{` { } `, ``, true},
		{`{"a":1}`, `a=1;`, true},
		{` { "a" : "x,}" , "b":[1,{"c":"]"}] ,"d":null, "e" : true } `, `a="x,}";b=[1,{"c":"]"}];d=null;e=true;`, true},
		{`{"a":"\"}","b":{"k":"\\"}}`, `a="\"}";b={"k":"\\"};`, true},
		{`{"a":1,"b\u0063":2}`, `a=1;`, false},
		{`[1]`, ``, false},
		{`"s"`, ``, false},
	} {
		var got strings.Builder
		ok := Members([]byte(tc.in), func(k, v []byte) bool {
			got.WriteString(string(k) + "=" + string(v) + ";")
			return true
		})
		if ok != tc.ok || got.String() != tc.want {
			t.Errorf("Members(%s) = %q, %v; want %q, %v", tc.in, got.String(), ok, tc.want, tc.ok)
		}
	}
	stopped := Members([]byte(`{"a":1,"b":2}`), func(k, _ []byte) bool { return string(k) != "a" })
	if stopped {
		t.Error("Members went on after fn returned false")
	}
}

func TestElements(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{`[]`, ``, true},
		{` [ 1 , "a]" , [2,[3]] , {"x":[]} ,null ] `, `1|"a]"|[2,[3]]|{"x":[]}|null|`, true},
		{`{}`, ``, false},
	} {
		var got strings.Builder
		ok := Elements([]byte(tc.in), func(v []byte) bool { got.WriteString(string(v) + "|"); return true })
		if ok != tc.ok || got.String() != tc.want {
			t.Errorf("Elements(%s) = %q, %v; want %q, %v", tc.in, got.String(), ok, tc.want, tc.ok)
		}
	}
}

func TestPlainString(t *testing.T) {
	for in, want := range map[string]bool{`"abc"`: true, `""`: true, `"é"`: true, `"a\"b"`: false, `"\u0041"`: false, "\"\xff\"": false, `1`: false, `null`: false} {
		s, ok := PlainString([]byte(in))
		if ok != want || (ok && `"`+s+`"` != in) {
			t.Errorf("PlainString(%s) = %q, %v; want ok %v", in, s, ok, want)
		}
	}
}

func TestNewEventID(t *testing.T) {
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 10000 {
		id := NewEventID()
		if !v4.MatchString(id) {
			t.Fatalf("NewEventID() = %q; not a version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("NewEventID() gave %q twice", id)
		}
		seen[id] = true
	}
}
