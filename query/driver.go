package query

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/url"
	"reflect"
	"strings"
	"sync"

	"github.com/fosql/fosql/db"
)

// DriverName is the name the database/sql driver registers under.
const DriverName = "fosql"

func init() { sql.Register(DriverName, &Driver{}) }

// Driver is the database/sql driver "fosql". The data source name is a
// database directory (created when missing) or ":memory:", optionally
// followed by settings: "/data/fosql.db?auto_compute=off". An empty path
// is an error, never an in-memory database.
//
// sql.Open uses OpenConnector: the connector of one sql.DB opens the
// database once and all its pooled connections share that handle (so they
// never fight over the directory lock), and ":memory:" is one private
// database per sql.DB. Each connection is a session with its own SET
// settings.
type Driver struct{}

// ErrTxNotSupported is returned by Begin: statements are atomic on their
// own, and there are no multi-statement transactions.
var ErrTxNotSupported = errors.New("fosql: transactions are not supported; each statement is atomic on its own")

// Open opens a connection that owns its own database handle (closing the
// connection closes the database). database/sql does not call it; it uses
// OpenConnector.
func (d *Driver) Open(name string) (driver.Conn, error) {
	c, err := d.OpenConnector(name)
	if err != nil {
		return nil, err
	}
	cn, err := c.Connect(context.Background())
	if err != nil {
		return nil, err
	}
	conn := cn.(*conn)
	conn.owner = c.(*Connector)
	return conn, nil
}

// OpenConnector parses the data source name; the database opens on the
// first connection.
func (d *Driver) OpenConnector(name string) (driver.Connector, error) {
	path, opts, err := parseDSN(name)
	if err != nil {
		return nil, err
	}
	return &Connector{path: path, opts: opts, owned: true}, nil
}

// parseDSN splits "path?key=value&…" into the path and options.
func parseDSN(name string) (string, Options, error) {
	var o Options
	path, query, found := strings.Cut(name, "?")
	if strings.TrimSpace(path) == "" {
		return "", o, fmt.Errorf("fosql: data source %q: %w: the database path is empty (use %q for a private in-memory database)", name, db.ErrInvalid, db.MemoryPath)
	}
	if !found {
		return path, o, nil
	}
	vals, err := url.ParseQuery(query)
	if err != nil {
		return "", o, fmt.Errorf("fosql: data source %q: %w", name, err)
	}
	for k, vs := range vals {
		v := vs[len(vs)-1]
		switch strings.ToLower(k) {
		case settingAutoCompute:
			on, ok := truth(db.String(v))
			if !ok {
				return "", o, fmt.Errorf("fosql: data source %q: auto_compute=%s: want on or off", name, v)
			}
			o.AutoCompute = &on
		case settingQueue:
			q, err := queueSetting(db.String(v))
			if err != nil {
				return "", o, fmt.Errorf("fosql: data source %q: %w", name, err)
			}
			o.Queue = q
		default:
			return "", o, fmt.Errorf("fosql: data source %q: unknown setting %q (known: auto_compute, queue)", name, k)
		}
	}
	return path, o, nil
}

// Connector makes the connections of one sql.DB. They share one DB.
type Connector struct {
	path  string
	opts  Options
	owned bool

	mu     sync.Mutex
	db     *DB
	closed bool
}

// NewConnector serves connections from a DB that is already open (with
// its Options, hooks included): sql.OpenDB(query.NewConnector(d)).
// Closing the sql.DB leaves d open.
func NewConnector(d *DB) *Connector { return &Connector{db: d} }

// Connect returns a new session on the connector's database, opening the
// database first if needed.
func (c *Connector) Connect(ctx context.Context) (driver.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, driver.ErrBadConn
	}
	if c.db == nil {
		d, err := Open(c.path, &c.opts)
		if err != nil {
			return nil, err
		}
		c.db = d
	}
	return &conn{s: c.db.NewSession()}, nil
}

// Driver returns the fosql driver.
func (c *Connector) Driver() driver.Driver { return &Driver{} }

