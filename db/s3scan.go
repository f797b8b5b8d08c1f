package db

// This file scans images in S3-compatible storage for ingest: the objects
// under an s3:// prefix are listed in key order and each one is streamed
// once through the same inspection as a local file (format, size, colour
// model, completeness, sha256), by the worker pool of runScan.

import (
	"context"
	"errors"
	"fmt"
	"path"
	"runtime"
	"strings"
)

// s3ScanTaskMax is the largest number of objects one worker takes at once:
// each object is a request whose latency dominates, so small tasks spread
// them over the workers evenly.
const s3ScanTaskMax = 2

// s3ScanWorkers is the default number of objects inspected at once: the
// work waits on the network more than on the CPU, so more requests than
// cores are in flight.
func s3ScanWorkers() int { return max(16, 4*runtime.GOMAXPROCS(0)) }

// scanS3 is ScanImages for root = s3://bucket/prefix: the objects directly
// under the prefix (every object below it with opts.Recursive) whose key
// has no component starting with "." and whose name is not one that a
// local scan ignores, inspected by streaming each object once, delivered
// in key order. An object that is not a usable image is skipped with its
// reason, as a local file is; a failure of the storage itself (no such
// bucket, refused credentials, unreachable endpoint) ends the scan with an
// error wrapping ErrMediaStore.
func scanS3(ctx context.Context, root string, opts ScanOptions, found func([]FoundImage) error, skipped func(SkippedFile)) error {
	if opts.Workers <= 0 {
		opts.Workers = s3ScanWorkers()
	}
	_, prefix, err := ParseS3URL(root, true)
	if err != nil {
		return fmt.Errorf("scan images: %w", err)
	}
	prefix = strings.TrimSuffix(prefix, "/")
	if err := CheckS3Endpoint(ResolveS3Endpoint(opts.Endpoint)); err != nil {
		return fmt.Errorf("scan images %s: %w", root, err)
	}
	// An object that fails because the storage itself refuses (say, a
	// key that may list but not read) is no skipped file: it ends the
	// scan.
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	var storeErr error
	skip := func(s SkippedFile) {
		if storeErr == nil && errors.Is(s.Err, ErrMediaStore) {
			storeErr = s.Err
			stop()
			return
		}
		if storeErr == nil {
			skipped(s)
		}
	}
	var listErr error
	err = runScan(sctx, root, opts, s3ScanTaskMax, func(q *scanQueue) bool {
		err := s3Listing(q.ctx, root, opts.Endpoint, opts.Recursive, func(ref string) error {
			if s3Ignored(ref, prefix) {
				return nil
			}
			if !q.emitJob(ref) {
				return q.ctx.Err()
			}
			return nil
		})
		if err != nil {
			listErr = err
			return false
		}
		return true
	}, func(ctx context.Context, ref string) (ImageMetadata, error) {
		return InspectMedia(ctx, ref, opts.Endpoint, opts.MaxPixels)
	}, found, skip)
	// A listing that failed part-way ends the producer early; its error,
	// not the short scan that follows, is the answer.
	switch {
	case ctx.Err() != nil:
		return err
	case storeErr != nil:
		return fmt.Errorf("scan images: %w", storeErr)
	case listErr != nil:
		return fmt.Errorf("scan images: %w", listErr)
	}
	return err
}

// s3Ignored reports whether an object found under prefix is left out as a
// local scan leaves out a file: a hidden component in its key below the
// prefix, or a name that is clearly not an image.
func s3Ignored(ref, prefix string) bool {
	_, key, _ := ParseS3URL(ref, true)
	rel := strings.TrimPrefix(strings.TrimPrefix(key, prefix), "/")
	for _, part := range strings.Split(rel, "/") {
		if strings.HasPrefix(part, ".") {
			return true
		}
	}
	return scanIgnoredName(path.Base(rel))
}

// InspectMedia is InspectImage for a media reference: a local path, or an
// s3:// URL whose object is streamed once from the endpoint OpenMedia
// resolves from endpoint. Errors are InspectImage's, or OpenMedia's for an
// object that cannot be opened; each names the path or URL.
func InspectMedia(ctx context.Context, ref, endpoint string, maxPixels int64) (ImageMetadata, error) {
	if !IsS3URL(ref) {
		return inspectImage(ctx, ref, maxPixels)
	}
	m, err := OpenMedia(ctx, ref, endpoint, 0)
	if err != nil {
		return ImageMetadata{}, fmt.Errorf("inspect image: %w", err)
	}
	defer m.Close()
	return inspectStream(ctx, ref, m, m.Size(), maxPixels)
}
