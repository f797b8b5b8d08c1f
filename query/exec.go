package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/xwb1989/sqlparser"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/insights"
)

// Progress is a report from a long statement: an ingest, a computation of
// insights or a zoo download. Shells print it; it never goes to stdout.
type Progress struct {
	Op     string // "ingest", "compute uniqueness", "load zoo cifar10", …
	Phase  string // e.g. "embed", "knn"; may be empty
	Done   int64
	Total  int64 // 0 when unknown
	Detail string
}

// String renders the report as one line.
func (p Progress) String() string {
	var b strings.Builder
	b.WriteString(p.Op)
	if p.Phase != "" {
		b.WriteString(" " + p.Phase)
	}
	if p.Total > 0 {
		fmt.Fprintf(&b, ": %d/%d", p.Done, p.Total)
	} else if p.Done > 0 {
		fmt.Fprintf(&b, ": %d", p.Done)
	}
	if p.Detail != "" {
		b.WriteString(" (" + p.Detail + ")")
	}
	return b.String()
}

// ZooRequest is what LOAD ZOO DATASET asks the zoo hook for.
type ZooRequest struct {
	Name    string         // the zoo's dataset, e.g. cifar10
	Split   string         // e.g. test; "" for the zoo's default
	Dataset string         // the dataset to create; "" for the zoo's default name
	Options map[string]any // WITH (…) options
}

// Options configure a DB. The zero value (or nil) is usable: storage
// defaults, auto-compute on, no hooks.
type Options struct {
	// Storage configures the underlying store.
	Storage *db.Options

	// AutoCompute is the default of each session's auto_compute setting
	// (nil means on). With it on, a statement that names an
	// insights.<group>.… path lets Ensure compute what is missing or
	// stale first; with it off, Ensure is asked to check only.
	AutoCompute *bool

	// Queue is the default of each session's queue setting: the NATS
	// server (nats://host:4222) whose workers embed for brain jobs that
	// name no queue of their own. Empty: such jobs run locally.
	Queue string

	// Progress receives progress reports of long statements (nil: none).
	Progress func(Progress)

	// Ensure is called before a statement that names insights.<group>.…
	// paths in its select list, WHERE, GROUP BY or ORDER BY (not through
	// *), with the groups named and the session's auto_compute setting.
	// It has the shape of insights.Registry.Ensure, so a registry's
	// method value fits. Nil: statements run on what is stored.
	Ensure func(ctx context.Context, ds *db.Dataset, groups []string, auto bool, progress func(insights.Progress)) error

	// Compute runs COMPUTE <group> ON <dataset> WITH (…); it has the
	// shape of insights.Registry.Run. Nil: COMPUTE fails with
	// ErrNotAvailable.
	Compute func(ctx context.Context, ds *db.Dataset, group string, req insights.Request, progress func(insights.Progress)) error

	// Similarity gathers the embeddings that ORDER BY SIMILARITY TO
	// searches; it has the shape of (*brain.Provider).Similarity. Nil:
	// such a query fails with ErrNotAvailable.
	Similarity func(ctx context.Context, ds *db.Dataset, req brain.SimilarityRequest) (*brain.SimilaritySpace, error)

	// LoadZoo runs LOAD ZOO DATASET: it creates (or fills) a dataset in
	// store and returns it. Nil: LOAD ZOO fails with ErrNotAvailable.
	LoadZoo func(ctx context.Context, store *db.DB, req ZooRequest, progress func(Progress)) (*db.Dataset, error)

	// InsightKeys lists, for each insights group that Ensure or Compute
	// can produce, the keys a run of it writes (uniqueness: scalar, …).
	// A statement that names insights.<group>.<key> of a group with no
	// stored values is checked against it before anything is computed:
	// a group or key not listed is an unknown field. Nil: such paths are
	// taken as written, and only a group with stored values is checked.
	InsightKeys map[string][]string

	// NoProviders leaves Ensure, Compute and LoadZoo nil when they are
	// not set, instead of wiring in the brain's providers (uniqueness) and
	// the zoo: computed columns then read only what is stored.
	NoProviders bool
}

// DB is a fosql database opened for SQL. It is safe for concurrent use.
// Exec and Query run in a default session; NewSession gives a session
// with its own settings (what a database/sql connection is).
type DB struct {
	store *db.DB
	owned bool
	opts  Options
	def   *Session
	plans planCache
}

// Open opens (creating when missing) the database directory at path;
// ":memory:" opens a private in-memory database. A database in use by
// another process gives an error wrapping db.ErrLocked.
func Open(path string, opts *Options) (*DB, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	store, err := db.Open(path, o.Storage)
	if err != nil {
		return nil, err
	}
	d := New(store, &o)
	d.owned = true
	return d, nil
}

// New wraps a store that is already open. Closing the DB leaves the
// store open.
func New(store *db.DB, opts *Options) *DB {
	d := &DB{store: store, plans: newPlanCache()}
	if opts != nil {
		d.opts = *opts
	}
	d.opts.defaultHooks()
	d.def = d.NewSession()
	return d
}