// Close closes the database the connector opened; database/sql calls it
// from sql.DB.Close.
func (c *Connector) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.db != nil && c.owned {
		err := c.db.Close()
		c.db = nil
		return err
	}
	return nil
}

// conn is one database/sql connection: a session.
type conn struct {
	s     *Session
	owner *Connector // set by Driver.Open: closed with the connection
}

var (
	_ driver.Conn               = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.DriverContext      = (*Driver)(nil)
)

// Prepare implements driver.Conn.
func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext parses the statement now, so syntax errors show at
// Prepare.
func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	sc, err := parseCached(query)
	if err != nil {
		return nil, err
	}
	return &stmt{c: c, sc: sc}, nil
}

// Close ends the session; the database stays open for the connector's
// other connections (a connection from Driver.Open closes it).
func (c *conn) Close() error {
	if c.owner != nil {
		return c.owner.Close()
	}
	return nil
}

// Begin refuses: see ErrTxNotSupported.
func (c *conn) Begin() (driver.Tx, error) { return nil, ErrTxNotSupported }

// BeginTx refuses: see ErrTxNotSupported.
func (c *conn) BeginTx(context.Context, driver.TxOptions) (driver.Tx, error) {
	return nil, ErrTxNotSupported
}

// Ping checks that the database answers.
func (c *conn) Ping(ctx context.Context) error {
	_, err := c.s.db.store.DatasetNames()
	return err
}

// CheckNamedValue accepts every argument type the Go API binds (lists
// such as []string, db.Value, …) as well as database/sql's own.
func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	_, err := toValue(nv.Value)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrParam, err)
	}
	return nil
}

// QueryContext runs a script and returns the last statement's rows.
func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	sc, err := parseCached(query)
	if err != nil {
		return nil, err
	}
	return c.query(ctx, sc, args)
}

// ExecContext runs a script and returns the last statement's count.
func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	sc, err := parseCached(query)
	if err != nil {
		return nil, err
	}
	return c.exec(ctx, sc, args)
}

func goArgs(args []driver.NamedValue) []any {
	out := make([]any, len(args))
	for i, a := range args {
		if a.Name != "" {
			out[i] = sql.Named(a.Name, a.Value)
		} else {
			out[i] = a.Value
		}
	}
	return out
}

// run runs the script and returns its last result. With stream, a plain
// row query's rows are left to be read (nothing runs after the last
// statement, so its stream stays valid); earlier results are dropped.
func (c *conn) run(ctx context.Context, sc *script, args []driver.NamedValue, stream bool) (*Result, error) {
	var last *Result
	err := c.s.runStatements(ctx, sc.stmts, goArgs(args), stream, func(_ Statement, r *Result) error {
		last = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	if last == nil {
		last = &Result{}
	}
	return last, nil
}

func (c *conn) query(ctx context.Context, sc *script, args []driver.NamedValue) (driver.Rows, error) {
	r, err := c.run(ctx, sc, args, true)
	if err != nil {
		return nil, err
	}
	rs := &rows{res: r}
	if r.stream != nil {
		// Rows are read as database/sql asks for them; Close stops the
		// scan.
		stream := r.stream
		r.stream = nil
		rs.next, rs.stop = iter.Pull(func(yield func([]db.Value) bool) {
			rs.err = stream(yield)
		})
	}
	return rs, nil
}

func (c *conn) exec(ctx context.Context, sc *script, args []driver.NamedValue) (driver.Result, error) {
	r, err := c.run(ctx, sc, args, false)
	if err != nil {
		return nil, err
	}
	return execResult{r}, nil
}

// stmt is a prepared script.
type stmt struct {
	c  *conn
	sc *script
}

// Close implements driver.Stmt; a prepared script holds no resources.
func (s *stmt) Close() error { return nil }

// NumInput is the number of ? placeholders; -1 when :name placeholders
// are used (database/sql then does not count arguments).
func (s *stmt) NumInput() int {
	if s.sc.named {
		return -1
	}
	return s.sc.params
}

// Exec implements driver.Stmt.
func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.c.exec(context.Background(), s.sc, valuesToNamed(args))
}

// Query implements driver.Stmt.
func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.c.query(context.Background(), s.sc, valuesToNamed(args))
}

