# Every target is a thin wrapper over scripts/, so CI and people run the same thing.
.PHONY: test lint fuzz bench

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

bench:
	cd bench && go run ./cmd/wsbench -out RESULTS.md
