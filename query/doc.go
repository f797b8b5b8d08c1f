// Package query is fosql's SQL: it parses statements, binds them to a
// dataset's fields, plans them onto views, runs them, and returns result
// sets. It also registers the database/sql driver "fosql".
//
// # From text to rows
//
// A script is cut at its semicolons by a small lexer that knows MySQL's
// strings, back-quoted names and comments (and reads a UTF-8 byte-order
// mark as a blank). Each statement then takes one
// of two roads.
//
// The dataset statements that MySQL's grammar has no words for (SHOW
// DATASETS, DESCRIBE, CREATE DATASET … FROM IMAGES, DROP DATASET, LOAD ZOO
// DATASET, COMPUTE, SET, UPDATE … ADD TAG / REMOVE TAG, EXPLAIN) are
// recognised by their leading keywords and parsed here into statement
// structs (*CreateDataset, *Compute, …).
//
// Standard statements (SELECT, INSERT, UPDATE … SET, DELETE) go through
// github.com/xwb1989/sqlparser, after a rewrite of their tokens — never of
// raw text, so strings are untouched — into forms that grammar reads:
// dotted names of any length become one back-quoted name
// (insights.uniqueness.scalar would otherwise be read as schema, table and
// column, and four parts not at all); tag membership, 'dup' IN tags,
// becomes a function call; each ? becomes a named bind variable; INTO
// OUTFILE 'file' is taken off. The rewrite remembers where every byte it
// writes came from, so a syntax error that sqlparser reports ("at position
// N near 'tok'") is turned back into a line, a column and a caret under
// what the user wrote, with a hint when the token or the one before looks
// like a misspelt keyword.
//
// The binder resolves names against the dataset's schema (suggesting the
// nearest name for an unknown one), checks that values can be compared
// with the fields they meet, and builds a views.View: a match_tags stage
// for each top-level 'x' IN tags, a select stage for id = … or id IN (…),
// a text_match stage for MATCH … AGAINST, one match stage for the rest,
// then sort, skip and limit. The views package plans and runs it; the
// query package projects columns, aggregates (count, min, max, avg, sum),
// groups (GROUP BY a field, or tag for one group per tag), filters groups
// (HAVING) and writes INTO OUTFILE. SQL never reads storage itself.
//
// # Computed columns
//
// A statement that names an insights.<group>.… path calls Options.Ensure
// with the groups and the session's auto_compute setting before it runs,
// once the whole statement has bound against the schema as it is (the
// keys a provider will write come from Options.InsightKeys), so that a
// misspelt name never waits for a job;
// the insights registry decides whether to compute or to fail with a
// freshness error. COMPUTE and LOAD ZOO call Options.Compute and
// Options.LoadZoo; without those hooks they fail with ErrNotAvailable.
//
// # Results
//
// Every statement returns a *Result: typed columns and rows for queries, a
// count and a message for the others. Result.Write renders a table, TSV,
// CSV, JSON or JSON lines; the shell and INTO OUTFILE use the same
// renderers.
//
// # Errors
//
// Syntax errors are *SyntaxError, unknown names *NameError, a statement
// over one of the limits (MaxStatementBytes and the others in limits.go,
// checked while the statement is lexed, before sqlparser sees it)
// *LimitError, wrapping ErrTooLarge; the sentinel
// errors (ErrTypeMismatch, ErrUnsupported, ErrNotAvailable, ErrFileExists,
// …) are wrapped where callers branch on them. A panic while a statement
// runs is recovered and returned as ErrInternal.
package query
