package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/zoo"
)

const workerUsage = `usage: fosql worker -nats nats://host:4222 [-concurrency N] [-name NAME]

Takes the embedding batches of queue jobs (COMPUTE UNIQUENESS ON ds WITH
(queue = 'nats://…')) from NATS JetStream, embeds them with ONNX Runtime as
a local run does, and sends the embeddings back. It needs no database. It
prints one line to stderr per batch it finishes ("batch <n>: <k> samples")
and runs until SIGINT or SIGTERM. See docs/distributed.md.

Flags:
`

// runWorker is fosql worker; it returns the exit status.
func runWorker(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("fosql worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("nats", "", "the NATS server, nats://host:4222 (several of one cluster: comma-separated)")
	concurrency := fs.Int("concurrency", 2, "batches worked on at once")
	name := fs.String("name", "", "the worker's name in replies (default: host name and process id)")
	fs.Usage = func() {
		fmt.Fprint(stderr, workerUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *url == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	if *concurrency < 1 || *concurrency > 256 {
		fmt.Fprintf(stderr, "fosql worker: -concurrency %d: want 1 to 256\n", *concurrency)
		return 2
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := brain.RunWorker(ctx, brain.WorkerOptions{
		URL: *url, Concurrency: *concurrency, Name: *name, Log: stderr, ResolveModel: zoo.ResolveModel,
	})
	if err != nil {
		fmt.Fprintln(stderr, "fosql worker:", err)
		return 1
	}
	return 0
}
