package query

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strings"

	"github.com/fosql/fosql/db"
)

// maxRecordBytes bounds one line of an imported .jsonl file.
const maxRecordBytes = 64 << 20

// importProgressEvery is how many records pass between progress reports.
const importProgressEvery = 1024

// importStmt runs IMPORT. The whole statement is all-or-nothing: a
// malformed record, a missing file or a cancel leaves the dataset as it
// was, and a dataset the statement created is removed again.
func (s *Session) importStmt(ctx context.Context, t *Import, a *args) (*Result, error) {
	v, err := a.literal(t.File)
	if err != nil {
		return nil, err
	}
	if v.Kind() != db.KindString || v.AsString() == "" {
		return nil, fmt.Errorf("%w: IMPORT needs a file name", ErrParam)
	}
	file := v.AsString()
	opts, err := optionValues(t.Options, a)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{"check_files": t.Field == "", "keep_ids": t.Field == "", "ids": t.Field != ""}
	for k := range opts {
		if !known[k] {
			want := "check_files, keep_ids"
			if t.Field != "" {
				want = "ids"
			}
			return nil, fmt.Errorf("%w: IMPORT option %s (this form takes %s)", ErrParam, k, want)
		}
	}
	if t.Field != "" {
		if !isNpyFile(file) {
			return nil, fmt.Errorf("%w: IMPORT INTO %s (%s) reads vectors from an .npy file, not %s", ErrInput, t.Dataset, t.Field, QuoteString(file))
		}
		return s.importVectors(ctx, t, file, opts)
	}
	if isNpyFile(file) {
		return nil, fmt.Errorf("%w: IMPORT of an .npy file names the field it fills: IMPORT INTO %s (field) FROM %s", ErrInput, t.Dataset, QuoteString(file))
	}
	checkFiles, err := boolOption(opts, "check_files", true)
	if err != nil {
		return nil, err
	}
	keepIDs, err := boolOption(opts, "keep_ids", false)
	if err != nil {
		return nil, err
	}
	if isParquetFile(file) {
		return s.importParquet(ctx, t, file, checkFiles, keepIDs)
	}
	return s.importSamples(ctx, t, file, checkFiles, keepIDs)
}

// boolOption reads a true-or-false option, def when it is not given.
func boolOption(opts map[string]any, name string, def bool) (bool, error) {
	v, ok := opts[name]
	if !ok {
		return def, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("%w: %s is true or false", ErrParam, name)
	}
	return b, nil
}

