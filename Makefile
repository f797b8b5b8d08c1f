# fosql — the targets the README names.
GO ?= go

.PHONY: setup test demo bench fuzz vet

# setup: Go modules and ONNX Runtime's library (cached; safe to run again).
setup:
	$(GO) mod download
	./scripts/setup-onnxruntime.sh

# test: every package's tests, plus a short fuzz of the SQL front end and
# of the PNG decoder.
test: setup
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 5s ./query
	$(GO) test -run '^$$' -fuzz '^FuzzExec$$' -fuzztime 5s ./query
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeRGB$$' -fuzztime 5s ./brain

# demo: the walkthrough on the offline synthetic dataset.
demo: setup
	$(GO) run ./cmd/fosql demo

# bench: the Go benchmarks behind BENCHMARKS.md.
bench: setup
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...
