package db

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestTooLongWritesAreRefusedWhole writes, in turn, a tag, a filepath, a
// value of an indexed field (set on a sample, and met while an index is
// built), an insight value that is indexed and a sample record beyond
// what the storage takes: each is an error wrapping ErrTooLong that names
// what is too long and its limit, and nothing of the write is stored.
func TestTooLongWritesAreRefusedWhole(t *testing.T) {
	for _, mode := range []string{"disk", "memory"} {
		t.Run(mode, func(t *testing.T) {
			path := MemoryPath
			if mode == "disk" {
				path = filepath.Join(t.TempDir(), "db")
			}
			d, err := Open(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			ds := mustDataset(t, d, "w")
			ids := addN(t, ds, 3, func(i int) Value { return Doc(Field{"note", String("short")}) })
			if err := ds.CreateIndex(ctx, "label"); err != nil {
				t.Fatal(err)
			}
			huge := strings.Repeat("x", 70000)
			bigRecord := strings.Repeat("y", int(d.maxValueBytes)+1)
			check := func(what string, err error, want string) {
				t.Helper()
				if !errors.Is(err, ErrTooLong) || !strings.Contains(err.Error(), want) {
					t.Fatalf("%s: error %v, want ErrTooLong saying %q", what, err, want)
				}
				if len(err.Error()) > 300 {
					t.Fatalf("%s: error of %d bytes: %.300s…", what, len(err.Error()), err)
				}
			}
			_, err = ds.AddTags(ctx, ids, "ok", huge)
			check("tag", err, fmt.Sprintf("tag too long (at most %d bytes", maxKeyBytes-tagKeyOverhead))
			if counts, err := ds.TagCounts(ctx); err != nil || len(counts) != 0 {
				t.Fatalf("after a refused tag write, tag counts %v, %v", counts, err)
			}
			_, err = ds.Add(ctx, []NewSample{{Filepath: "/data/fine.png"}, {Filepath: "/data/" + huge}})
			check("filepath", err, fmt.Sprintf("filepath too long (at most %d bytes", maxKeyBytes-filepathKeyOverhead))
			_, err = ds.SetField(ctx, ids[:2], "label", String(huge))
			check("indexed field", err, "value of indexed field label too long")
			_, err = ds.SetField(ctx, ids[1:2], "note", String(huge))
			if err != nil {
				t.Fatalf("a long value of a field without an index: %v", err)
			}
			err = ds.CreateIndex(ctx, "note")
			check("index build", err, "value of indexed field note (sample "+ids[1].String()+") too long")
			if ds.HasIndex("note") {
				t.Fatal("a failed index build left the index")
			}
			err = ds.SetInsights(ctx, "mood", "scalar", map[ID]Value{ids[0]: String(huge)})
			check("insight", err, "value of indexed field insights.mood.scalar too long")
			if groups, err := ds.InsightGroups(); err != nil || len(groups) != 0 {
				t.Fatalf("after a refused insight write, groups %v, %v", groups, err)
			}
			_, err = ds.SetField(ctx, ids[:1], "blob", String(bigRecord))
			check("record", err, "sample record too long")
			if n, err := ds.Count(); err != nil || n != 3 {
				t.Fatalf("count = %d, %v after refused writes", n, err)
			}
			for _, id := range ids {
				s, err := ds.Get(id)
				if err != nil {
					t.Fatal(err)
				}
				if s.Get("label").Kind() != KindMissing || s.Get("blob").Kind() != KindMissing || len(s.Tags()) != 0 {
					t.Fatalf("sample %s kept part of a refused write: %v", id, s)
				}
			}
		})
	}
}
