#!/usr/bin/env bash
# Prints the directory of every Go module in the repository, root first.
cd "$(dirname "$0")/.."
git ls-files --cached --others --exclude-standard '*go.mod' | xargs -n1 dirname | sort -u
