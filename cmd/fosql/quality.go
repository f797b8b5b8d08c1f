package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/fosql/fosql/zoo/quality"
)

// runQuality is `fosql quality` (make quality): the ranking-quality
// benchmark — planted near-duplicates and rare content on Debian's image
// collections, scored for every fosql model beside pHash and dHash — with
// its tables printed as markdown on stdout. It returns the exit status.
func runQuality(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fosql quality", flag.ContinueOnError)
	fs.SetOutput(stderr)
	most := fs.Int("n", 1000, "most originals per collection")
	seed := fs.Uint64("seed", 1, "seed of the originals, transforms and pools")
	methods := fs.String("methods", "", "comma-separated methods (default: every model, then phash and dhash)")
	pools := fs.Int("pools", 40, "rare-content pools per trial")
	poolSize := fs.Int("pool-size", 200, "samples of the majority class per pool")
	collections := fs.String("collections", "", "comma-separated collections (default: "+strings.Join(quality.DefaultCollections, ",")+"; also "+quality.Openclipart+")")
	dir := fs.String("dir", "", "work folder for the copies and their ground truth (default: a temporary folder, removed)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	work := *dir
	if work == "" {
		tmp, err := os.MkdirTemp("", "fosql-quality-")
		if err != nil {
			fmt.Fprintln(stderr, "fosql quality:", err)
			return 1
		}
		defer os.RemoveAll(tmp)
		work = tmp
	}
	o := quality.Options{Dir: work, Max: *most, Seed: *seed, Pools: *pools, PoolSize: *poolSize,
		Log: func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) }}
	if *methods != "" {
		o.Methods = strings.Split(*methods, ",")
	}
	if *collections != "" {
		o.Collections = strings.Split(*collections, ",")
	}
	rep, err := quality.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, "fosql quality:", err)
		return 1
	}
	host, _ := os.Hostname()
	run := "make quality"
	if *collections != "" {
		run = "fosql quality -collections " + *collections
	}
	fmt.Fprintf(stdout, "## Ranking quality (%s: up to %d originals per collection, seed %d; %s, %d cores; %v)\n",
		run, *most, *seed, host, runtime.NumCPU(), rep.Took.Round(1e9))
	rep.WriteMarkdown(stdout)
	return 0
}
