# Every target is a thin wrapper over scripts/, so CI and people run the same thing.
.PHONY: test lint fuzz bench bench-eio bench-cluster

# test: installs what the tests need (npm packages from the lockfile), then
# runs gofmt/vet/staticcheck and go test -race on every module of the repo.
test:
	bash scripts/test.sh

lint:
	bash scripts/lint.sh

# fuzz: runs every fuzz target of the websocket package for FUZZTIME each.
FUZZTIME ?= 60s
fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)

# bench: every benchmark (about 9 minutes), rewriting bench/RESULTS.md.
bench:
	cd bench && go run ./cmd/wsbench -out RESULTS.md

# bench-eio: only the Engine.IO comparison with Node's engine.io (under 3
# minutes); replaces only its section of bench/RESULTS.md.
bench-eio:
	cd bench && go run ./cmd/wsbench -only eio -out RESULTS.md

bench-cluster:
	cd bench && go run ./cmd/wsbench cluster -out RESULTS.md
	cd bench && go run ./cmd/wsbench cluster -adapter sharded -out RESULTS.md
