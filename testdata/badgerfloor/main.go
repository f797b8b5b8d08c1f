// Command badgerfloor is the floor under a one-shot fosql query: a Go
// program that links Badger alone, opens a fosql store read-only with
// fosql's options and reads what the one-shot top 10 reads (the
// dataset's catalog entry and description, the ten highest entries of
// the insights.uniqueness.scalar index and their sample records), then
// prints the ten ids. Timed beside the sqlite3 CLI and fosql in
// BENCHMARKS.md ("One-shot shell process"); -inits-only exits before
// opening the store, timing the Go runtime and Badger's package inits.
//
//	go build -o badgerfloor ./testdata/badgerfloor
//	badgerfloor [-inits-only] DB DATASET
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	badger "github.com/dgraph-io/badger/v4"
)

func main() {
	initsOnly := flag.Bool("inits-only", false, "exit before opening the store")
	flag.Parse()
	if flag.NArg() != 2 {
		log.Fatal("usage: badgerfloor [-inits-only] DB DATASET")
	}
	if *initsOnly {
		return
	}
	// The options fosql's db.Open gives a read-only store.
	opts := badger.DefaultOptions(filepath.Join(flag.Arg(0), "store")).
		WithLogger(nil).WithReadOnly(true).
		WithMemTableSize(16 << 20).WithNumVersionsToKeep(1).
		WithValueThreshold(1 << 16).WithValueLogFileSize(64 << 20).
		WithBlockSize(8 << 10).WithBloomFalsePositive(0.1).
		WithBlockCacheSize(16 << 20).WithIndexCacheSize(0).
		WithMetricsEnabled(false).WithDetectConflicts(false)
	bdb, err := badger.Open(opts)
	if err != nil {
		log.Fatal(err)
	}
	err = bdb.View(func(txn *badger.Txn) error {
		ds, err := value(txn, append([]byte{'c'}, flag.Arg(1)...))
		if err != nil {
			return err
		}
		desc, err := value(txn, append([]byte{'d'}, ds...))
		if err != nil {
			return err
		}
		var meta struct {
			Insights map[string]struct {
				Indexes map[string]uint32 `json:"indexes"`
			} `json:"insights"`
		}
		if err := json.Unmarshal(desc, &meta); err != nil {
			return err
		}
		ix, ok := meta.Insights["uniqueness"].Indexes["scalar"]
		if !ok {
			return fmt.Errorf("dataset %s has no uniqueness index", flag.Arg(1))
		}
		prefix := binary.BigEndian.AppendUint32(append([]byte{'i'}, ds...), ix)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true})
		defer it.Close()
		n := 0
		for it.Seek(append(bytes.Clone(prefix), 0xff)); it.Valid() && n < 10; it.Next() {
			k := it.Item().Key()
			id := k[len(k)-12:]
			if _, err := value(txn, append(append([]byte{'s'}, ds...), id...)); err != nil {
				return err
			}
			fmt.Println(hex.EncodeToString(id))
			n++
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	os.Exit(0) // as a fosql one-shot read, without closing the store
}

func value(txn *badger.Txn, key []byte) ([]byte, error) {
	item, err := txn.Get(key)
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", key, err)
	}
	return item.ValueCopy(nil)
}
