package db

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

func TestAddKeepsGivenIDs(t *testing.T) {
	d, _ := openTemp(t)
	src := mustDataset(t, d, "src")
	ids := addN(t, src, 3, nil)
	dst := mustDataset(t, d, "dst")
	kept, err := dst.Add(ctx, []NewSample{{ID: ids[0], Filepath: "/k/a.png"}, {Filepath: "/k/new.png"}, {ID: ids[2], Filepath: "/k/c.png"}})
	if err != nil {
		t.Fatal(err)
	}
	if kept[0] != ids[0] || kept[2] != ids[2] || kept[1] == ids[1] || kept[1].IsZero() {
		t.Fatalf("ids %v, want %v and %v kept and a new one between", kept, ids[0], ids[2])
	}
	if s, err := dst.Get(ids[2]); err != nil || s.Get(FieldFilepath).AsString() != "/k/c.png" {
		t.Fatalf("the kept id reads %v, %v", s, err)
	}
	// A clash with the dataset or within the call, and an id stamped in
	// the future, fail the whole call.
	var future ID
	binary.BigEndian.PutUint32(future[:4], uint32(time.Now().Add(time.Hour).Unix()))
	future[11] = 1
	for name, batch := range map[string][]NewSample{
		"in the dataset": {{Filepath: "/k/x.png"}, {ID: ids[0], Filepath: "/k/y.png"}},
		"twice":          {{ID: ids[1], Filepath: "/k/x.png"}, {ID: ids[1], Filepath: "/k/y.png"}},
	} {
		if _, err := dst.Add(ctx, batch); !errors.Is(err, ErrDuplicateID) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := dst.Add(ctx, []NewSample{{Filepath: "/k/x.png"}, {ID: future, Filepath: "/k/z.png"}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a future id: %v", err)
	}
	if n, _ := dst.Count(); n != 3 {
		t.Fatalf("count %d after refused calls, want 3", n)
	}
	if _, ok, _ := dst.IDByFilepath("/k/x.png"); ok {
		t.Fatal("a refused call stored a sample")
	}
}
