#!/usr/bin/env bash
# The one test command (README.md, .ci/run): sets up a fresh Debian machine
# that has Go and Node 20, then runs every module's tests with -race.
set -euo pipefail
cd "$(dirname "$0")/.."
export CI="${CI:-}"

# npm packages the interop tests drive, pinned by interop/package-lock.json.
if [ -f interop/package-lock.json ]; then
  if ! command -v node >/dev/null 2>&1; then
    echo "node is missing: installing nodejs and npm"
    apt-get update -qq && apt-get install -y -qq nodejs npm
  fi
  (cd interop && npm ci --no-audit --no-fund --loglevel=error)
  # Debian's headless Chromium, which interop/browser_test.go drives with
  # playwright-core (never a browser download of playwright's own).
  if [ ! -x /usr/bin/chromium ]; then
    echo "chromium is missing: installing chromium"
    apt-get update -qq && apt-get install -y -qq chromium
  fi
fi

# redis-server for the Redis adapter's tests, which start their own on a
# free loopback port.
if [ ! -x /usr/bin/redis-server ] && ! command -v redis-server >/dev/null 2>&1; then
  echo "redis-server is missing: installing redis-server"
  apt-get update -qq && apt-get install -y -qq redis-server
fi

bash scripts/lint.sh

status=0
for mod in $(bash scripts/modules.sh); do
  echo "test: $mod"
  (cd "$mod" && go test -race -count=1 -timeout 20m ./...) || status=1
done
# Allocation and stack-size assertions are meaningless under -race
# (sync.Pool drops items at random there, stacks are larger), and some tests
# are too big for the race detector at full size: they run once more
# without it.
echo "test: allocation, stack and full-size checks without -race"
go test -count=1 -run 'DoNotAllocate|StackIsSmall|WithoutRace' ./... || status=1
exit $status
