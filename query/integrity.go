package query

import (
	"context"
	"fmt"

	"github.com/fosql/fosql/db"
)

// checkDatabase runs CHECK DATABASE: one row per problem, then a summary
// row, "ok" or "N problems".
func (s *Session) checkDatabase(ctx context.Context) (*Result, error) {
	problems, err := s.db.store.Check(ctx)
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: []Column{{Name: "check", Type: TypeString}}}
	for _, p := range problems {
		res.Rows = append(res.Rows, []db.Value{db.String(p.String())})
	}
	summary := "ok"
	if len(problems) > 0 {
		summary = plural(len(problems), "problem")
		res.Failed = true
		res.Message = fmt.Sprintf("CHECK DATABASE found %s; REPAIR DATABASE rebuilds indexes and counts from the samples", summary)
	}
	res.Rows = append(res.Rows, []db.Value{db.String(summary)})
	return res, nil
}

// repairDatabase runs REPAIR DATABASE.
func (s *Session) repairDatabase(ctx context.Context) (*Result, error) {
	lines, err := s.db.store.Repair(ctx)
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: []Column{{Name: "repair", Type: TypeString}}, Message: "repaired; CHECK DATABASE to verify"}
	for _, l := range lines {
		res.Rows = append(res.Rows, []db.Value{db.String(l)})
	}
	return res, nil
}

// backupDatabase runs BACKUP DATABASE TO 'dir'.
func (s *Session) backupDatabase(ctx context.Context, t *BackupDatabase, a *args) (*Result, error) {
	v, err := a.literal(t.Dir)
	if err != nil {
		return nil, err
	}
	if v.Kind() != db.KindString || v.AsString() == "" {
		return nil, fmt.Errorf("%w: BACKUP DATABASE TO needs a directory name", ErrParam)
	}
	dir, err := absPath(v.AsString())
	if err != nil {
		return nil, err
	}
	size, err := s.db.store.Backup(ctx, dir)
	if err != nil {
		return nil, err
	}
	return &Result{Message: fmt.Sprintf("backed up %.1f MB to %s (open it with fosql -db %s)", float64(size)/1e6, dir, dir)}, nil
}