// importSamples adds one sample per line of a .jsonl file.
func (s *Session) importSamples(ctx context.Context, t *Import, file string, checkFiles, keepIDs bool) (*Result, error) {
	f, _, err := db.OpenUserFile(file, 0)
	if err != nil {
		return nil, fmt.Errorf("IMPORT INTO %s: %w", t.Dataset, err)
	}
	defer f.Close()
	total, err := countLines(f)
	if err != nil {
		return nil, fmt.Errorf("IMPORT INTO %s: %s: %w", t.Dataset, file, err)
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	line := 0
	records := func(yield func(db.NewSample, error) bool) {
		r := bufio.NewReaderSize(f, 1<<20)
		for line = 1; ; line++ {
			b, err := readRecordLine(r)
			if err == io.EOF {
				return
			}
			if err == nil && len(bytes.TrimSpace(b)) == 0 {
				continue
			}
			var ns db.NewSample
			if err == nil {
				ns, err = sampleFromJSON(b, filepath.Dir(abs), checkFiles, keepIDs)
			}
			if err != nil {
				yield(db.NewSample{}, fmt.Errorf("%w: %s line %d: %w", ErrInput, file, line, err))
				return
			}
			if !yield(ns, nil) {
				return
			}
		}
	}
	ids, err := s.importRecords(ctx, t.Dataset, file, total, records, func() string { return fmt.Sprintf("line %d", line) })
	if err != nil {
		return nil, err
	}
	return &Result{RowsAffected: int64(len(ids)), InsertedIDs: ids,
		Message: fmt.Sprintf("imported %s into %s", plural(len(ids), "sample"), t.Dataset)}, nil
}

// importRecords adds the samples records yields to dataset name (created
// when it does not exist), all or none, reporting progress against total.
// A record the dataset refuses (a duplicate filepath or id, an invalid
// value) is named by at, which says where the last record yielded came
// from ("line 7").
func (s *Session) importRecords(ctx context.Context, name, file string, total int64, records iter.Seq2[db.NewSample, error], at func() string) ([]db.ID, error) {
	ds, created, err := s.importTarget(name)
	if err != nil {
		return nil, err
	}
	op := "import " + filepath.Base(file)
	ids, err := ds.Import(ctx, records, func(done int) {
		if done%importProgressEvery == 0 {
			s.progress(Progress{Op: op, Done: int64(done), Total: total})
		}
	})
	if errors.Is(err, db.ErrDuplicateFilepath) || errors.Is(err, db.ErrDuplicateID) || errors.Is(err, db.ErrInvalid) {
		err = fmt.Errorf("%s %s: %w", file, at(), err)
	}
	if err != nil {
		return nil, s.importFailed(name, created, err)
	}
	s.progress(Progress{Op: op, Done: int64(len(ids)), Total: int64(len(ids))})
	return ids, nil
}

// importTarget opens the dataset an IMPORT writes to, creating it when it
// does not exist; created says so.
func (s *Session) importTarget(name string) (*db.Dataset, bool, error) {
	ds, err := s.db.store.Dataset(name)
	if err == nil {
		return ds, false, nil
	}
	if !errors.Is(err, db.ErrNotFound) {
		return nil, false, err
	}
	ds, err = s.db.store.CreateDataset(name)
	return ds, err == nil, err
}

// importFailed removes a dataset the failed IMPORT created (the samples
// of one it did not create are already undone) and adds that nothing
// was imported to the error.
func (s *Session) importFailed(name string, created bool, err error) error {
	if created {
		if derr := s.db.store.DeleteDataset(name); derr != nil {
			return fmt.Errorf("%w (and removing the new dataset %s failed: %v)", err, name, derr)
		}
	}
	return fmt.Errorf("%w; nothing was imported", err)
}

// countLines counts the records of a .jsonl file (its lines, the last one
// with or without a newline) and rewinds it.
func countLines(f *os.File) (int64, error) {
	buf := make([]byte, 1<<20)
	var n int64
	last := byte('\n')
	for {
		k, err := f.Read(buf)
		if k > 0 {
			n += int64(bytes.Count(buf[:k], []byte{'\n'}))
			last = buf[k-1]
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	if last != '\n' {
		n++
	}
	_, err := f.Seek(0, io.SeekStart)
	return n, err
}

// readRecordLine reads one line without its newline (or io.EOF at the
// end), refusing a line longer than maxRecordBytes.
func readRecordLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err == nil || (err == io.EOF && len(line) > 0) {
		return bytes.TrimSuffix(line, []byte{'\n'}), nil
	}
	if err != bufio.ErrBufferFull {
		return nil, err
	}
	long := append([]byte(nil), line...)
	for {
		line, err = r.ReadSlice('\n')
		long = append(long, line...)
		if len(long) > maxRecordBytes {
			return nil, fmt.Errorf("the record is longer than %d bytes", maxRecordBytes)
		}
		if err == nil || err == io.EOF {
			return bytes.TrimSuffix(long, []byte{'\n'}), nil
		}
		if err != bufio.ErrBufferFull {
			return nil, err
		}
	}
}

// sampleFromJSON reads one record: a JSON object with filepath (relative
// paths are taken from dir, the .jsonl file's folder), optional tags (a
// list of strings) and any user fields; id is ignored (samples get new
// ids) unless keepIDs, when every record must have one and keeps it;
// insights are refused. With checkFiles the image must be readable,
// and its metadata is read from it, replacing a metadata field of the
// record; without, a record's metadata object is kept as it is.
func sampleFromJSON(b []byte, dir string, checkFiles, keepIDs bool) (db.NewSample, error) {
	var ns db.NewSample
	v, err := parseJSONValue(b)
	if err != nil {
		return ns, err
	}
	if v.Kind() != db.KindDoc {
		return ns, fmt.Errorf("a record must be a JSON object, not %s", v.Kind())
	}
	var fields []db.Field
	for _, fld := range v.Fields() {
		switch fld.Name {
		case db.FieldFilepath:
			if fld.Value.Kind() != db.KindString || fld.Value.AsString() == "" {
				return ns, fmt.Errorf("filepath must be a non-empty string")
			}
			ns.Filepath = fld.Value.AsString()
		case db.FieldTags:
			if ns.Tags, err = tagList(fld.Value); err != nil {
				return ns, err
			}
		case db.FieldID:
			if keepIDs {
				if fld.Value.Kind() != db.KindString {
					return ns, fmt.Errorf("id must be a sample id (24 hex characters), not %s", describeValue(fld.Value))
				}
				if ns.ID, err = db.ParseID(fld.Value.AsString()); err != nil {
					return ns, err
				}
			}
		case db.FieldInsights:
			return ns, fmt.Errorf("insights are computed by fosql and cannot be imported")
		default:
			if fld.Name == "" || strings.Contains(fld.Name, ".") {
				return ns, fmt.Errorf("field name %q: names may not be empty or hold a dot", fld.Name)
			}
			fields = append(fields, fld)
		}
	}
	if keepIDs && ns.ID.IsZero() {
		return ns, fmt.Errorf("the record has no id (keep_ids = true keeps every record's id)")
	}
	ns.Fields = db.Doc(fields...)
	return ns, placeSample(&ns, dir, checkFiles)
}

// placeSample finishes an imported record: a relative filepath is taken
// from dir (the imported file's folder), and with checkFiles the image
// must be readable and its metadata is read from it.
func placeSample(ns *db.NewSample, dir string, checkFiles bool) error {
	if ns.Filepath == "" {
		return fmt.Errorf("the record has no filepath")
	}
	if !filepath.IsAbs(ns.Filepath) && !strings.HasPrefix(ns.Filepath, "~/") && !db.IsS3URL(ns.Filepath) {
		ns.Filepath = filepath.Join(dir, ns.Filepath)
	}
	var err error
	if ns.Filepath, err = absPath(ns.Filepath); err != nil {
		return err
	}
	if checkFiles {
		// An s3:// filepath is read from the endpoint the environment
		// names (db.ResolveS3Endpoint).
		md, err := db.InspectMedia(context.Background(), ns.Filepath, "", 0)
		if err != nil {
			return fmt.Errorf("%w (give WITH (check_files = false) for records whose media is elsewhere)", err)
		}
		ns.Metadata = &md
	}
	return nil
}

// importVectors fills a field with the rows of an .npy file: row i goes
// to the i-th sample in ascending id order, or to the sample that line i
// of the ids option's file names.
func (s *Session) importVectors(ctx context.Context, t *Import, file string, opts map[string]any) (*Result, error) {
	ds, err := s.dataset(t.Dataset)
	if err != nil {
		return nil, err
	}
	f, _, err := db.OpenUserFile(file, 0)
	if err != nil {
		return nil, fmt.Errorf("IMPORT INTO %s (%s): %w", t.Dataset, t.Field, err)
	}
	defer f.Close()
	h, err := readNpyHeader(f) // reads the header exactly: f is left at the data
	if err != nil {
		return nil, fmt.Errorf("IMPORT INTO %s (%s): %s: %w", t.Dataset, t.Field, file, err)
	}
	var ids []db.ID
	if v, ok := opts["ids"]; ok {
		name, ok := v.(string)
		if !ok || name == "" {
			return nil, fmt.Errorf("%w: ids names a file of sample ids, one per line", ErrParam)
		}
		if ids, err = readIDsFile(name); err != nil {
			return nil, err
		}
		if len(ids) != h.rows {
			return nil, fmt.Errorf("%w: %s has %d rows but %s names %d samples", ErrInput, file, h.rows, name, len(ids))
		}
	} else {
		for id, err := range ds.IDs(ctx) {
			if err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		if len(ids) != h.rows {
			return nil, fmt.Errorf("%w: %s has %d rows but dataset %s has %d samples; row i goes to the i-th sample in id order, or give WITH (ids = 'ids.txt') to name each row's sample",
				ErrInput, file, h.rows, t.Dataset, len(ids))
		}
	}
	rows := newNpyRows(h, f)
	op := fmt.Sprintf("import %s into %s", filepath.Base(file), t.Field)
	n, err := ds.SetEach(ctx, ids, t.Field, func(int) (db.Value, error) {
		row, err := rows.next()
		if err != nil {
			return db.Value{}, err
		}
		return db.Floats(row), nil
	}, func(done int) {
		if done%importProgressEvery == 0 {
			s.progress(Progress{Op: op, Done: int64(done), Total: int64(len(ids))})
		}
	})
	if err != nil {
		if errors.Is(err, db.ErrNotFound) {
			err = fmt.Errorf("%w: %w", ErrInput, err)
		}
		return nil, fmt.Errorf("IMPORT INTO %s (%s): %w; nothing was imported", t.Dataset, t.Field, err)
	}
	s.progress(Progress{Op: op, Done: int64(len(ids)), Total: int64(len(ids))})
	return &Result{RowsAffected: int64(n),
		Message: fmt.Sprintf("imported %s of %d values into %s.%s (%d changed)", plural(h.rows, "vector"), h.cols, t.Dataset, t.Field, n)}, nil
}

// readIDsFile reads a file of sample ids, one per line (blank lines
// skipped).
func readIDsFile(name string) ([]db.ID, error) {
	f, _, err := db.OpenUserFile(name, 0)
	if err != nil {
		return nil, fmt.Errorf("ids: %w", err)
	}
	defer f.Close()
	var ids []db.ID
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" {
			continue
		}
		id, err := db.ParseID(t)
		if err != nil {
			return nil, fmt.Errorf("%w: %s line %d: %w", ErrInput, name, line, err)
		}
		ids = append(ids, id)
	}
	return ids, sc.Err()
}
