package query

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/fosql/fosql/db"
)

// FuzzParquetRead feeds IMPORT's Parquet reader damaged files: it must
// return samples or an error, never crash, and a file it reads whole must
// hold the rows its footer counts.
func FuzzParquetRead(f *testing.F) {
	res := &Result{
		Columns: []Column{{Name: "id", Type: TypeString}, {Name: "filepath", Type: TypeString}, {Name: "tags", Type: TypeList},
			{Name: "emb", Type: TypeList}, {Name: "label", Type: TypeJSON}, {Name: "n", Type: TypeInt}, {Name: "mixed", Type: TypeAny}},
	}
	for i := range 40 {
		var label, mixed db.Value
		if i%3 != 0 {
			label = db.Doc(db.Field{Name: "name", Value: db.String("cat")}, db.Field{Name: "box", Value: db.Floats([]float64{1, 2.5})})
		}
		mixed = db.Int(int64(i))
		if i%2 == 0 {
			mixed = db.String("s")
		}
		res.Rows = append(res.Rows, []db.Value{db.String("6b1565460000000000000001"), db.String("/m/" + string(rune('a'+i%26)) + ".png"),
			db.Strings([]string{"a", "b"}[:i%3]), db.Floats([]float64{float64(i), 0.5}), label, db.Int(int64(i)), mixed})
	}
	file := filepath.Join(f.TempDir(), "seed.parquet")
	if _, err := writeParquetOutfile(file, res); err != nil {
		f.Fatal(err)
	}
	seed, err := os.ReadFile(file)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add([]byte("PAR1PAR1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := openParquet(bytes.NewReader(data), int64(len(data)), false, false)
		if err != nil {
			return
		}
		n := 0
		err = src.each(func(ns db.NewSample) (bool, error) {
			n++
			return true, nil
		})
		if err == nil && int64(n) != src.pf.NumRows() {
			t.Fatalf("read %d rows of %d", n, src.pf.NumRows())
		}
	})
}