// Store is the underlying store, for the Go API of db and views.
func (d *DB) Store() *db.DB { return d.store }

// InsightKeys lists, by insights group, the keys that the wired providers
// compute (Options.InsightKeys): the computed columns a statement may
// name before they exist. Nil when not known.
func (d *DB) InsightKeys() map[string][]string { return d.opts.InsightKeys }

// Close closes the store if Open opened it.
func (d *DB) Close() error {
	if d.owned {
		return d.store.Close()
	}
	return nil
}

// NewSession starts a session with the default settings: the options'
// and, for the queue when the options name none, the database's own (SET
// DATABASE queue).
func (d *DB) NewSession() *Session {
	auto := true
	if d.opts.AutoCompute != nil {
		auto = *d.opts.AutoCompute
	}
	queue := d.opts.Queue
	if queue == "" {
		// A setting that cannot be read leaves the queue off; the
		// statement that needs the store reports the store's error.
		queue, _ = d.store.Setting(settingQueue)
	}
	return &Session{db: d, autoCompute: auto, queue: queue}
}

// Exec runs the statements of sql in the default session and returns the
// last one's result. See Session.Exec.
func (d *DB) Exec(ctx context.Context, sql string, args ...any) (*Result, error) {
	return d.def.Exec(ctx, sql, args...)
}

// Query is Exec for statements that return rows. See Session.Query.
func (d *DB) Query(ctx context.Context, sql string, args ...any) (*Result, error) {
	return d.def.Query(ctx, sql, args...)
}

// Run runs the statements of sql in the default session, handing each
// result to fn as it comes. See Session.Run.
func (d *DB) Run(ctx context.Context, sql string, args []any, fn func(Statement, *Result) error) error {
	return d.def.Run(ctx, sql, args, fn)
}

// Session holds per-connection settings (auto_compute). A session is safe
// for concurrent use, but its statements see each other's SET.
type Session struct {
	db          *DB
	mu          sync.Mutex
	autoCompute bool
	queue       string
}

// Queue reports the session's queue setting ("" for none).
func (s *Session) Queue() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queue
}

// SetQueue changes the session's queue setting, as SET queue = 'nats://…'
// does; "" (SET queue = off) makes brain jobs run locally again.
func (s *Session) SetQueue(url string) {
	s.mu.Lock()
	s.queue = url
	s.mu.Unlock()
}

// AutoCompute reports the session's auto_compute setting.
func (s *Session) AutoCompute() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.autoCompute
}

// SetAutoCompute changes the session's auto_compute setting, as SET
// auto_compute = on|off does.
func (s *Session) SetAutoCompute(on bool) {
	s.mu.Lock()
	s.autoCompute = on
	s.mu.Unlock()
}

