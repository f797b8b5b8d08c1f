package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/zoo"
)

// fosqlVersion is the release of this build of fosql.
const fosqlVersion = "0.14.0"

// runVersion prints fosql's version (with the commit it was built from,
// when known), Go's, ONNX Runtime's (loaded for this only: nothing else
// but a brain job loads it) and the folder of the model cache.
func runVersion(stdout, stderr io.Writer) int {
	v := "fosql " + fosqlVersion
	if info, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			if dirty {
				rev += ", modified"
			}
			v += " (" + rev + ")"
		}
	}
	fmt.Fprintln(stdout, v)
	fmt.Fprintf(stdout, "built with %s for %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	code := 0
	if err := brain.InitRuntime(); err != nil {
		fmt.Fprintf(stdout, "onnx runtime: not available (%v)\n", err)
		code = 1
	} else {
		fmt.Fprintf(stdout, "onnx runtime %s (%s)\n", ort.GetVersion(), brain.RuntimeLibrary())
	}
	if dir, err := zoo.ModelDir(); err != nil {
		fmt.Fprintf(stdout, "model cache: %v\n", err)
	} else {
		fmt.Fprintf(stdout, "model cache: %s\n", dir)
	}
	return code
}
