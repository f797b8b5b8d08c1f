# fosql — the targets the README names.
GO ?= go

.PHONY: setup test race demo bench fuzz vet golden quality quality-check crashtest bench-scale test-dist

# setup: Go modules, ONNX Runtime's library, the pretrained CNN
# mobilenet-v2 (nsfwjs's TensorFlow.js model, converted to ONNX) and its
# int8 form, and DuckDB's node client (the Parquet round-trip test's
# independent reader); all cached, safe to run again.
setup:
	$(GO) mod download
	./scripts/setup-onnxruntime.sh
	./scripts/setup-duckdb.sh
	GO=$(GO) ./scripts/setup-mobilenet.sh

# setup-seaweedfs: build SeaweedFS's weed binary from its Go module into
# ~/.cache/fosql/seaweedfs/ (several minutes on two cores, once; safe to
# run again). The TestS3… tests run it as a real S3 server and skip with a
# message without it (FOSQL_WEED=path names another binary).
.PHONY: setup-seaweedfs
setup-seaweedfs:
	GO=$(GO) ./scripts/setup-seaweedfs.sh

# golden: rewrite brain/tfjs's golden file with TensorFlow.js itself (needs
# node and the npm registry once; make test only compares with the file).
golden: setup
	./scripts/golden-tfjs.sh

# FUZZ runs one fuzz target briefly. Minimizing a newly found input is
# bounded by a count too: its default, 60 s per input, can stall a short
# run (RELIABILITY.md, Fuzzing).
FUZZ = $(GO) test -run '^$$' -fuzzminimizetime 100x -fuzz

# test: every package's tests, plus a short fuzz of every fuzz target: the
# SQL front end, the PNG decoder, value encoding, image headers, IMPORT's
# JSON, .npy and Parquet readers, model specs and EXIF. The fuzz budgets are
# execution counts (about 5 s each here): a time budget can end in a
# spurious "context deadline exceeded" in Go 1.26's fuzz coordinator
# (golang/go#75804).
test: setup
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 4000x ./query
	$(GO) test -run '^$$' -fuzz '^FuzzExec$$' -fuzztime 12000x ./query
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeRGB$$' -fuzztime 30000x ./brain
	$(FUZZ) '^FuzzKeyEncoding$$' -fuzztime 4000x ./db
	$(FUZZ) '^FuzzRecord$$' -fuzztime 4000x ./db
	$(FUZZ) '^FuzzInspectImage$$' -fuzztime 1500x ./db
	$(FUZZ) '^FuzzJSONValue$$' -fuzztime 3000x ./query
	$(FUZZ) '^FuzzNpyHeader$$' -fuzztime 3000x ./query
	$(FUZZ) '^FuzzParquetRead$$' -fuzztime 3000x ./query
	$(FUZZ) '^FuzzModelSpec$$' -fuzztime 1500x ./brain
	$(FUZZ) '^FuzzEXIFOrientation$$' -fuzztime 4000x ./brain

# race: every package's tests under Go's race detector (about 6 minutes
# here; RELIABILITY.md has each package's time).
race: setup
	$(GO) test -race -count=1 -timeout 30m ./...

# crashtest: the crash harness with 100 kills: a real fosql process is
# SIGKILLed at random moments during ingest, bulk import, bulk tag and
# field UPDATEs, DELETE, uniqueness and duplicates, and each reopened
# database is checked (before-or-after state, CHECK DATABASE, full-text
# index). make test runs its short version (14 kills).
crashtest: setup
	FOSQL_CRASH_KILLS=100 $(GO) test -count=1 -timeout 60m -run '^TestCrashKills$$' -v ./cmd/fosql

# test-dist: the distributed fault test (docs/distributed.md): a 3-node
# NATS JetStream cluster (in process) and 3 fosql worker processes; one
# worker, one NATS node and then the coordinator are killed during a job
# on 400 images, the rerun resumes, and every sample must be scored once,
# equal to a local run.
# The SeaweedFS-backed media tests (TestS3…) run here too, on the weed
# binary setup-seaweedfs builds.
test-dist: setup setup-seaweedfs
	FOSQL_TEST_DIST=1 $(GO) test -count=1 -timeout 20m -run '^TestDistFaults$$' -v ./cmd/fosql
	$(GO) test -count=1 -timeout 20m -run '^TestS3' ./...

# bench-scale: the million-sample benchmark (scripts/bench-scale.sh): bulk
# import from .jsonl and .npy beside SQLite, uniqueness over the imported
# vectors, export to .npy; N and D set the size.
bench-scale: setup
	./scripts/bench-scale.sh

# demo: the walkthrough on the offline synthetic dataset.
demo: setup
	$(GO) run ./cmd/fosql demo

# bench: the Go benchmarks behind BENCHMARKS.md.
bench: setup
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

# bench-scale-queries: the 1,000,000-row query figures of BENCHMARKS.md
# (scan, GROUP BY tag, width and filepath beside ../shared/tools/peer-sqlite,
# and the peak RSS of one-shot shell queries).
.PHONY: bench-scale-queries
bench-scale-queries:
	GO=$(GO) ./scripts/bench-scale-queries.sh

# quality: the ranking-quality benchmark on Debian's image collections
# (installed here when apt-get is available): planted near-duplicates and
# rare content, every model beside pHash and dHash, as markdown tables
# (QUALITY.md). Not part of test; its short version is
# TestFashionMNISTQuality in zoo/quality.
quality: setup
	./scripts/install-quality-collections.sh
	$(GO) run ./cmd/fosql quality

# quality-check: the same benchmark on openclipart-png's drawings, which no
# model or bound is chosen on: a check of make quality's figures on
# pictures they were not fitted to.
quality-check: setup
	./scripts/install-quality-collections.sh openclipart-png
	$(GO) run ./cmd/fosql quality -collections openclipart