// Exec parses sql (one statement or several separated by semicolons),
// binds args to its placeholders (? in order across the script; :name
// from sql.Named arguments) and runs the statements in order, stopping at
// the first error. Nothing runs if any statement has a syntax error. It
// returns the last statement's result.
func (s *Session) Exec(ctx context.Context, sql string, args ...any) (*Result, error) {
	var last *Result
	err := s.Run(ctx, sql, args, func(_ Statement, r *Result) error {
		last = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	if last == nil {
		return &Result{}, nil
	}
	return last, nil
}

// Query is Exec, but the last statement must return rows (a SELECT, SHOW,
// DESCRIBE or EXPLAIN); otherwise it fails with ErrNotQuery.
func (s *Session) Query(ctx context.Context, sql string, args ...any) (*Result, error) {
	r, err := s.Exec(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	if !r.HasRows() {
		return nil, ErrNotQuery
	}
	return r, nil
}

// Run is Exec with a callback that receives every statement's result as
// soon as it is done; an error from fn stops the script.
func (s *Session) Run(ctx context.Context, sql string, args []any, fn func(Statement, *Result) error) error {
	sc, err := parseCached(sql)
	if err != nil {
		return err
	}
	return s.RunStatements(ctx, sc.stmts, args, fn)
}

// Stream is Run for programs that print or export large results: a
// plain row query (no DISTINCT, GROUP BY, aggregate or HAVING) hands fn a
// Result whose rows are read as fn consumes them with Result.Each (or
// Result.Write), so memory stays flat however many rows there are. Such a
// Result's Rows is nil, and it is valid only until fn returns.
func (s *Session) Stream(ctx context.Context, sql string, args []any, fn func(Statement, *Result) error) error {
	sc, err := parseCached(sql)
	if err != nil {
		return err
	}
	return s.runStatements(ctx, sc.stmts, args, true, fn)
}

// Stream runs sql in the default session. See Session.Stream.
func (d *DB) Stream(ctx context.Context, sql string, args []any, fn func(Statement, *Result) error) error {
	return d.def.Stream(ctx, sql, args, fn)
}

// RunStatements runs statements that Parse returned, as Run does.
func (s *Session) RunStatements(ctx context.Context, stmts []Statement, args []any, fn func(Statement, *Result) error) error {
	return s.runStatements(ctx, stmts, args, false, fn)
}

// runStatements runs stmts in order; with stream, plain row queries hand
// fn streamed results.
func (s *Session) runStatements(ctx context.Context, stmts []Statement, args []any, stream bool, fn func(Statement, *Result) error) error {
	a, err := newArgs(args)
	if err != nil {
		return err
	}
	for i, st := range stmts {
		res, err := s.runOne(ctx, st, a, stream)
		if err != nil {
			if len(stmts) > 1 {
				return fmt.Errorf("statement %d: %w", i+1, err)
			}
			return err
		}
		if fn != nil {
			if err := fn(st, res); err != nil {
				return err
			}
		}
	}
	if a.used < len(a.pos) {
		return fmt.Errorf("%w: %d arguments given for %d placeholders", ErrParam, len(a.pos), a.used)
	}
	return nil
}

// runOne runs one statement; a panic becomes an error wrapping
// ErrInternal, so that a bug never takes the process down.
func (s *Session) runOne(ctx context.Context, st Statement, a *args, stream bool) (res *Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			res = nil
			err = fmt.Errorf("%w: %v (statement: %s)\n%s", ErrInternal, r, st.SQL(), debug.Stack())
		}
	}()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q := s.Queue(); q != "" {
		ctx = brain.WithQueue(ctx, brain.QueueOptions{URL: q})
	}
	return s.exec(ctx, st, a, stream)
}

func (s *Session) exec(ctx context.Context, st Statement, a *args, stream bool) (*Result, error) {
	switch t := st.(type) {
	case *ShowDatasets:
		return s.showDatasets(ctx)
	case *ShowModels:
		return showModels(), nil
	case *DescribeDataset:
		return s.describe(ctx, t)
	case *CreateDataset:
		return s.createDataset(ctx, t, a)
	case *DropDataset:
		return s.dropDataset(t)
	case *LoadZoo:
		return s.loadZoo(ctx, t, a)
	case *Compute:
		return s.compute(ctx, t, a)
	case *Import:
		return s.importStmt(ctx, t, a)
	case *CheckDatabase:
		return s.checkDatabase(ctx)
	case *RepairDatabase:
		return s.repairDatabase(ctx)
	case *BackupDatabase:
		return s.backupDatabase(ctx, t, a)
	case *SetVariable:
		return s.set(t, a)
	case *Explain:
		return s.explain(ctx, t.Statement, a)
	case *Select:
		return s.selectStmt(ctx, t, a, stream)
	case *Insert:
		return s.insert(ctx, t, a)
	case *Update:
		return s.update(ctx, t, a)
	case *UpdateTags:
		return s.updateTags(ctx, t, a)
	case *Delete:
		return s.delete(ctx, t, a)
	case *CreateView, *DropView, *ShowViews:
		return s.viewExec(ctx, t, a)
	}
	return nil, fmt.Errorf("statement %T: %w", st, ErrUnsupported)
}

// dataset opens a dataset by name; an unknown name suggests the nearest.
func (s *Session) dataset(name string) (*db.Dataset, error) {
	ds, err := s.db.store.Dataset(name)
	if err == nil {
		return ds, nil
	}
	if !errors.Is(err, db.ErrNotFound) {
		return nil, err
	}
	names, _ := s.db.store.DatasetNames()
	return nil, &NameError{Kind: "dataset", Name: name, Suggestion: nearest(name, names)}
}

// tableOf returns the single dataset a FROM clause or UPDATE/DELETE target
// names, and its alias.
func tableOf(exprs sqlparser.TableExprs) (name, alias string, err error) {
	if len(exprs) != 1 {
		return "", "", fmt.Errorf("joins and several datasets in FROM: %w", ErrUnsupported)
	}
	ate, ok := exprs[0].(*sqlparser.AliasedTableExpr)
	if !ok {
		return "", "", fmt.Errorf("joins: %w", ErrUnsupported)
	}
	tn, ok := ate.Expr.(sqlparser.TableName)
	if !ok {
		return "", "", fmt.Errorf("subqueries in FROM: %w", ErrUnsupported)
	}
	name = tn.Name.String()
	if !tn.Qualifier.IsEmpty() {
		name = tn.Qualifier.String() + "." + name
	}
	return name, ate.As.String(), nil
}

// binderFor opens the dataset and its schema.
func (s *Session) binderFor(name, alias string, a *args) (*binder, error) {
	ds, err := s.dataset(name)
	if err != nil {
		return nil, err
	}
	sc, err := loadSchema(ds, name)
	if err != nil {
		return nil, err
	}
	sc.alias = alias
	sc.computed = s.db.opts.InsightKeys
	return &binder{ds: ds, sc: sc, args: a}, nil
}

// insightGroups returns the insights groups that the column paths name
// (with the dataset or alias qualifier taken off).
func insightGroups(paths []string, dataset, alias string) []string {
	clean := make([]string, 0, len(paths))
	for _, p := range paths {
		for _, q := range []string{dataset, alias} {
			if q != "" {
				p = strings.TrimPrefix(p, q+".")
			}
		}
		clean = append(clean, p)
	}
	return insights.GroupsIn(clean)
}

// prepareInsights finds the insights groups that paths name, checks the
// paths (a misspelt group is an unknown field, before anything runs),
// and with ensure lets Options.Ensure bring the groups up to date. It
// returns the binder to use: a fresh one when a run may have added
// fields.
func (s *Session) prepareInsights(ctx context.Context, b *binder, paths []string, name, alias string, a *args, ensure bool) (*binder, []string, error) {
	groups := insightGroups(paths, name, alias)
	if len(groups) == 0 {
		return b, nil, nil
	}
	for _, p := range paths {
		if _, err := b.sc.resolve(p); err != nil && strings.Contains(p, db.FieldInsights+".") {
			return nil, nil, err
		}
	}
	if !ensure || s.db.opts.Ensure == nil {
		return b, groups, nil
	}
	if err := s.ensure(ctx, b.ds, groups); err != nil {
		return nil, nil, err
	}
	nb, err := s.binderFor(name, alias, a)
	if err != nil {
		return nil, nil, err
	}
	// Whatever Ensure could compute is there now; a group still without
	// values is one that nothing provides, or one whose run Ensure left
	// to a queue job's workers (read as missing).
	have, err := nb.ds.InsightGroups()
	if err != nil {
		return nil, nil, err
	}
	for _, g := range groups {
		if _, computed := s.db.opts.InsightKeys[g]; !computed && !slices.Contains(have, g) {
			return nil, nil, fmt.Errorf("insights.%s in dataset %q: %w: no values are stored and no provider computes %s",
				g, name, ErrUnknownField, g)
		}
	}
	return nb, groups, nil
}

// ensure lets Options.Ensure bring the named insights groups up to date
// before a statement reads them.
func (s *Session) ensure(ctx context.Context, ds *db.Dataset, groups []string) error {
	if len(groups) == 0 || s.db.opts.Ensure == nil {
		return nil
	}
	op := "compute " + strings.Join(groups, ", ")
	return s.db.opts.Ensure(ctx, ds, groups, s.AutoCompute(), s.insightsProgress(op))
}

// progress reports to Options.Progress, if set.
func (s *Session) progress(p Progress) {
	if s.db.opts.Progress != nil {
		s.db.opts.Progress(p)
	}
}

func (s *Session) insightsProgress(op string) func(insights.Progress) {
	return func(p insights.Progress) {
		s.progress(Progress{Op: op, Phase: p.Phase, Done: int64(p.Done), Total: int64(p.Total), Detail: p.Detail})
	}
}

// planSelect prepares a SELECT: the binder, the insights it needs
// and the plan.
func (s *Session) planSelect(ctx context.Context, st *Select, a *args, ensure bool) (*binder, *selectPlan, []string, error) {
	// A plan holds its statement's syntax tree; a long statement's plan
	// is not kept, as its script is not (parseCached): the cache would
	// hold hundreds of megabytes for statements that never come again.
	if len(a.pos) > 0 || len(a.named) > 0 || len(st.text) > scriptCacheText {
		return s.bindSelectNow(ctx, st, a, ensure)
	}
	key := planKey{st: st, ensure: ensure, auto: s.AutoCompute()}
	if ent, ok := s.db.plans.get(s.db.store, key); ok {
		return ent.b, ent.p, ent.groups, nil
	}
	e0, quiet := s.db.store.Epoch()
	b, p, groups, err := s.bindSelectNow(ctx, st, a, ensure)
	if err != nil {
		return nil, nil, nil, err
	}
	if e1, still := s.db.store.Epoch(); quiet && still && e1 == e0 {
		s.db.plans.put(key, planEntry{epoch: e0, b: b, p: p, groups: groups})
	}
	return b, p, groups, nil
}

// bindSelectNow is planSelect without the plan cache.
func (s *Session) bindSelectNow(ctx context.Context, st *Select, a *args, ensure bool) (*binder, *selectPlan, []string, error) {
	name, alias, err := tableOf(st.ast.From)
	if err != nil {
		return nil, nil, nil, err
	}
	b, err := s.binderFor(name, alias, a)
	if err != nil {
		return nil, nil, nil, err
	}
	var exprs []sqlparser.SQLNode
	for _, se := range st.ast.SelectExprs {
		if _, star := se.(*sqlparser.StarExpr); !star {
			exprs = append(exprs, se)
		}
	}
	exprs = append(exprs, st.ast.Where, st.ast.GroupBy, st.ast.Having, st.ast.OrderBy)
	paths := collectPaths(exprs...)
	if st.Similarity != nil && similarityNeedsRun(st.Similarity) && s.db.opts.Ensure != nil {
		// The embeddings searched are those of the last uniqueness run:
		// a computed column, made or checked as naming it would.
		paths = append(paths, db.FieldInsights+"."+uniquenessGroup+".scalar")
	}
	b, groups, err := s.prepareInsights(ctx, b, paths, name, alias, a, false)
	if err != nil {
		return nil, nil, nil, err
	}
	if ensure && len(groups) > 0 && s.db.opts.Ensure != nil {
		// Every name and value is checked against the schema as it is
		// before a computed column's job starts; the statement is bound
		// again afterwards, when the job may have added fields.
		b.similar = st.Similarity != nil
		if _, err := b.bindSelect(st.ast); err != nil {
			return nil, nil, nil, err
		}
		if b, groups, err = s.prepareInsights(ctx, b, paths, name, alias, a, true); err != nil {
			return nil, nil, nil, err
		}
	}
	if st.Similarity != nil {
		if b.ranker, err = s.bindSimilarity(b, st.Similarity, a); err != nil {
			return nil, nil, nil, err
		}
		b.similar = true
	}
	p, err := b.bindSelect(st.ast)
	if err != nil {
		return nil, nil, nil, err
	}
	return b, p, groups, nil
}

// selectStmt runs a SELECT; with stream, a plain row query returns a
// streamed result. INTO OUTFILE always streams into the file when it can.
func (s *Session) selectStmt(ctx context.Context, st *Select, a *args, stream bool) (*Result, error) {
	// The file is checked before planning, which may run a computed
	// column's job.
	var outfile string
	if st.Outfile != nil {
		v, err := a.literal(*st.Outfile)
		if err != nil {
			return nil, err
		}
		if v.Kind() != db.KindString || v.AsString() == "" {
			return nil, fmt.Errorf("%w: INTO OUTFILE needs a file name", ErrParam)
		}
		outfile = v.AsString()
		// Refuse before doing the work.
		files := []string{outfile}
		if isNpyFile(outfile) {
			files = append(files, npyIDsFile(outfile))
		} else if !isParquetFile(outfile) {
			if _, err := formatForFile(outfile); err != nil {
				return nil, err
			}
		}
		for _, f := range files {
			if _, err := os.Lstat(f); err == nil {
				return nil, fmt.Errorf("INTO OUTFILE %s: %w (fosql does not overwrite files)", f, ErrFileExists)
			}
		}
	}
	_, p, _, err := s.planSelect(ctx, st, a, true)
	if err != nil {
		return nil, err
	}
	if p.streams() && (stream || outfile != "") {
		if outfile != "" {
			return writeOutfile(outfile, p.stream(ctx))
		}
		return p.stream(ctx), nil
	}
	res, err := p.run(ctx)
	if err != nil {
		return nil, err
	}
	if outfile != "" {
		return writeOutfile(outfile, res)
	}
	return res, nil
}

// explain returns the plan of a statement as rows of one column, plan.
func (s *Session) explain(ctx context.Context, st Statement, a *args) (*Result, error) {
	var lines []string
	ensureLine := func(groups []string) {
		if len(groups) == 0 {
			return
		}
		what := "stored values only (no Ensure hook)"
		if s.db.opts.Ensure != nil {
			if s.AutoCompute() {
				what = "compute when missing or stale"
			} else {
				what = "check freshness (auto_compute off)"
			}
		}
		lines = append(lines, fmt.Sprintf("insights(%s): %s", strings.Join(groups, ", "), what))
	}
	switch t := st.(type) {
	case *Select:
		_, p, groups, err := s.planSelect(ctx, t, a, false)
		if err != nil {
			return nil, err
		}
		ensureLine(groups)
		pl, err := p.explain()
		if err != nil {
			return nil, err
		}
		lines = append(lines, pl...)
		if t.Outfile != nil {
			v, err := a.literal(*t.Outfile)
			if err != nil {
				return nil, err
			}
			format := "npy"
			if isParquetFile(v.AsString()) {
				format = "parquet"
			} else if !isNpyFile(v.AsString()) {
				f, err := formatForFile(v.AsString())
				if err != nil {
					return nil, err
				}
				format = f.String()
			}
			lines = append(lines, fmt.Sprintf("into_outfile(%s, %s)", QuoteString(v.AsString()), format))
		}
	case *Update, *UpdateTags, *Delete:
		w, err := s.planWrite(ctx, st, a, false)
		if err != nil {
			return nil, err
		}
		ensureLine(w.groups)
		text, err := w.view.Explain()
		if err != nil {
			return nil, err
		}
		lines = append(lines, strings.Split(strings.TrimRight(text, "\n"), "\n")...)
		lines = append(lines, w.action)
	case *Insert:
		lines = append(lines, fmt.Sprintf("insert %d row(s) into %s, reading each file's metadata", insertRowCount(t), t.ast.Table.Name.String()))
	default:
		lines = append(lines, "run "+strings.Join(strings.Fields(st.SQL()), " "))
	}
	res := &Result{Columns: []Column{{Name: "plan", Type: TypeString}}, Rows: [][]db.Value{}}
	for _, l := range lines {
		res.Rows = append(res.Rows, []db.Value{db.String(l)})
	}
	return res, nil
}

func insertRowCount(t *Insert) int {
	if v, ok := t.ast.Rows.(sqlparser.Values); ok {
		return len(v)
	}
	return 0
}

func (s *Session) showDatasets(ctx context.Context) (*Result, error) {
	names, err := s.db.store.DatasetNames()
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: []Column{{Name: "name", Type: TypeString}, {Name: "samples", Type: TypeInt}}, Rows: [][]db.Value{}}
	for _, n := range names {
		ds, err := s.db.store.Dataset(n)
		if err != nil {
			continue // dropped meanwhile
		}
		c, err := ds.Count()
		if err != nil {
			continue
		}
		res.Rows = append(res.Rows, []db.Value{db.String(n), db.Int(c)})
	}
	return res, ctx.Err()
}

