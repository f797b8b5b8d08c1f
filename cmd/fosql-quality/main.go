// Command fosql-quality runs the ranking-quality benchmark (make quality):
// planted near-duplicates and rare content on Debian's image collections,
// scored for every fosql model beside pHash and dHash, printed as markdown
// tables.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"

	"github.com/fosql/fosql/zoo/quality"
)

func main() {
	most := flag.Int("n", 1000, "most originals per collection")
	seed := flag.Uint64("seed", 1, "seed of the originals, transforms and pools")
	methods := flag.String("methods", "", "comma-separated methods (default: every model, then phash and dhash)")
	pools := flag.Int("pools", 40, "rare-content pools per trial")
	poolSize := flag.Int("pool-size", 200, "samples of the majority class per pool")
	dir := flag.String("dir", "", "work folder for the copies and their ground truth (default: a temporary folder, removed)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	work := *dir
	if work == "" {
		tmp, err := os.MkdirTemp("", "fosql-quality-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "fosql-quality:", err)
			os.Exit(1)
		}
		defer os.RemoveAll(tmp)
		work = tmp
	}
	o := quality.Options{Dir: work, Max: *most, Seed: *seed, Pools: *pools, PoolSize: *poolSize,
		Log: func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }}
	if *methods != "" {
		o.Methods = strings.Split(*methods, ",")
	}
	rep, err := quality.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fosql-quality:", err)
		os.Exit(1)
	}
	host, _ := os.Hostname()
	fmt.Printf("## Ranking quality (make quality: up to %d originals per collection, seed %d; %s, %d cores; %v)\n",
		*most, *seed, host, runtime.NumCPU(), rep.Took.Round(1e9))
	rep.WriteMarkdown(os.Stdout)
}
