#!/usr/bin/env bash
# Runs every fuzz target of the repository for the given time each (default 60s).
# New crashers land in the package's testdata/fuzz/<Target>/: commit them.
set -euo pipefail
cd "$(dirname "$0")/.."
time="${1:-60s}"
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
    echo "fuzz: $pkg $target for $time"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time" "$pkg"
  done
done