// describe shows a dataset's summary as (section, name, value) rows.
func (s *Session) describe(ctx context.Context, t *DescribeDataset) (*Result, error) {
	ds, err := s.dataset(t.Dataset)
	if err != nil {
		return nil, err
	}
	sum, err := ds.Summary(ctx)
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: []Column{{Name: "section", Type: TypeString}, {Name: "name", Type: TypeString}, {Name: "value", Type: TypeString}}, Rows: [][]db.Value{}}
	add := func(section, name, value string) {
		res.Rows = append(res.Rows, []db.Value{db.String(section), db.String(name), db.String(value)})
	}
	add("dataset", "name", sum.Name)
	add("dataset", "created", sum.Created.UTC().Format(time.RFC3339))
	add("dataset", "version", fmt.Sprint(sum.Version))
	add("dataset", "samples", fmt.Sprint(sum.Count))
	if ep, err := ds.MediaEndpoint(); err == nil && ep != "" {
		if now := db.ResolveS3Endpoint(ep); now != ep {
			ep += " (overridden by " + db.EnvS3Endpoint + ": " + now + ")"
		}
		add("dataset", "media endpoint", ep)
	}
	tags := make([]string, 0, len(sum.Tags))
	for tg := range sum.Tags {
		tags = append(tags, tg)
	}
	sort.Strings(tags)
	for _, tg := range tags {
		add("tag", tg, fmt.Sprint(sum.Tags[tg]))
	}
	for _, f := range sum.Fields {
		var kinds []string
		for _, k := range f.Kinds {
			kinds = append(kinds, k.String())
		}
		add("field", f.Path, strings.Join(kinds, ", "))
	}
	for _, r := range sum.Runs {
		if model := embeddingModel(r); model != "" {
			add("field", db.FieldInsights+"."+r.Key+"."+embeddingKey, "list (embeddings of model "+model+")")
		}
	}
	for _, ix := range sum.Indexes {
		add("index", ix, "")
	}
	for _, r := range sum.Runs {
		v := string(r.Status)
		if r.Model != "" {
			v += ", model " + r.Model
		}
		if len(r.Options) > 0 && string(r.Options) != "null" {
			v += ", options " + string(r.Options)
		}
		v += fmt.Sprintf(", dataset version %d, %d samples", r.DatasetVersion, r.SampleCount)
		if !r.Started.IsZero() {
			v += ", started " + r.Started.UTC().Format(time.RFC3339)
		}
		if !r.Ended.IsZero() && !r.Started.IsZero() {
			v += ", took " + r.Ended.Sub(r.Started).Round(time.Millisecond).String()
		}
		if r.Error != "" {
			v += ", error: " + r.Error
		}
		add("run", r.Key, v)
	}
	return res, nil
}

