package query

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/fosql/fosql/db"
)

// outfile is a file INTO OUTFILE writes, in any format. It is written
// under a temporary name beside its own and given that name only when
// complete (place), so it appears whole or not at all, and never over an
// existing file.
type outfile struct {
	*os.File
	name string // the name the file gets
}

// createOutfile starts a file INTO OUTFILE writes; a name that exists
// already is refused at once.
func createOutfile(name string) (*outfile, error) {
	if _, err := os.Lstat(name); err == nil {
		return nil, errFileExists(name)
	}
	for {
		var r [6]byte
		rand.Read(r[:])
		tmp := filepath.Join(filepath.Dir(name), "."+filepath.Base(name)+"."+hex.EncodeToString(r[:])+".tmp")
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("INTO OUTFILE %s: %w", name, err)
		}
		return &outfile{File: f, name: name}, nil
	}
}

// discard drops an unfinished file. It is safe after place (the name the
// file got stays).
func (o *outfile) discard() {
	o.Close()
	os.Remove(o.File.Name())
}

// place makes the written file durable and gives it its name, refusing
// to replace a file that appeared meanwhile: a hard link fails when the
// name exists; where the file system has no hard links, a rename after a
// last check. The file is closed either way.
func (o *outfile) place() error {
	tmp := o.File.Name()
	err := o.Sync()
	if cerr := o.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if err = os.Link(tmp, o.name); err == nil {
			return os.Remove(tmp)
		}
		if !errors.Is(err, fs.ErrExist) {
			if _, lerr := os.Lstat(o.name); lerr != nil {
				err = os.Rename(tmp, o.name)
			} else {
				err = fs.ErrExist
			}
		}
	}
	if err == nil {
		return nil
	}
	os.Remove(tmp)
	if errors.Is(err, fs.ErrExist) {
		return errFileExists(o.name)
	}
	return fmt.Errorf("INTO OUTFILE %s: %w", o.name, err)
}

// errFileExists is the error for an INTO OUTFILE name that exists.
func errFileExists(name string) error {
	return fmt.Errorf("INTO OUTFILE %s: %w (fosql does not overwrite files)", name, ErrFileExists)
}

// outfileSummary is the one-row answer of INTO OUTFILE: the file's
// absolute path, its format and the rows written.
func outfileSummary(name, format string, rows int, message func(abs string) string) *Result {
	abs, _ := filepath.Abs(name)
	return &Result{
		Columns:      []Column{{Name: "file", Type: TypeString}, {Name: "format", Type: TypeString}, {Name: "rows", Type: TypeInt}},
		Rows:         [][]db.Value{{db.String(abs), db.String(format), db.Int(int64(rows))}},
		RowsAffected: int64(rows),
		Message:      message(abs),
	}
}
