package db

import (
	"fmt"
	"sort"
	"strings"
)

// Top-level names every sample has. User fields may not use them, nor
// "insights", which only providers write.
const (
	FieldID       = "id"
	FieldFilepath = "filepath"
	FieldTags     = "tags"
	FieldMetadata = "metadata"
	FieldInsights = "insights"
)

// Sample is one stored sample: its id, its document (filepath, tags,
// metadata and user fields) and the live insights of its dataset.
type Sample struct {
	ID       ID
	rec      Record
	insights map[string]Record // group -> the sample's record in the live generation
}

// Get returns the value at a dotted path: "id", "filepath", "tags",
// "metadata.width", "ground_truth.label", "insights.uniqueness.scalar",
// or a whole document such as "metadata" or "insights". Absent paths give
// a missing value.
func (s *Sample) Get(path string) Value {
	switch path {
	case FieldID:
		return String(s.ID.String())
	case FieldInsights:
		return s.insightsDoc()
	}
	if rest, ok := strings.CutPrefix(path, FieldInsights+"."); ok {
		group, key, more := strings.Cut(rest, ".")
		r, ok := s.insights[group]
		if !ok {
			return Value{}
		}
		if !more {
			v, _ := r.Decode()
			return v
		}
		return r.Lookup(key)
	}
	return s.rec.Lookup(path)
}

func (s *Sample) insightsDoc() Value {
	if len(s.insights) == 0 {
		return Value{}
	}
	fs := make([]Field, 0, len(s.insights))
	for g, r := range s.insights {
		v, err := r.Decode()
		if err == nil && len(v.doc) > 0 {
			fs = append(fs, Field{g, v})
		}
	}
	if len(fs) == 0 {
		return Value{}
	}
	return Doc(fs...)
}

// Filepath is the sample's absolute media path.
func (s *Sample) Filepath() string { return s.rec.Lookup(FieldFilepath).AsString() }

// Tags are the sample's tags, sorted.
func (s *Sample) Tags() []string { return stringsOf(s.rec.Lookup(FieldTags)) }

// Doc returns the whole sample as one document: id, filepath, tags,
// metadata, user fields and insights.
func (s *Sample) Doc() Value {
	v, err := s.rec.Decode()
	if err != nil {
		v = Value{kind: KindDoc}
	}
	v = v.With(FieldID, String(s.ID.String()))
	if in := s.insightsDoc(); !in.IsMissing() {
		v = v.With(FieldInsights, in)
	}
	return v
}

// Record is the stored document without id and insights.
func (s *Sample) Record() Record { return s.rec }

func stringsOf(v Value) []string {
	if v.kind != KindList {
		return nil
	}
	out := make([]string, 0, len(v.list))
	for _, x := range v.list {
		if x.kind == KindString {
			out = append(out, x.str)
		}
	}
	return out
}

// NewSample describes a sample to add.
type NewSample struct {
	// ID, when not zero, is the id the sample keeps (an import of
	// samples exported from fosql); a clash with a sample of the dataset
	// fails the whole call with ErrDuplicateID, as does an id stamped
	// later than the call began (ids the database makes later could
	// equal it). The zero ID gets a new id.
	ID       ID
	Filepath string
	Tags     []string
	Metadata *ImageMetadata
	// Fields are user fields: a document whose top-level names are not
	// id, filepath, tags, metadata or insights. Nested documents are
	// addressed by dotted paths (ground_truth.label).
	Fields Value
}

// MetadataDoc is the metadata document that ingest stores for an image.
func MetadataDoc(m ImageMetadata) Value {
	return Doc(
		Field{"size_bytes", Int(m.SizeBytes)},
		Field{"mime_type", String(m.MimeType)},
		Field{"width", Int(int64(m.Width))},
		Field{"height", Int(int64(m.Height))},
		Field{"num_channels", Int(int64(m.NumChannels))},
		Field{"sha256", String(m.SHA256)},
	)
}

// normTags sorts and deduplicates tags and rejects empty ones.
func normTags(tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		if t == "" {
			return nil, fmt.Errorf("db: empty tag: %w", ErrInvalid)
		}
		out = append(out, t)
	}
	sort.Strings(out)
	k := 0
	for i, t := range out {
		if i > 0 && out[k-1] == t {
			continue
		}
		out[k] = t
		k++
	}
	return out[:k], nil
}

// document builds the stored document of a new sample.
func (n NewSample) document() (Value, error) {
	if n.Filepath == "" {
		return Value{}, fmt.Errorf("db: sample without filepath: %w", ErrInvalid)
	}
	doc := n.Fields
	if doc.kind == KindMissing {
		doc = Value{kind: KindDoc}
	}
	if doc.kind != KindDoc {
		return Value{}, fmt.Errorf("db: sample fields must be a document, not %s: %w", doc.kind, ErrInvalid)
	}
	for _, f := range doc.doc {
		if err := checkUserPath(f.Name); err != nil {
			return Value{}, err
		}
	}
	tags, err := normTags(n.Tags)
	if err != nil {
		return Value{}, err
	}
	doc = doc.With(FieldFilepath, String(n.Filepath)).With(FieldTags, Strings(tags))
	if n.Metadata != nil {
		doc = doc.With(FieldMetadata, MetadataDoc(*n.Metadata))
	}
	return doc, nil
}

// checkUserPath rejects paths that user-field writes may not touch.
func checkUserPath(path string) error {
	top, _, _ := strings.Cut(path, ".")
	switch top {
	case FieldID, FieldTags, FieldInsights:
		return fmt.Errorf("db: field %q is reserved: %w", path, ErrInvalid)
	}
	if path == "" || strings.HasPrefix(path, ".") || strings.HasSuffix(path, ".") || strings.Contains(path, "..") {
		return fmt.Errorf("db: field path %q: %w", path, ErrInvalid)
	}
	return nil
}