// embeddingModel is the model whose embeddings a complete run used, as its
// options name it; "" for a run that used a field's vectors or no model.
func embeddingModel(r db.RunRecord) string {
	if r.Status != db.RunComplete || r.Model == "" || strings.HasPrefix(r.Model, "field:") {
		return ""
	}
	var opts struct {
		Model string `json:"model"`
	}
	if json.Unmarshal(r.Options, &opts) != nil {
		return ""
	}
	return opts.Model
}

func (s *Session) createDataset(ctx context.Context, t *CreateDataset, a *args) (*Result, error) {
	var dir, endpoint string
	if t.FromImages != nil {
		v, err := a.literal(*t.FromImages)
		if err != nil {
			return nil, err
		}
		if v.Kind() != db.KindString || v.AsString() == "" {
			return nil, fmt.Errorf("%w: FROM IMAGES needs a folder name", ErrParam)
		}
		dir = v.AsString()
		if endpoint, err = s3Source(t, dir, a); err != nil {
			return nil, err
		}
		if !db.IsS3URL(dir) {
			fi, err := os.Stat(dir)
			if err != nil {
				return nil, fmt.Errorf("CREATE DATASET %s FROM IMAGES %s: %w", t.Dataset, QuoteString(dir), err)
			}
			if !fi.IsDir() {
				return nil, fmt.Errorf("CREATE DATASET %s FROM IMAGES %s: %w: not a folder", t.Dataset, QuoteString(dir), ErrInput)
			}
		}
	}
	ds, err := s.db.store.CreateDataset(t.Dataset)
	created := err == nil
	switch {
	case errors.Is(err, db.ErrExists) && t.IfNotExists:
		if dir == "" {
			return &Result{Message: fmt.Sprintf("dataset %s exists", t.Dataset)}, nil
		}
		if ds, err = s.db.store.Dataset(t.Dataset); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	}
	if dir == "" {
		return &Result{Message: "created dataset " + t.Dataset}, nil
	}
	op := "ingest " + dir
	ir, err := ds.AddImages(ctx, dir, db.IngestOptions{
		Scan: db.ScanOptions{Recursive: t.Recursive, Endpoint: endpoint},
		Progress: func(p db.IngestProgress) {
			s.progress(Progress{Op: op, Done: int64(p.Seen),
				Detail: fmt.Sprintf("%d added, %d already there, %d skipped", p.Added, p.Existing, p.Skipped)})
		},
	})
	if err != nil {
		// All or nothing: the ingest took back what it added, and a
		// dataset this statement created goes too.
		var undo error
		if created {
			undo = s.db.store.DeleteDataset(t.Dataset)
		}
		if undo != nil {
			return nil, fmt.Errorf("%w (and removing what was added to dataset %s failed: %v)", err, t.Dataset, undo)
		}
		return nil, err
	}
	res := &Result{RowsAffected: int64(len(ir.Added)), InsertedIDs: ir.Added}
	for _, sk := range ir.Skipped {
		res.Warnings = append(res.Warnings, fmt.Sprintf("skipped %s: %s", sk.Path, sk.Reason))
	}
	verb := "created dataset"
	if !created {
		verb = "added to dataset"
	}
	res.Message = fmt.Sprintf("%s %s: %d images added", verb, t.Dataset, len(ir.Added))
	if ir.Existing > 0 {
		res.Message += fmt.Sprintf(", %d already there", ir.Existing)
	}
	if len(ir.Skipped) > 0 {
		res.Message += fmt.Sprintf(", %d files skipped", len(ir.Skipped))
	}
	if !t.Recursive {
		res.Message += " (subfolders not read: add RECURSIVE)"
	}
	return res, nil
}

