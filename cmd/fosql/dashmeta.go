package main

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/fosql/fosql/cmd/fosql/dashboard"
	"github.com/fosql/fosql/query"
)

// The shell's dashboard commands: .serve starts the dashboard in the
// background, .view sets what its page shows, .selected prints the
// selection made on the page.

func init() {
	metaCommands = append(metaCommands,
		&metaCommand{name: ".serve", args: "[ADDR|stop]", help: "start the dashboard in the background (" + defaultServeAddr + "), or stop it",
			run: dashMeta(dotServe), complete: func(*shell) []string { return []string{"stop"} }},
		&metaCommand{name: ".view", args: "[SELECT …]", help: "show that query on the dashboard's page (it follows within 2 s); without one, the first dataset",
			run: dashMeta(dotView)},
		&metaCommand{name: ".selected", args: "[dataset]", help: "print the samples selected on the page (WHERE id IN SELECTION)",
			run: dashMeta(dotSelected), complete: datasetNames},
	)
}

// dashMeta adapts a dashboard command to the meta-command table.
func dashMeta(fn func(sh *shell, arg string)) func(*shell, context.Context, []string, string) (bool, error) {
	return func(sh *shell, _ context.Context, _ []string, rest string) (bool, error) {
		fn(sh, strings.TrimSpace(rest))
		return false, nil
	}
}

// defaultServeAddr is where .serve listens without an address.
const defaultServeAddr = "127.0.0.1:5151"

// shellDashboards holds the dashboard each shell started.
var shellDashboards = struct {
	sync.Mutex
	m map[*shell]*dashboard.Running
}{m: map[*shell]*dashboard.Running{}}

// runningDashboard returns the dashboard the shell started, or nil.
func runningDashboard(sh *shell) *dashboard.Running {
	shellDashboards.Lock()
	defer shellDashboards.Unlock()
	return shellDashboards.m[sh]
}

// dotServe is .serve [ADDR|stop].
func dotServe(sh *shell, arg string) {
	if arg == "stop" {
		shellDashboards.Lock()
		run := shellDashboards.m[sh]
		delete(shellDashboards.m, sh)
		shellDashboards.Unlock()
		if run == nil {
			fmt.Fprintln(sh.errw, "fosql: no dashboard is running")
			return
		}
		if err := run.Close(); err != nil {
			fmt.Fprintln(sh.errw, "fosql:", err)
		}
		fmt.Fprintln(sh.errw, "fosql: the dashboard stopped")
		return
	}
	if _, err := startDashboard(sh, arg); err != nil {
		fmt.Fprintln(sh.errw, "fosql: .serve:", err)
	}
}

// startDashboard starts the shell's dashboard on addr (the default when
// ""), or returns the one already running.
func startDashboard(sh *shell, addr string) (*dashboard.Running, error) {
	if run := runningDashboard(sh); run != nil {
		fmt.Fprintf(sh.errw, "fosql: the dashboard is at %s (.serve stop stops it)\n", run.URL)
		return run, nil
	}
	if addr == "" {
		addr = defaultServeAddr
	}
	run, err := dashboard.Start(sh.d, addr, nil)
	if err != nil {
		return nil, err
	}
	shellDashboards.Lock()
	shellDashboards.m[sh] = run
	shellDashboards.Unlock()
	fmt.Fprintf(sh.errw, "fosql: the dashboard is at %s; it runs while the shell does (.serve stop stops it)\n", run.URL)
	return run, nil
}

// dotView is .view [SELECT …]: the page shows that query; the dashboard
// starts first when it is not running.
func dotView(sh *shell, arg string) {
	sql := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(arg), ";"))
	run := runningDashboard(sh)
	if run == nil {
		var err error
		if run, err = startDashboard(sh, ""); err != nil {
			fmt.Fprintln(sh.errw, "fosql: .view:", err)
			return
		}
	}
	if err := run.Server.SetView(sql); err != nil {
		fmt.Fprintln(sh.errw, "fosql: .view:", err)
		return
	}
	if sql == "" {
		fmt.Fprintln(sh.errw, "fosql: the page shows the first dataset")
	} else {
		fmt.Fprintln(sh.errw, "fosql: the page shows it within 2 seconds")
	}
}

// dotSelected is .selected [DATASET]: the selected samples' ids and
// files, printed as a query's rows are.
func dotSelected(sh *shell, arg string) {
	name := arg
	if name == "" {
		name = selectedDataset(sh)
	}
	if name == "" {
		fmt.Fprintln(sh.errw, "fosql: .selected: the database has no dataset")
		return
	}
	sh.run(context.Background(), "SELECT id, filepath FROM `"+strings.ReplaceAll(name, "`", "``")+"` WHERE id IN SELECTION;")
}

// selectedDataset is the dataset .selected reads without a name: the one
// the page was last told to show, else the first.
func selectedDataset(sh *shell) string {
	if run := runningDashboard(sh); run != nil {
		if sts, err := query.Parse(run.Server.View()); err == nil && len(sts) == 1 {
			if sel, ok := sts[0].(*query.Select); ok && sel.Dataset() != "" {
				return sel.Dataset()
			}
		}
	}
	names, err := sh.d.Store().DatasetNames()
	if err != nil || len(names) == 0 {
		return ""
	}
	return names[0]
}
