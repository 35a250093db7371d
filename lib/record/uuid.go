package record

import "crypto/rand"

// NewEventID returns a new random UUID (version 4), the id fold gives
// every event a command makes, as eventfold-es does.
func NewEventID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // never fails: it panics rather than return weak bytes
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	var b [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hex[c>>4], hex[c&0xf]
		j += 2
	}
	return string(b[:])
}
