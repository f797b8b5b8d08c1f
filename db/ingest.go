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
//
// dir may be s3://bucket/prefix (see ScanImages): filepaths are then the
// objects' s3:// URLs, and opts.Scan.Endpoint is stored with the dataset
// when the ingest commits, for every later reader of its media (see
// MediaEndpoint). An empty Endpoint takes the one already stored; another
// endpoint than the stored one is refused, since one dataset reads its
// media from one place.
func (ds *Dataset) AddImages(ctx context.Context, dir string, opts IngestOptions) (*IngestResult, error) {
	res := &IngestResult{}
	setEndpoint := ""
	if IsS3URL(dir) {
		stored, err := ds.MediaEndpoint()
		if err != nil {
			return res, fmt.Errorf("db: ingest %s: %w", dir, err)
		}
		switch ep := opts.Scan.Endpoint; {
		case ep == "":
			opts.Scan.Endpoint = stored
		case stored != "" && ep != stored:
			return res, fmt.Errorf("db: ingest %s: dataset %s reads its media from %s, not %s: %w", dir, ds.Name(), stored, ep, ErrInvalid)
		case stored == "":
			if err := CheckS3Endpoint(ep); err != nil {
				return res, fmt.Errorf("db: ingest %s: %w", dir, err)
			}
			setEndpoint = ep
		}
	}
	ad, err := ds.newAdder(ctx, true)
	if err != nil {
		return res, fmt.Errorf("db: ingest %s: %w", dir, err)
	}
	if setEndpoint != "" {
		ad.bw.meta().MediaEndpoint = setEndpoint
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

// MediaEndpoint is the S3 endpoint stored with the dataset by its first
// ingest from S3 ("" when it has none): the endpoint its s3:// filepaths are
// read from, unless FOSQL_S3_ENDPOINT overrides it (ResolveS3Endpoint).
func (ds *Dataset) MediaEndpoint() (string, error) {
	m, err := ds.meta()
	if err != nil {
		return "", err
	}
	return m.MediaEndpoint, nil
}
