package db

import (
	"context"
	"fmt"
)

// IngestOptions configure AddImages.
type IngestOptions struct {
	Scan ScanOptions
	// Tags are added to every new sample.
	Tags []string
	// Progress, when set, is called after each batch with the number of
	// files seen so far, how many were added and how many skipped.
	Progress func(p IngestProgress)
}

// IngestProgress reports how far an ingest has come.
type IngestProgress struct {
	Seen, Added, Existing, Skipped int
}

// IngestResult is what AddImages did.
type IngestResult struct {
	Added    []ID          // new samples, in path order
	Existing int           // images already in the dataset, left alone
	Skipped  []SkippedFile // files that are not usable images, with reasons
}

// AddImages ingests the images under dir, as FiftyOne's from_images_dir:
// files are recognised by content, read in parallel, and added in path
// order. A filepath already in the dataset is not added again, so
// ingesting a folder twice adds only new files. Bad files are reported in
// the result and the ingest goes on. The ingest is one all-or-nothing
// statement (see journal.go): on cancellation, error or a crash nothing
// of it stays, and the result then lists no added samples.
func (ds *Dataset) AddImages(ctx context.Context, dir string, opts IngestOptions) (*IngestResult, error) {
	res := &IngestResult{}
	ad, err := ds.newAdder(ctx, true)
	if err != nil {
		return res, fmt.Errorf("db: ingest %s: %w", dir, err)
	}
	seen := 0
	err = ScanImages(ctx, dir, opts.Scan, func(batch []FoundImage) error {
		for _, f := range batch {
			md := f.Metadata
			if err := ad.add(NewSample{Filepath: f.Path, Tags: opts.Tags, Metadata: &md}); err != nil {
				return err
			}
		}
		seen += len(batch)
		if opts.Progress != nil {
			opts.Progress(IngestProgress{Seen: seen + len(res.Skipped), Added: len(ad.ids), Existing: ad.skipped, Skipped: len(res.Skipped)})
		}
		return nil
	}, func(s SkippedFile) {
		res.Skipped = append(res.Skipped, s)
	})
	if err != nil {
		return res, fmt.Errorf("db: ingest %s: %w", dir, ad.abort(err))
	}
	if res.Added, res.Existing, err = ad.commit(); err != nil {
		return res, fmt.Errorf("db: ingest %s: %w", dir, err)
	}
	return res, nil
}
