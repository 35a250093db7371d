package main

import (
	"github.com/fold-es/fold/lib/record"
)

// Fulfil is the process manager's state: counts of what it saw. It stays
// small on purpose, since fold sends it with every request.
type Fulfil struct {
	Placed    int64 `json:"placed"`
	Confirmed int64 `json:"confirmed"`
	Cancelled int64 `json:"cancelled"`
}

// fulfil reacts to one record, as fulfil.jq does: Placed → Reserve,
// Reserved → Confirm, ReservationFailed → Cancel, Confirmed → Ship. fold
// gives each command its command_id and context.
func fulfil(s Fulfil, rec record.Record) (Fulfil, []record.Envelope) {
	ev, err := record.ParseEvent(rec.Event)
	if err != nil {
		return s, nil
	}
	var l Line
	if !record.IsNull(ev.Data) {
		_ = record.Unmarshal(ev.Data, &l)
	}
	switch rec.AggregateType + "." + ev.Type {
	case "order.Placed":
		s.Placed++
		return s, cmd("inventory", l.SKU, "Reserve", Line{OrderID: rec.InstanceID, Qty: l.Qty})
	case "inventory.Reserved":
		return s, cmd("order", l.OrderID, "Confirm", nil)
	case "inventory.ReservationFailed":
		return s, cmd("order", l.OrderID, "Cancel", Reason{Reason: l.Reason})
	case "order.Confirmed":
		s.Confirmed++
		return s, cmd("shipping", rec.InstanceID, "Ship", nil)
	case "order.Cancelled":
		s.Cancelled++
	}
	return s, nil
}

// cmd is one envelope for the command typ with data (nil: none).
func cmd(aggType, id, typ string, data any) []record.Envelope {
	c := struct {
		Type string `json:"type"`
		Data any    `json:"data,omitempty"`
	}{Type: typ, Data: data}
	b, err := record.Marshal(c)
	if err != nil {
		return nil
	}
	return []record.Envelope{{AggregateType: aggType, InstanceID: id, Command: b}}
}
