package query

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/fosql/fosql/db"
)

// metadataKinds are the kinds of the metadata keys that ingest writes,
// known even before a dataset holds an image.
var metadataKinds = map[string]db.Kind{
	"size_bytes":   db.KindInt,
	"mime_type":    db.KindString,
	"width":        db.KindInt,
	"height":       db.KindInt,
	"num_channels": db.KindInt,
	"sha256":       db.KindString,
}

// schema is a dataset's field schema as the binder sees it: every known
// path (leaves and the documents above them) with the kinds stored there.
type schema struct {
	dataset string
	alias   string               // the dataset's alias in FROM, if any
	paths   map[string][]db.Kind // leaves, from the dataset
	docs    map[string]bool      // every proper prefix of a leaf path
	groups  map[string]bool      // insights groups with values
	top     []string             // top-level user fields, sorted
	// embeddings maps insights.<group>.embedding, a column that reads the
	// vectors the group's last run used, to their embedding space: a
	// model identity, or "field:<path>" for vectors the user supplied.
	embeddings map[string]string
	// computed lists the keys that each computable insights group's runs
	// write (Options.InsightKeys); nil when not known.
	computed map[string][]string
}

// embeddingKey is the virtual key under a group whose run used embeddings.
const embeddingKey = "embedding"

func loadSchema(ds *db.Dataset, name string) (*schema, error) {
	sc, err := ds.Schema()
	if err != nil {
		return nil, err
	}
	s := &schema{dataset: name, paths: sc, docs: map[string]bool{}, groups: map[string]bool{}}
	top := map[string]bool{}
	for p := range sc {
		parts := strings.Split(p, ".")
		for i := 1; i < len(parts); i++ {
			s.docs[strings.Join(parts[:i], ".")] = true
		}
		if parts[0] == db.FieldInsights && len(parts) > 1 {
			s.groups[parts[1]] = true
		}
		switch parts[0] {
		case db.FieldID, db.FieldFilepath, db.FieldTags, db.FieldMetadata, db.FieldInsights:
		default:
			top[parts[0]] = true
		}
	}
	for t := range top {
		s.top = append(s.top, t)
	}
	sort.Strings(s.top)
	runs, err := ds.Runs()
	if err != nil {
		return nil, err
	}
	s.embeddings = map[string]string{}
	for g, r := range runs {
		if r.Status == db.RunComplete && r.Model != "" && s.groups[g] {
			p := db.FieldInsights + "." + g + "." + embeddingKey
			s.embeddings[p] = r.Model
			s.paths[p] = []db.Kind{db.KindList}
		}
	}
	return s, nil
}

// kinds returns the kinds stored at path (a document for a path above
// leaves) and whether the path is known.
func (s *schema) kinds(path string) ([]db.Kind, bool) {
	switch path {
	case db.FieldID, db.FieldFilepath:
		return []db.Kind{db.KindString}, true
	case db.FieldTags:
		return []db.Kind{db.KindList}, true
	case db.FieldMetadata, db.FieldInsights:
		return []db.Kind{db.KindDoc}, true
	}
	if k, ok := s.paths[path]; ok {
		return k, true
	}
	if s.docs[path] {
		return []db.Kind{db.KindDoc}, true
	}
	if key, ok := strings.CutPrefix(path, db.FieldMetadata+"."); ok {
		if k, ok := metadataKinds[key]; ok {
			return []db.Kind{k}, true
		}
	}
	return nil, false
}

// known lists every name a field reference could mean, for suggestions.
func (s *schema) known() []string {
	out := []string{db.FieldID, db.FieldFilepath, db.FieldTags, db.FieldMetadata, db.FieldInsights}
	for k := range metadataKinds {
		out = append(out, db.FieldMetadata+"."+k)
	}
	for p := range s.paths {
		out = append(out, p)
	}
	for p := range s.docs {
		out = append(out, p)
	}
	for g, keys := range s.computed {
		for _, k := range keys {
			out = append(out, db.FieldInsights+"."+g+"."+k)
		}
	}
	return out
}

// resolve checks a field path and returns it in canonical form. A
// leading qualifier equal to the dataset's name is dropped
// (walkthrough.filepath is filepath). A path under insights.<group> that
// is not stored yet is accepted when a provider computes it: one of the
// keys s.computed lists for the group, or, when s.computed is nil, any
// key of a group that has no values yet. Anything else is an unknown
// field, with the nearest known name.
func (s *schema) resolve(path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("empty field name: %w", ErrUnknownField)
	}
	if _, ok := s.kinds(path); ok {
		return path, nil
	}
	for _, q := range []string{s.dataset, s.alias} {
		if q == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(path, q+"."); ok {
			if _, ok := s.kinds(rest); ok {
				return rest, nil
			}
			path = rest
			break
		}
	}
	if rest, ok := strings.CutPrefix(path, db.FieldInsights+"."); ok {
		group, key, _ := strings.Cut(rest, ".")
		if keys, ok := s.computed[group]; ok && (key == "" || slices.Contains(keys, key)) {
			return path, nil
		}
		if s.computed == nil && group != "" && !s.groups[group] {
			var groups []string
			for g := range s.groups {
				groups = append(groups, g)
			}
			if near := nearest(group, groups); near != "" {
				return "", &NameError{Kind: "field", Name: path, Dataset: s.dataset,
					Suggestion: db.FieldInsights + "." + near + strings.TrimPrefix(rest, group)}
			}
			if !strings.HasSuffix(path, ".") && !strings.Contains(rest, "..") {
				return path, nil
			}
		}
	}
	return "", &NameError{Kind: "field", Name: path, Dataset: s.dataset, Suggestion: nearest(path, s.known())}
}

// columnType is the result column type for a path.
func (s *schema) columnType(path string) ColumnType {
	k, _ := s.kinds(path)
	return typeOfKinds(k)
}

// hasKind reports whether the path holds kind k (numbers match numbers).
// An unknown path holds anything.
func (s *schema) accepts(path string, v db.Value) bool {
	ks, ok := s.kinds(path)
	if !ok || len(ks) == 0 {
		return true
	}
	vk := v.Kind()
	if vk <= db.KindNull {
		return true
	}
	any := false
	for _, k := range ks {
		if k <= db.KindNull {
			continue
		}
		any = true
		if k == vk || (v.IsNumber() && (k == db.KindInt || k == db.KindFloat)) {
			return true
		}
	}
	return !any
}

// kindsText describes a path's kinds for messages: "int", "string or int".
func (s *schema) kindsText(path string) string {
	ks, _ := s.kinds(path)
	var names []string
	for _, k := range ks {
		if k > db.KindNull {
			names = append(names, k.String())
		}
	}
	return strings.Join(names, " or ")
}