func (s *Session) dropDataset(t *DropDataset) (*Result, error) {
	if _, err := s.dataset(t.Dataset); err != nil {
		if t.IfExists && errors.Is(err, ErrUnknownDataset) {
			return &Result{Message: "no dataset " + t.Dataset}, nil
		}
		return nil, err
	}
	if err := s.db.store.DeleteDataset(t.Dataset); err != nil {
		return nil, err
	}
	return &Result{Message: "dropped dataset " + t.Dataset}, nil
}

// s3Source checks the WITH options of CREATE DATASET … FROM IMAGES dir and
// returns the endpoint option: only an s3://bucket/prefix source takes
// one, and only that option.
func s3Source(t *CreateDataset, dir string, a *args) (string, error) {
	what := fmt.Sprintf("CREATE DATASET %s FROM IMAGES %s", t.Dataset, QuoteString(dir))
	endpoint := ""
	for k, l := range t.Options {
		if k != "endpoint" {
			return "", fmt.Errorf("%s WITH (%s = …): %w: unknown option (known: endpoint)", what, k, ErrUnsupported)
		}
		v, err := a.literal(l)
		if err != nil {
			return "", fmt.Errorf("%s: option endpoint: %w", what, err)
		}
		if v.Kind() != db.KindString || v.AsString() == "" {
			return "", fmt.Errorf("%s: %w: endpoint must be a URL such as 'http://127.0.0.1:8333'", what, ErrParam)
		}
		endpoint = v.AsString()
	}
	if !db.IsS3URL(dir) {
		if endpoint != "" {
			return "", fmt.Errorf("%s: %w: endpoint is for an s3://bucket/prefix source, not a local folder", what, ErrParam)
		}
		return "", nil
	}
	if _, _, err := db.ParseS3URL(dir, true); err != nil {
		return "", fmt.Errorf("CREATE DATASET %s: %w: %w", t.Dataset, ErrInput, err)
	}
	if endpoint != "" {
		if err := db.CheckS3Endpoint(endpoint); err != nil {
			return "", fmt.Errorf("%s: %w: %w", what, ErrParam, err)
		}
	}
	return endpoint, nil
}

