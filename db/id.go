package db

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
)

// ID identifies a sample: 12 bytes shown as 24 lowercase hex characters,
// like a MongoDB ObjectId. The first 4 bytes are the creation time in Unix
// seconds, the last 8 a database-wide counter, so ids sort by insertion.
type ID [12]byte

// String returns the 24-character hex form.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Time is when the id was made, to the second.
func (id ID) Time() time.Time { return time.Unix(int64(binary.BigEndian.Uint32(id[:4])), 0).UTC() }

// IsZero reports whether id is the zero id.
func (id ID) IsZero() bool { return id == ID{} }

// ParseID parses the 24-character hex form.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 24 {
		return id, fmt.Errorf("db: sample id %q: %w: want 24 hex characters", s, ErrInvalid)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("db: sample id %q: %w: want 24 hex characters", s, ErrInvalid)
	}
	return id, nil
}

func (d *DB) newID(now time.Time) (ID, error) {
	n, err := d.seqIDs.Next()
	if err != nil {
		return ID{}, err
	}
	var id ID
	binary.BigEndian.PutUint32(id[:4], uint32(now.Unix()))
	binary.BigEndian.PutUint64(id[4:], n)
	return id, nil
}
