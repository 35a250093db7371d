package handler

import (
	"bytes"
	"encoding/json"
	"errors"
)

// decodeValue decodes one JSON value into what gojq takes as input: maps,
// slices, strings, bools, nil, and numbers as json.Number, so that a number
// the program leaves alone is written back as it was read (as jq 1.7 does).
func decodeValue(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("more than one value")
	}
	return v, nil
}