// options converts WITH (…) literals to Go values.
func optionValues(opts map[string]Literal, a *args) (map[string]any, error) {
	out := make(map[string]any, len(opts))
	for k, l := range opts {
		v, err := a.literal(l)
		if err != nil {
			return nil, fmt.Errorf("option %s: %w", k, err)
		}
		out[k] = v.Interface()
	}
	return out, nil
}

func (s *Session) loadZoo(ctx context.Context, t *LoadZoo, a *args) (*Result, error) {
	if s.db.opts.LoadZoo == nil {
		return nil, fmt.Errorf("LOAD ZOO DATASET %s: %w: this build has no dataset zoo wired in (query.Options.LoadZoo)", t.Name, ErrNotAvailable)
	}
	opts, err := optionValues(t.Options, a)
	if err != nil {
		return nil, err
	}
	req := ZooRequest{Name: t.Name, Split: t.Split, Dataset: t.Dataset, Options: opts}
	ds, err := s.db.opts.LoadZoo(ctx, s.db.store, req, s.progress)
	if err != nil {
		return nil, err
	}
	msg := "loaded zoo dataset " + t.Name
	if ds != nil {
		n, _ := ds.Count()
		msg = fmt.Sprintf("loaded zoo dataset %s into %s: %d samples", t.Name, ds.Name(), n)
	}
	return &Result{Message: msg}, nil
}

