package db

import (
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/dgraph-io/badger/v4/y"
)

// logEntry encodes one write-ahead log entry as Badger writes it.
func logEntry(key, value string) []byte {
	b := []byte{0, 0}
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = binary.AppendUvarint(b, uint64(len(value)))
	b = binary.AppendUvarint(b, 0)
	b = append(b, key...)
	b = append(b, value...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, y.CastagnoliCrcTable))
}

// A torn last entry is what a crash leaves, whichever of its bytes the
// copy stored before the kill; a whole entry after a bad one is damage.
func TestTornLogEntryIsNotDamage(t *testing.T) {
	log := func(parts ...[]byte) []byte {
		data := make([]byte, logHeaderSize)
		for _, p := range parts {
			data = append(data, p...)
		}
		return append(data, make([]byte, 4096)...) // the file's zeroed rest
	}
	e1, e2 := logEntry("key-one", "value one"), logEntry("key-two", "value two, longer than the first")
	torn := logEntry("key-three", "the entry being written when the process was killed")
	headless := append(make([]byte, len(torn)/2), torn[len(torn)/2:]...) // its tail stored first
	headOnly := append(append([]byte{}, torn[:len(torn)/2]...), make([]byte, len(torn)-len(torn)/2)...)
	flipped := append([]byte{}, e1...)
	flipped[len(flipped)-8] ^= 1
	for _, c := range []struct {
		name   string
		data   []byte
		damage bool
	}{
		{"whole", log(e1, e2), false},
		{"torn head only", log(e1, e2, headOnly), false},
		{"torn tail only", log(e1, e2, headless), false},
		{"a bad entry before a whole one", log(flipped, e2), true},
		{"a torn entry before a whole one", log(e1, headless, e2), true},
	} {
		bad, _ := badLogEntry(c.data)
		if (bad >= 0) != c.damage {
			t.Errorf("%s: bad entry at %d, want damage %v", c.name, bad, c.damage)
		}
	}
}
