package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/fosql/fosql/cmd/fosql/dashboard"
	"github.com/fosql/fosql/query"
)

// runServe is `fosql serve`: the local web dashboard over a database.
func runServe(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("fosql serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	resolveDB := dbPathFlag(fs, "database directory (created when missing)")
	addr := fs.String("addr", "127.0.0.1:5151", "address to listen on (loopback by default: the dashboard has no login)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: fosql serve [-db DIR] [-addr HOST:PORT]")
		fmt.Fprintln(stderr, "\nA web page over the database: the first dataset's samples, least unique first;")
		fmt.Fprintln(stderr, "pages of thumbnails, each sample beside its nearest neighbour, a histogram and")
		fmt.Fprintln(stderr, "an embeddings map to select with the mouse, and tags. The selection is stored:")
		fmt.Fprintln(stderr, "SQL reads it as WHERE id IN SELECTION. It answers only requests addressed to it")
		fmt.Fprintln(stderr, "and changes data only for its own page, which holds a random token (docs/dashboard.md).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	dbPath, err := resolveDB()
	if err != nil {
		fmt.Fprintln(stderr, "fosql serve:", err)
		return 1
	}
	d, err := query.Open(dbPath, nil)
	if err != nil {
		fmt.Fprintln(stderr, "fosql serve:", err)
		return 1
	}
	defer d.Close()
	run, err := dashboard.Start(d, *addr, nil)
	if err != nil {
		fmt.Fprintln(stderr, "fosql serve:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	fmt.Fprintf(stderr, "fosql: the dashboard of %s is at %s (Ctrl-C stops it)\n", dbPath, run.URL)
	if err := run.Wait(ctx); err != nil {
		fmt.Fprintln(stderr, "fosql serve:", err)
		return 1
	}
	return 0
}
