package quality

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/fosql/fosql/zoo"
)

// fashionCandidates is how many Fashion-MNIST test pictures are listed:
// the originals are drawn from them, and so are the rare-content pools
// (about 500 per class).
const fashionCandidates = 5000

// Options configure Run.
type Options struct {
	// Dir is the work folder for the planted copies and ground truth.
	Dir string
	// Max is the most originals per collection (0: all).
	Max int
	// Seed draws originals, transforms and pools.
	Seed uint64
	// Methods are the method names to score (when empty: the models of
	// Models this machine has, then Peers).
	Methods []string
	// Collections are the collections to score (when empty:
	// DefaultCollections).
	Collections []string
	// CacheDir is the zoo's cache for Fashion-MNIST ("" for its default).
	CacheDir string
	// Pools is the number of rare-content pools per trial, PoolSize the
	// samples of the majority class in each.
	Pools, PoolSize int
	// Log receives progress lines; nil for none.
	Log func(format string, args ...any)
}

// Report is a full run's results.
type Report struct {
	Collections []*Collection
	Absent      []string              // collections not installed, with the reason
	Figures     map[string][]*Figures // per collection, one per method
	Combined    []*Figures
	Rare        map[string][]*RareFigures // per trial, one per method
	RareTrials  []string
	Took        time.Duration
}

