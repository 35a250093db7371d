package main

import (
	"errors"
	"fmt"

	"github.com/fold-es/fold/lib/handler"
	"github.com/fold-es/fold/lib/record"
)

// Command is any of the saga's commands, adjacently tagged as its events
// are: {"type":"Place","data":{"sku":"widget","qty":2}}.
type Command struct {
	Type string            `json:"type"`
	Data record.RawMessage `json:"data"`
}

func (c Command) decode(v any) error {
	if record.IsNull(c.Data) {
		return nil
	}
	return record.Unmarshal(c.Data, v)
}

// Line is what Place, Placed, Reserve, Reserved and ReservationFailed
// carry, each the fields it needs.
type Line struct {
	SKU     string `json:"sku,omitempty"`
	OrderID string `json:"order_id,omitempty"`
	Qty     int64  `json:"qty"`
	Reason  string `json:"reason,omitempty"`
}

// Reason is the data of Cancel and Cancelled.
type Reason struct {
	Reason string `json:"reason"`
}

func unknown(c Command) error { return errors.New(`unknown command "` + c.Type + `"`) }

// Order is an order's state; the zero Order is a new one.
type Order struct {
	Status string `json:"status"`
	SKU    string `json:"sku,omitempty"`
	Qty    int64  `json:"qty,omitempty"`
	Reason string `json:"reason,omitempty"`
}

func (o Order) status() string {
	if o.Status == "" {
		return "new"
	}
	return o.Status
}

func decideOrder(o Order, c Command) ([]handler.Event, error) {
	switch c.Type {
	case "Place":
		var l Line
		if o.status() != "new" {
			return nil, fmt.Errorf("order is already %s", o.status())
		}
		if err := c.decode(&l); err != nil || l.SKU == "" {
			return nil, errors.New("Place needs a sku")
		}
		if l.Qty < 1 {
			return nil, errors.New("Place needs a whole qty of at least 1")
		}
		return []handler.Event{{Type: "Placed", Data: Line{SKU: l.SKU, Qty: l.Qty}}}, nil
	case "Confirm":
		if o.status() != "placed" {
			return nil, fmt.Errorf("cannot confirm an order that is %s", o.status())
		}
		return []handler.Event{{Type: "Confirmed"}}, nil
	case "Cancel":
		if o.status() != "placed" {
			return nil, fmt.Errorf("cannot cancel an order that is %s", o.status())
		}
		r := Reason{Reason: "cancelled"}
		_ = c.decode(&r)
		return []handler.Event{{Type: "Cancelled", Data: r}}, nil
	}
	return nil, unknown(c)
}

func evolveOrder(o Order, ev handler.Event) Order {
	switch ev.Type {
	case "Placed":
		var l Line
		_ = ev.Decode(&l)
		return Order{Status: "placed", SKU: l.SKU, Qty: l.Qty}
	case "Confirmed":
		o.Status = "confirmed"
	case "Cancelled":
		var r Reason
		_ = ev.Decode(&r)
		o.Status, o.Reason = "cancelled", r.Reason
	}
	return o
}

// Inventory is one sku's stock.
type Inventory struct {
	Available int64 `json:"available"`
	Reserved  int64 `json:"reserved"`
}

func decideInventory(s Inventory, c Command) ([]handler.Event, error) {
	var l Line
	switch c.Type {
	case "Stock":
		if err := c.decode(&l); err != nil || l.Qty < 1 {
			return nil, errors.New("Stock needs a whole qty of at least 1")
		}
		return []handler.Event{{Type: "Stocked", Data: Line{Qty: l.Qty}}}, nil
	case "Reserve":
		if err := c.decode(&l); err != nil || l.OrderID == "" || l.Qty < 1 {
			return nil, errors.New("Reserve needs an order_id and a whole qty of at least 1")
		}
		if l.Qty > s.Available {
			// A fact the saga reacts to, not a refusal.
			return []handler.Event{{Type: "ReservationFailed", Data: Line{OrderID: l.OrderID, Qty: l.Qty, Reason: "out of stock"}}}, nil
		}
		return []handler.Event{{Type: "Reserved", Data: Line{OrderID: l.OrderID, Qty: l.Qty}}}, nil
	}
	return nil, unknown(c)
}

func evolveInventory(s Inventory, ev handler.Event) Inventory {
	var l Line
	switch ev.Type {
	case "Stocked":
		_ = ev.Decode(&l)
		s.Available += l.Qty
	case "Reserved":
		_ = ev.Decode(&l)
		s.Available -= l.Qty
		s.Reserved += l.Qty
	}
	return s
}

// Shipping is one order's shipment.
type Shipping struct {
	Shipped bool `json:"shipped"`
}

func decideShipping(s Shipping, c Command) ([]handler.Event, error) {
	if c.Type != "Ship" {
		return nil, unknown(c)
	}
	if s.Shipped {
		return nil, errors.New("already shipped")
	}
	return []handler.Event{{Type: "Shipped"}}, nil
}

func evolveShipping(s Shipping, ev handler.Event) Shipping {
	if ev.Type == "Shipped" {
		s.Shipped = true
	}
	return s
}
