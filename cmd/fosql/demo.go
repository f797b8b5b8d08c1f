package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/fosql/fosql/db"
	"github.com/fosql/fosql/query"
	"github.com/fosql/fosql/zoo"
)

// runDemo is the walkthrough on the offline synthetic dataset: generate
// images with planted near-duplicates, ingest them, compute uniqueness
// through a query, look at both ends of the ranking, tag the
// near-duplicates, export the most unique, and check the planted copies
// against the ranking. Everything after the image generation is SQL.
func runDemo(ctx context.Context, args []string) error {
	return demo(ctx, args, os.Stdout, os.Stderr)
}

func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("fosql demo", flag.ContinueOnError)
	flags.SetOutput(stderr)
	dir := flags.String("dir", "fosql-demo", "folder for the images, the database and the export")
	n := flags.Int("n", 1000, "number of synthetic images (4% are planted copies)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if strings.TrimSpace(*dir) == "" {
		return errors.New("-dir is empty; name a folder for the demo's images and database")
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	images := filepath.Join(abs, fmt.Sprintf("images-%d", *n))

	set, err := zoo.LoadSyntheticSet(images)
	if err != nil || len(set.Images) != *n {
		if err := os.RemoveAll(images); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Generating %d synthetic images with planted near-duplicates in %s\n", *n, images)
		set, err = zoo.GenerateSynthetic(ctx, images, zoo.SyntheticOptions{N: *n, Seed: 1})
		if err != nil {
			return err
		}
	}
	copies := set.Copies()
	fmt.Fprintf(stdout, "%d images, %d of them planted copies (crop, jpeg, brightness, resize, rotate, mirror, exact)\n", len(set.Images), len(copies))

	dbDir := filepath.Join(abs, "db")
	prog := newProgressPrinter(stderr, isTerminal(stderr))
	d, err := query.Open(dbDir, &query.Options{Progress: prog.report})
	if err != nil {
		return err
	}
	defer d.Close()
	out := filepath.Join(abs, "top10.csv")
	if err := os.Remove(out); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}

	show := func(sql string) (*query.Result, error) {
		fmt.Fprintf(stdout, "\nfosql> %s\n", sql)
		res, err := d.Exec(ctx, sql)
		prog.done()
		if err != nil {
			return nil, err
		}
		for _, w := range res.Warnings {
			fmt.Fprintln(stderr, w)
		}
		if res.HasRows() {
			if err := res.Write(stdout, query.FormatTable); err != nil {
				return nil, err
			}
		}
		if res.Message != "" {
			fmt.Fprintln(stdout, res.Message)
		}
		return res, nil
	}
	var steps []string
	if _, err := d.Store().Dataset("walkthrough"); err == nil {
		steps = append(steps, "DROP DATASET walkthrough")
	} else if !errors.Is(err, db.ErrNotFound) {
		return err
	}
	steps = append(steps,
		fmt.Sprintf("CREATE DATASET walkthrough FROM IMAGES %s RECURSIVE", query.QuoteString(images)),
		"DESCRIBE walkthrough",
		"SELECT id, filepath, insights.uniqueness.scalar FROM walkthrough ORDER BY insights.uniqueness.scalar DESC LIMIT 10",
	)
	for _, s := range steps {
		if _, err := show(s); err != nil {
			return err
		}
	}
	for _, s := range []string{
		"SELECT filepath, insights.uniqueness.scalar, insights.uniqueness.nearest_id, insights.uniqueness.nearest_dist FROM walkthrough ORDER BY insights.uniqueness.scalar ASC LIMIT 10",
		"UPDATE walkthrough ADD TAG 'dup' WHERE insights.uniqueness.nearest_dist < 0.02",
		"SELECT count(*) FROM walkthrough WHERE 'dup' IN tags",
		"SELECT tag, count(*) FROM walkthrough GROUP BY tag",
		"EXPLAIN SELECT id, filepath FROM walkthrough ORDER BY insights.uniqueness.scalar DESC LIMIT 10",
		fmt.Sprintf("SELECT id, filepath FROM walkthrough ORDER BY insights.uniqueness.scalar DESC LIMIT 10 INTO OUTFILE %s", query.QuoteString(out)),
	} {
		if _, err := show(s); err != nil {
			return err
		}
	}
	least := len(set.Images) / 10
	low, err := d.Exec(ctx, "SELECT filepath FROM walkthrough ORDER BY insights.uniqueness.scalar ASC LIMIT ?", least)
	if err != nil {
		return err
	}
	found := map[string]bool{}
	for _, row := range low.Rows {
		found[row[0].AsString()] = true
	}

	// How well did the ranking find the planted copies?
	hit := 0
	byKind := map[string][2]int{}
	for _, c := range copies {
		k := byKind[c.Kind]
		k[1]++
		if found[c.Path] {
			hit++
			k[0]++
		}
		byKind[c.Kind] = k
	}
	fmt.Fprintf(stdout, "\nPlanted copies among the %d least unique samples: %d of %d\n", least, hit, len(copies))
	for _, kind := range zoo.CopyKinds() {
		k := byKind[kind]
		fmt.Fprintf(stdout, "  %-10s %d/%d\n", kind, k[0], k[1])
	}
	fmt.Fprintf(stdout, "The ten most unique samples are in %s; the database is %s.\n", out, dbDir)
	return nil
}
