package pm

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/fold-es/fold/lib/record"
)

// plainCases are commands as handlers return them: the shapes the one-pass
// readers take, and the ones they must leave to the decoder.
var plainCases = []string{
	`{"aggregate_type":"inventory","instance_id":"sku-1","command":{"type":"Reserve","data":{"qty":1}}}`,
	`{"aggregate_type":"inventory","instance_id":"sku-1","command":{"type":"Reserve"},"context":{},"record":3}`,
	` { "aggregate_type" : "inventory" , "instance_id":"sku-1", "command" : { "type" : "Reserve" } , "context" : { } } `,
	`{"aggregate_type":"inventory","instance_id":"sku-1","command":{"type":"Reserve"},"command_id":"mine"}`,
	`{"aggregate_type":"inventory","instance_id":"sku-1","command":{"type":"Reserve","data":{"note":"a \"quoted\" é"}}}`,
	`{"aggregate_type":"inventory","instance_id":"sku-1","command":{"type":"Reserve"},"context":{"actor":"me","correlation_id":"c"}}`,
	`{"aggregate_type":"inventory","instance_id":"sku-1","command":{"type":"Reserve"},"expected_version":4}`,
	`{"aggregate_type":"inventory","instance_id":"sku-1","command":{"type":"Reserve"},"Instance_ID":"sku-2"}`,
	`{"aggregate_type":"inventory","instance_id":"sku-1","instance_id":"sku-2","command":{"type":"Reserve"}}`,
	`{"aggregate_type":"inv\u0065ntory","instance_id":"sku-1","command":{"type":"Reserve"}}`,
	`{"aggregate_type":"inventory","instance_id":"sku-1","command":{"type":"Reserve","data":"\ud800"}}`,
	`{"aggregate_type":"","instance_id":"sku-1","command":{"type":"Reserve"}}`,
	`{"aggregate_type":"inventory","instance_id":null,"command":{"type":"Reserve"}}`,
	`{"aggregate_type":"inventory","instance_id":"sku-1"}`,
	`{"aggregate_type":"inventory","instance_id":"sku-1","command":[1]}`,
	`{"aggregate_type":"inventory","instance_id":"sku-1","command":{"type":"Reserve"},"command_id":7}`,
	`{"aggregate_type":"inventory","instance_id":"sku/1","command":{"type":"Reserve"}}`,
	`{"aggregate_type":7,"instance_id":"sku-1","command":{"type":"Reserve"}}`,
	"{\"aggregate_type\":\"inventory\",\"instance_id\":\"sku-\xff\",\"command\":{\"type\":\"Reserve\"}}",
}

// TestPlainEnvelopeAgreesWithTheDecoder: what the one-pass reader takes it
// reads as record.ParseEnvelope does, so Prepare gives the same command,
// line or failure, either way.
func TestPlainEnvelopeAgreesWithTheDecoder(t *testing.T) {
	took := 0
	src := source(`{"type":"Placed","data":{},"meta":{"correlation_id":"c-9"}}`)
	for _, in := range plainCases {
		raw := record.RawMessage(in)
		want, werr := record.ParseEnvelope(raw, record.EnvelopeDefaults{})
		if env, ok := plainEnvelope(raw); ok {
			took++
			if werr != nil {
				t.Errorf("%s: read as %+v, but the decoder says %v", in, env, werr)
			} else if want.CommandID = ""; !reflect.DeepEqual(env, want) { // replaced anyway, not read
				t.Errorf("%s:\n plain   %+v\n decoder %+v", in, env, want)
			}
		}
		got, gerr := Prepare("fulfil", src, 1, raw)
		slow, serr := slowPrepare("fulfil", src, 1, raw)
		if (gerr == nil) != (serr == nil) || (gerr != nil && gerr.Error() != serr.Error()) {
			t.Errorf("%s: error %v, the decoder's %v", in, gerr, serr)
		}
		if !bytes.Equal(got.Line, slow.Line) || !reflect.DeepEqual(got.Envelope, slow.Envelope) {
			t.Errorf("%s:\n line    %s\n decoder %s", in, got.Line, slow.Line)
		}
	}
	if took < 5 {
		t.Fatalf("the one-pass reader took %d of the cases; the plain ones are meant for it", took)
	}
}

// slowPrepare is Prepare through the decoder alone.
func slowPrepare(name string, src record.Record, index int, raw record.RawMessage) (Command, error) {
	env, err := record.ParseEnvelope(raw, record.EnvelopeDefaults{})
	if err != nil {
		origin := Origin{Stream: src.Stream(), Version: src.Version, Index: index}
		return Command{Origin: origin}, &CommandError{Origin: origin, Input: raw, Err: err}
	}
	// A plain command, made plain again: the same path, with nothing to
	// read fast it would not have read.
	return prepareEnvelope(name, Actor(name), src, index, raw, env)
}

// TestPlainRecordIndexAgreesWithTheDecoder: the "record" index read in one
// pass is the decoder's, and anything unusual is left to it.
func TestPlainRecordIndexAgreesWithTheDecoder(t *testing.T) {
	for _, in := range []string{
		`{"command":{},"record":0}`, `{"record":12,"command":{"record":5}}`, `{"record":"3"}`, `{"record":-1}`,
		`{"record":1.5}`, `{"record":01}`, `{"Record":2}`, `{"record":1,"record":2}`, `{"command":{"record":5}}`,
		`{"record":12345678901234}`, `{"record":null}`,
	} {
		var tag struct {
			Record *int `json:"record"`
		}
		derr := record.Unmarshal([]byte(in), &tag)
		n, ok := plainRecordIndex([]byte(in))
		if !ok {
			continue
		}
		if derr != nil || tag.Record == nil || *tag.Record != n {
			t.Errorf("%s: read %d; the decoder: %v, %v", in, n, tag.Record, derr)
		}
	}
	if n, ok := plainRecordIndex([]byte(`{"record":12,"command":{"record":5}}`)); !ok || n != 12 {
		t.Errorf("a plain index: %d, %v", n, ok)
	}
}
