#!/usr/bin/env bash
# gofmt, go vet and staticcheck on every module of the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
STATICCHECK_VERSION=v0.8.2

unformatted=$(gofmt -l $(git ls-files '*.go') 2>/dev/null || true)
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

if ! command -v staticcheck >/dev/null 2>&1; then
  echo "installing staticcheck $STATICCHECK_VERSION"
  GOFLAGS= go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
fi
PATH="$(go env GOPATH)/bin:$PATH"

for mod in $(bash scripts/modules.sh); do
  echo "lint: $mod"
  (cd "$mod" && go vet ./... && staticcheck ./...)
done