func (s *Session) compute(ctx context.Context, t *Compute, a *args) (*Result, error) {
	what := fmt.Sprintf("COMPUTE %s ON %s", strings.ToUpper(t.Group), t.Dataset)
	ds, err := s.dataset(t.Dataset)
	if err != nil {
		return nil, err
	}
	if keys := s.db.opts.InsightKeys; keys != nil {
		if _, ok := keys[t.Group]; !ok {
			groups := make([]string, 0, len(keys))
			for g := range keys {
				groups = append(groups, g)
			}
			sort.Strings(groups)
			hint := ""
			if near := nearest(t.Group, groups); near != "" {
				hint = fmt.Sprintf(" (did you mean %s?)", strings.ToUpper(near))
			}
			return nil, fmt.Errorf("%s: %w: nothing computes %s%s; fosql computes %s", what, ErrUnsupported,
				strings.ToUpper(t.Group), hint, strings.ToUpper(strings.Join(groups, ", ")))
		}
	}
	opts, err := optionValues(t.Options, a)
	if err != nil {
		return nil, err
	}
	if s.db.opts.Compute == nil {
		return nil, fmt.Errorf("%s: %w: this build has no brain wired in (query.Options.Compute)", what, ErrNotAvailable)
	}
	err = s.db.opts.Compute(ctx, ds, t.Group, insights.Request{Options: opts}, s.insightsProgress("compute "+t.Group))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return &Result{Message: fmt.Sprintf("computed insights.%s on %s", t.Group, t.Dataset)}, nil
}

// Settings that SET knows.
const (
	settingAutoCompute = "auto_compute"
	settingQueue       = "queue"
)

func (s *Session) set(t *SetVariable, a *args) (*Result, error) {
	v, err := a.literal(t.Value)
	if err != nil {
		return nil, err
	}
	if t.Database && t.Name != settingQueue {
		return nil, fmt.Errorf("%w: SET DATABASE keeps only the queue setting; %s is a setting of the session (SET %s = …)", ErrUnsupported, t.Name, t.Name)
	}
	switch t.Name {
	case settingAutoCompute:
		on, ok := truth(v)
		if !ok {
			return nil, fmt.Errorf("%w: auto_compute is on or off, not %s", ErrTypeMismatch, v)
		}
		s.SetAutoCompute(on)
		state := "off"
		if on {
			state = "on"
		}
		return &Result{Message: "auto_compute is " + state}, nil
	case settingQueue:
		q, err := queueSetting(v)
		if err != nil {
			return nil, err
		}
		scope := ""
		if t.Database {
			if err := s.db.store.SetSetting(settingQueue, q); err != nil {
				return nil, err
			}
			scope = " for every session of this database"
		}
		s.SetQueue(q)
		if q == "" {
			return &Result{Message: "queue is off" + scope + ": brain jobs run here"}, nil
		}
		return &Result{Message: "queue is " + q + scope}, nil
	}
	return nil, &NameError{Kind: "setting", Name: t.Name, Suggestion: nearest(t.Name, []string{settingAutoCompute, settingQueue})}
}

// queueSetting reads the value of SET queue: a nats:// URL (several,
// comma-separated), or off (or an empty string) for none.
func queueSetting(v db.Value) (string, error) {
	if v.Kind() != db.KindString {
		return "", fmt.Errorf("%w: queue is a nats://host:port URL or off, not %s", ErrTypeMismatch, v)
	}
	q := strings.TrimSpace(v.AsString())
	if q == "" || strings.EqualFold(q, "off") {
		return "", nil
	}
	if err := (brain.QueueOptions{URL: q}).Validate(); err != nil {
		return "", err
	}
	return q, nil
}

// truth reads on/off, true/false, yes/no, 1/0.
func truth(v db.Value) (bool, bool) {
	switch v.Kind() {
	case db.KindBool:
		return v.AsBool(), true
	case db.KindInt:
		if n := v.AsInt(); n == 0 || n == 1 {
			return n == 1, true
		}
	case db.KindString:
		switch strings.ToLower(v.AsString()) {
		case "on", "true", "yes", "1", "default":
			return true, true
		case "off", "false", "no", "0":
			return false, true
		}
	}
	return false, false
}

// absPath makes a file path absolute and clean, as sample filepaths are;
// an s3:// URL stays as it is.
func absPath(p string) (string, error) {
	if db.IsS3URL(p) {
		return p, nil // an object's URL is already absolute
	}
	if strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, p[2:])
		}
	}
	return filepath.Abs(p)
}