// ExecContext runs the prepared script.
func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.c.exec(ctx, s.sc, args)
}

// QueryContext runs the prepared script and returns its last rows.
func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.c.query(ctx, s.sc, args)
}

// CheckNamedValue accepts what the connection accepts.
func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error { return s.c.CheckNamedValue(nv) }

func valuesToNamed(args []driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(args))
	for i, a := range args {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return out
}

// execResult is the driver.Result of a statement.
type execResult struct{ r *Result }

// LastInsertId is not available: sample ids are 24-character strings.
func (e execResult) LastInsertId() (int64, error) {
	return 0, errors.New("fosql: sample ids are strings, not integers; SELECT id … to read them")
}

// RowsAffected is the number of samples the statement changed.
func (e execResult) RowsAffected() (int64, error) { return e.r.RowsAffected, nil }

// rows serves a result set to database/sql, from res.Rows or, for a
// streamed result, from next.
type rows struct {
	res  *Result
	i    int
	next func() ([]db.Value, bool)
	stop func()
	err  error // the stream's error, once next reports the end
}

var (
	_ driver.RowsColumnTypeDatabaseTypeName = (*rows)(nil)
	_ driver.RowsColumnTypeScanType         = (*rows)(nil)
	_ driver.RowsColumnTypeNullable         = (*rows)(nil)
)

// Columns returns the column names.
func (r *rows) Columns() []string { return r.res.ColumnNames() }

// Close releases the rows.
func (r *rows) Close() error {
	r.i = len(r.res.Rows)
	if r.stop != nil {
		r.stop()
	}
	return nil
}

// Next converts the next row for database/sql.
func (r *rows) Next(dest []driver.Value) error {
	var row []db.Value
	if r.next != nil {
		var ok bool
		if row, ok = r.next(); !ok {
			if r.err != nil {
				return r.err
			}
			return io.EOF
		}
	} else {
		if r.i >= len(r.res.Rows) {
			return io.EOF
		}
		row = r.res.Rows[r.i]
		r.i++
	}
	for i := range dest {
		dest[i] = driverValue(row[i], r.res.Columns[i].Type)
	}
	return nil
}

// ColumnTypeDatabaseTypeName reports TEXT, INTEGER, REAL, BOOLEAN, LIST,
// JSON or ANY.
func (r *rows) ColumnTypeDatabaseTypeName(i int) string {
	return r.res.Columns[i].Type.DatabaseTypeName()
}

var (
	typeString  = reflect.TypeFor[string]()
	typeInt64   = reflect.TypeFor[int64]()
	typeFloat64 = reflect.TypeFor[float64]()
	typeBool    = reflect.TypeFor[bool]()
	typeAny     = reflect.TypeFor[any]()
)

// ColumnTypeScanType reports the Go type a column scans into: string,
// int64, float64, bool, string (JSON text for lists and documents), or
// any for mixed columns. Values may be NULL (scan into sql.Null… or a
// pointer for those).
func (r *rows) ColumnTypeScanType(i int) reflect.Type {
	switch r.res.Columns[i].Type {
	case TypeString, TypeList, TypeJSON:
		return typeString
	case TypeInt:
		return typeInt64
	case TypeFloat:
		return typeFloat64
	case TypeBool:
		return typeBool
	}
	return typeAny
}

// ColumnTypeNullable reports that every column but id may hold NULL.
func (r *rows) ColumnTypeNullable(i int) (nullable, ok bool) {
	return r.res.Columns[i].Name != db.FieldID, true
}

// driverValue converts a value for database/sql: nil, string, int64,
// float64, bool, or JSON text for lists and documents.
func driverValue(v db.Value, t ColumnType) driver.Value {
	switch v.Kind() {
	case db.KindMissing, db.KindNull:
		return nil
	case db.KindString:
		return v.AsString()
	case db.KindBool:
		return v.AsBool()
	case db.KindInt:
		if t == TypeFloat {
			return v.AsFloat()
		}
		return v.AsInt()
	case db.KindFloat:
		return v.AsFloat()
	}
	return string(AppendJSON(nil, v))
}
