package record

// snapshotFile is views/state.snapshot.json as read: the pointers tell a
// missing member from a zero one.
type snapshotFile struct {
	State   RawMessage `json:"state"`
	Offset  *int64     `json:"offset"`
	Hash    *string    `json:"hash"`
	Version *uint64    `json:"version"`
}

// ParseSnapshot decodes a snapshot file, fold's (with a version) or
// eventfold-es's (pretty-printed, without one), compacts its state, and
// checks it with Check. Whether it matches its log is the caller's to
// find out: a snapshot is a cache, and one that fails either test is
// ignored and rebuilt.
func ParseSnapshot(data []byte) (Snapshot, error) {
	var s Snapshot
	if !IsObject(data) {
		if !Valid(data) {
			return s, malformed(data)
		}
		return s, invalid("expected a JSON object, got %s", Excerpt(data, 40))
	}
	var f snapshotFile
	if err := Unmarshal(data, &f); err != nil {
		return s, invalid("%s", decodeReason(data, err))
	}
	switch {
	case f.State == nil:
		return s, invalid("missing state")
	case f.Offset == nil:
		return s, invalid("missing offset")
	case f.Hash == nil:
		return s, invalid("missing hash")
	}
	state, err := CompactState(f.State)
	if err != nil {
		return s, invalid("state: %v", err)
	}
	s = Snapshot{State: state, Offset: *f.Offset, Hash: *f.Hash, Version: f.Version}
	return s, s.Check()
}

// Check refuses a snapshot no log can match: a negative offset; at offset
// 0 (the empty log) a hash other than "" or a version other than 0; past
// it a hash that is not 16 lowercase hex digits, or a version of 0 or
// greater than the offset (every line takes a byte at least).
func (s Snapshot) Check() error {
	switch {
	case s.Offset < 0:
		return invalid("offset %d is negative", s.Offset)
	case s.Offset == 0 && s.Hash != "":
		return invalid("hash %s at offset 0: the empty log has no hash", Quote(s.Hash))
	case s.Offset == 0 && s.Version != nil && *s.Version != 0:
		return invalid("version %d at offset 0: the empty log has no events", *s.Version)
	case s.Offset > 0 && !isLineHash(s.Hash):
		return invalid("hash %s is not 16 lowercase hex digits", Quote(s.Hash))
	case s.Offset > 0 && s.Version != nil && (*s.Version == 0 || *s.Version > uint64(s.Offset)):
		return invalid("version %d cannot end at offset %d", *s.Version, s.Offset)
	}
	return nil
}

// isLineHash reports whether h has the form Hash gives.
func isLineHash(h string) bool {
	if len(h) != 16 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
