package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fold-es/fold/lib/record"
)

// TestTwins sends the same requests to each Go handler and to its jq or sh
// twin in examples/saga, and checks they answer the same JSON (the Go
// process manager adds an empty "context" to its envelopes, which fold-pm
// fills in anyway, so that one is left out of the comparison).
func TestTwins(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("jq is not installed")
	}
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	rec := func(typ, id string, version int, event string) string {
		r := record.Record{AggregateType: typ, InstanceID: id, Version: uint64(version), Offset: 100, Hash: "0123456789abcdef",
			Event: record.RawMessage(event)}
		return string(record.AppendRecord(nil, r))
	}
	handle := func(state, cmd string) string {
		return `{"op":"handle","aggregate_type":"x","instance_id":"y","version":0,"state":` + state + `,"command":` + cmd + `,"context":{}}`
	}
	apply := func(state, events string) string {
		return `{"op":"apply","aggregate_type":"x","instance_id":"y","state":` + state + `,"events":` + events + `}`
	}
	react := func(state, record string) string {
		return `{"op":"react","name":"fulfil","state":` + state + `,"records":[` + record + `]}`
	}
	twins := []struct {
		role, aggType, twin string
		requests            []string
	}{
		{"aggregate", "order", "jq -c -f " + dir + "/order.jq", []string{
			handle(`null`, `{"type":"Place","data":{"sku":"widget","qty":2}}`),
			handle(`null`, `{"type":"Place","data":{"sku":"","qty":2}}`),
			handle(`null`, `{"type":"Place","data":{"sku":"widget","qty":0}}`),
			handle(`{"status":"placed","sku":"widget","qty":2}`, `{"type":"Place","data":{"sku":"widget","qty":2}}`),
			handle(`{"status":"placed","sku":"widget","qty":2}`, `{"type":"Confirm"}`),
			handle(`{"status":"placed","sku":"widget","qty":2}`, `{"type":"Cancel","data":{"reason":"out of stock"}}`),
			handle(`null`, `{"type":"Confirm"}`),
			handle(`{"status":"confirmed","sku":"widget","qty":2}`, `{"type":"Cancel","data":{"reason":"x"}}`),
			handle(`null`, `{"type":"Explode"}`),
			apply(`null`, `[{"type":"Placed","data":{"sku":"widget","qty":2}},{"type":"Cancelled","data":{"reason":"r"}}]`),
		}},
		{"aggregate", "inventory", "sh " + dir + "/inventory.sh", []string{
			handle(`null`, `{"type":"Stock","data":{"qty":5}}`),
			handle(`null`, `{"type":"Stock","data":{"qty":-1}}`),
			handle(`{"available":5,"reserved":0}`, `{"type":"Reserve","data":{"order_id":"o-1","qty":2}}`),
			handle(`{"available":1,"reserved":2}`, `{"type":"Reserve","data":{"order_id":"o-\"2","qty":2}}`),
			handle(`null`, `{"type":"Reserve","data":{"qty":2}}`),
			handle(`null`, `{"type":"Explode"}`),
			apply(`null`, `[]`),
			apply(`{"available":1,"reserved":0}`, `[{"type":"Stocked","data":{"qty":4}},{"type":"Reserved","data":{"order_id":"o","qty":2}},{"type":"ReservationFailed","data":{"order_id":"p","qty":9,"reason":"out of stock"}}]`),
		}},
		{"aggregate", "shipping", "sh " + dir + "/shipping.sh", []string{
			handle(`null`, `{"type":"Ship"}`),
			handle(`{"shipped":true}`, `{"type":"Ship"}`),
			handle(`null`, `{"type":"Explode"}`),
			apply(`null`, `[]`),
			apply(`null`, `[{"type":"Shipped","data":null}]`),
		}},
		{"process_manager", "", "jq -c -f " + dir + "/fulfil.jq", []string{
			react(`null`, rec("order", "o-1", 1, `{"type":"Placed","data":{"sku":"widget","qty":2},"ts":1}`)),
			react(`{"placed":1,"confirmed":0,"cancelled":0}`, rec("inventory", "widget", 2, `{"type":"Reserved","data":{"order_id":"o-1","qty":2},"ts":1}`)),
			react(`{"placed":1,"confirmed":0,"cancelled":0}`, rec("inventory", "widget", 3, `{"type":"ReservationFailed","data":{"order_id":"o-2","qty":9,"reason":"out of stock"},"ts":1}`)),
			react(`{"placed":1,"confirmed":0,"cancelled":0}`, rec("order", "o-1", 2, `{"type":"Confirmed","data":null,"ts":1}`)),
			react(`{"placed":1,"confirmed":1,"cancelled":0}`, rec("order", "o-2", 2, `{"type":"Cancelled","data":{"reason":"x"},"ts":1}`)),
			react(`{"placed":1,"confirmed":1,"cancelled":1}`, rec("inventory", "widget", 1, `{"type":"Stocked","data":{"qty":5},"ts":1}`)),
		}},
	}
	for _, tw := range twins {
		t.Run(tw.role+"/"+tw.aggType, func(t *testing.T) {
			in := strings.Join(tw.requests, "\n") + "\n"
			var goOut bytes.Buffer
			if err := serve(tw.role, tw.aggType, strings.NewReader(in), &goOut); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("/bin/sh", "-c", tw.twin)
			cmd.Stdin = strings.NewReader(in)
			twinOut, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: %v", tw.twin, err)
			}
			gots, wants := lines(goOut.Bytes()), lines(twinOut)
			if len(gots) != len(tw.requests) || len(wants) != len(tw.requests) {
				t.Fatalf("answers: Go %d, twin %d, for %d requests", len(gots), len(wants), len(tw.requests))
			}
			for i := range gots {
				if !reflect.DeepEqual(decode(t, gots[i]), decode(t, wants[i])) {
					t.Errorf("request %s\nGo:   %s\ntwin: %s", tw.requests[i], gots[i], wants[i])
				}
			}
		})
	}
}

func lines(b []byte) []string {
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// decode reads an answer as plain JSON values, without the commands'
// empty contexts.
func decode(t *testing.T, line string) any {
	t.Helper()
	var v map[string]any
	if err := record.Unmarshal([]byte(line), &v); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	if cmds, ok := v["commands"].([]any); ok {
		for _, c := range cmds {
			if m, ok := c.(map[string]any); ok {
				if ctx, ok := m["context"].(map[string]any); ok && len(ctx) == 0 {
					delete(m, "context")
				}
			}
		}
	}
	return v
}