// Run builds a near-duplicate set of every installed collection, scores
// every method on each, and runs the rare-content trials: Fashion-MNIST
// classes, Tux Paint's symbols stamps (its only category of more than 200)
// with one stamp of another category, and stamps with one wallpaper among
// them.
func Run(ctx context.Context, o Options) (*Report, error) {
	start := time.Now()
	log := o.Log
	if log == nil {
		log = func(string, ...any) {}
	}
	methods := o.Methods
	if len(methods) == 0 {
		methods = append(AvailableModels(), Peers...)
	}
	rep := &Report{Figures: map[string][]*Figures{}, Rare: map[string][]*RareFigures{}}
	loaders := map[string]func() (*Collection, error){
		Tuxpaint:    func() (*Collection, error) { return LoadTuxpaint(TuxpaintDir) },
		Wallpapers:  func() (*Collection, error) { return LoadWallpapers(WallpaperDirs) },
		Fashion:     func() (*Collection, error) { return LoadFashion(ctx, o.CacheDir, fashionCandidates) },
		Openclipart: func() (*Collection, error) { return LoadOpenclipart(OpenclipartDir) },
	}
	names := o.Collections
	if len(names) == 0 {
		names = DefaultCollections
	}
	for _, name := range names {
		load, ok := loaders[name]
		if !ok {
			return nil, fmt.Errorf("quality: no collection %q (collections: %s, %s, %s, %s)", name, Tuxpaint, Wallpapers, Fashion, Openclipart)
		}
		t0 := time.Now()
		c, err := load()
		if errors.Is(err, ErrAbsent) {
			rep.Absent = append(rep.Absent, err.Error())
			log("skipped: %v", err)
			continue
		}
		if err != nil {
			return nil, err
		}
		rep.Collections = append(rep.Collections, c)
		log("%s: %d distinct pictures listed (%v)", c.Name, len(c.Originals), time.Since(t0).Round(time.Millisecond))
	}
	opened := map[string]Method{}
	defer func() {
		for _, m := range opened {
			m.Close()
		}
	}()
	for _, name := range methods {
		m, err := Open(name)
		if err != nil {
			return nil, err
		}
		opened[name] = m
	}
	combined := make([]*Figures, len(methods))
	for i, name := range methods {
		combined[i] = &Figures{Method: name}
	}
	for _, c := range rep.Collections {
		t0 := time.Now()
		set, err := Build(ctx, c, filepath.Join(o.Dir, c.Name), BuildOptions{Max: o.Max, Seed: o.Seed})
		if err != nil {
			return nil, err
		}
		log("%s: %d originals, %d copies planted, %d natural duplicates left out (%v)", c.Name, len(set.Samples)-set.Copies, set.Copies,
			c.Natural, time.Since(t0).Round(time.Millisecond))
		paths := make([]string, len(set.Samples))
		for i, s := range set.Samples {
			paths[i] = s.Path
		}
		emb := newEmbedder(paths)
		for i, name := range methods {
			t0 := time.Now()
			space, err := emb.space(ctx, name, opened[name])
			if err != nil {
				return nil, err
			}
			t1 := time.Now()
			f, err := EvaluateRounds(ctx, name, set, space)
			if err != nil {
				return nil, err
			}
			rep.Figures[c.Name] = append(rep.Figures[c.Name], f)
			combined[i].Add(f)
			log("%s: %s: nn %.1f%% (embed %v, rank %v)", c.Name, name, pct(f.Total.NN, f.Total.Copies),
				t1.Sub(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
		}
	}
	rep.Combined = combined
	if err := runRare(ctx, o, rep, methods, opened, log); err != nil {
		return nil, err
	}
	rep.Took = time.Since(start)
	return rep, nil
}

// runRare runs the rare-content trials whose collections are installed.
func runRare(ctx context.Context, o Options, rep *Report, methods []string, opened map[string]Method, log func(string, ...any)) error {
	byName := map[string]*Collection{}
	for _, c := range rep.Collections {
		byName[c.Name] = c
	}
	type trial struct {
		name       string
		candidates []Original
		oddFrom    func(string) bool
	}
	var trials []trial
	if f := byName[Fashion]; f != nil {
		trials = append(trials, trial{name: "fashion-mnist: one class among another", candidates: f.Originals})
	}
	if t := byName[Tuxpaint]; t != nil {
		trials = append(trials, trial{name: "tuxpaint-stamps: one stamp of another category among symbols", candidates: t.Originals,
			oddFrom: func(l string) bool { return l != "symbols" }})
	}
	if t, w := byName[Tuxpaint], byName[Wallpapers]; t != nil && w != nil {
		cands := append(relabel(t.Originals, "stamp"), w.Originals...)
		trials = append(trials, trial{name: "tuxpaint-stamps + wallpapers: one wallpaper among stamps", candidates: cands,
			oddFrom: func(l string) bool { return l == "wallpaper" }})
	}
	for _, tr := range trials {
		pools, err := RarePools(tr.candidates, o.PoolSize, o.Pools, o.Seed, tr.oddFrom)
		if err != nil {
			return fmt.Errorf("%s: %w", tr.name, err)
		}
		used := map[int]bool{}
		for _, p := range pools {
			for _, r := range p.Rows {
				used[r] = true
			}
		}
		// Embed only the candidates some pool uses.
		var rows []int
		for r := range tr.candidates {
			if used[r] {
				rows = append(rows, r)
			}
		}
		at := map[int]int{}
		paths := make([]string, len(rows))
		for i, r := range rows {
			at[r], paths[i] = i, tr.candidates[r].Path
		}
		for i := range pools {
			for j, r := range pools[i].Rows {
				pools[i].Rows[j] = at[r]
			}
			pools[i].Odd = at[pools[i].Odd]
		}
		rep.RareTrials = append(rep.RareTrials, tr.name)
		emb := newEmbedder(paths)
		for _, name := range methods {
			space, err := emb.space(ctx, name, opened[name])
			if err != nil {
				return err
			}
			f, err := EvaluateRare(ctx, name, space, pools)
			if err != nil {
				return err
			}
			rep.Rare[tr.name] = append(rep.Rare[tr.name], f)
			log("rare content, %s: %s: %d/%d in the top 5", tr.name, name, f.Top5, f.Pools)
		}
	}
	return nil
}

// relabel copies originals with one label.
func relabel(in []Original, label string) []Original {
	out := make([]Original, len(in))
	for i, o := range in {
		out[i] = Original{Path: o.Path, Label: label}
	}
	return out
}

// pct is 100·a/b (0 when b is 0).
func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// WriteMarkdown writes the report as markdown tables: one per collection,
// a combined one, and the rare-content table.
func (rep *Report) WriteMarkdown(w io.Writer) {
	kinds := zoo.PlantKinds()
	for _, c := range rep.Collections {
		figs := rep.Figures[c.Name]
		if len(figs) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n### %s: %d originals, %d planted copies", c.Name, figs[0].Originals, figs[0].Copies)
		if c.Natural > 0 {
			fmt.Fprintf(w, "; natural duplicates counted apart, not in the set: %d (other sizes, links, byte copies, mirror copies or mirror twins of a picture taken)", c.Natural)
		}
		if c.TooLarge > 0 {
			fmt.Fprintf(w, "; left out as larger than the brain reads: %d", c.TooLarge)
		}
		fmt.Fprintln(w)
		if c.Name == Wallpapers && figs[0].Originals < 300 {
			fmt.Fprintf(w, "\nThe photographs are only %d distinct wallpapers (fewer than 300): read their figures as indicative.\n", figs[0].Originals)
		}
		writeTable(w, kinds, figs)
	}
	if len(rep.Collections) > 1 {
		fmt.Fprintf(w, "\n### combined: %d collections, counts added up\n", len(rep.Collections))
		writeTable(w, kinds, rep.Combined)
	}
	if len(rep.RareTrials) > 0 {
		fmt.Fprintln(w, "\n### rare content: share of pools whose odd one is among the 5 most unique (mean rank of the odd one)")
		fmt.Fprintf(w, "\n| rare-content trial | pools |")
		for _, f := range rep.Rare[rep.RareTrials[0]] {
			fmt.Fprintf(w, " %s |", f.Method)
		}
		fmt.Fprintf(w, "\n|---|---:|%s\n", strings.Repeat("---:|", len(rep.Rare[rep.RareTrials[0]])))
		for _, t := range rep.RareTrials {
			figs := rep.Rare[t]
			fmt.Fprintf(w, "| %s | %d |", t, figs[0].Pools)
			for _, f := range figs {
				fmt.Fprintf(w, " %.0f%% (%.1f) |", pct(f.Top5, f.Pools), float64(f.RankSum)/float64(max(1, f.Pools)))
			}
			fmt.Fprintln(w)
		}
	}
	for _, a := range rep.Absent {
		fmt.Fprintf(w, "\nNot measured: %s\n", a)
	}
}

// writeTable writes one near-duplicate table: a row per method, nn per
// transform, then nn, low, precision and recall overall.
func writeTable(w io.Writer, kinds []string, figs []*Figures) {
	fmt.Fprintf(w, "\n| method |")
	for _, k := range kinds {
		fmt.Fprintf(w, " nn %s |", k)
	}
	fmt.Fprintln(w, " **nn** | low | precision | recall |")
	fmt.Fprintf(w, "|---|%s\n", strings.Repeat("---:|", len(kinds)+4))
	for _, f := range figs {
		fmt.Fprintf(w, "| %s |", f.Method)
		for _, k := range kinds {
			if c := f.PerKind[k]; c != nil && c.Copies > 0 {
				fmt.Fprintf(w, " %.0f |", pct(c.NN, c.Copies))
			} else {
				fmt.Fprint(w, " – |")
			}
		}
		fmt.Fprintf(w, " **%.1f** | %.1f | %.1f | %.1f |\n", pct(f.Total.NN, f.Total.Copies), pct(f.Total.Low, f.Total.Copies),
			pct(f.Right, f.Found), pct(f.Recalled, f.Copies))
	}
}
