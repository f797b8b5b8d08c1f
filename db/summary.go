package db

import (
	"context"
	"sort"
	"time"
)

// Summary describes a dataset as FiftyOne's summary() does.
type Summary struct {
	Name    string
	Created time.Time
	Version uint64
	Count   int64
	// Tags counts the samples of each tag.
	Tags map[string]int64
	// Fields lists every field path with the kinds stored there, sorted
	// by path.
	Fields []FieldInfo
	// Indexes lists the indexed paths.
	Indexes []string
	// Runs are the run records, sorted by key.
	Runs []RunRecord
}

// FieldInfo is one entry of a dataset's schema.
type FieldInfo struct {
	Path  string
	Kinds []Kind
}

// Summary gathers name, counts, tags, schema, indexes and runs.
func (ds *Dataset) Summary(ctx context.Context) (*Summary, error) {
	m, err := ds.meta()
	if err != nil {
		return nil, err
	}
	tags, err := ds.TagCounts(ctx)
	if err != nil {
		return nil, err
	}
	schema, err := ds.Schema()
	if err != nil {
		return nil, err
	}
	idx, err := ds.Indexes()
	if err != nil {
		return nil, err
	}
	s := &Summary{Name: m.Name, Created: m.Created, Version: m.Version, Count: m.Count, Tags: tags, Indexes: idx}
	for p, k := range schema {
		s.Fields = append(s.Fields, FieldInfo{p, k})
	}
	sort.Slice(s.Fields, func(i, j int) bool { return s.Fields[i].Path < s.Fields[j].Path })
	for _, r := range m.Runs {
		s.Runs = append(s.Runs, r)
	}
	sort.Slice(s.Runs, func(i, j int) bool { return s.Runs[i].Key < s.Runs[j].Key })
	return s, nil
}
