#!/usr/bin/env bash
# goreleaser.sh VERSION ARGS...: runs goreleaser VERSION (e.g. v2.15.1) with
# ARGS, from PATH when it is that version, else built once from the Go
# module proxy into the compat cache
# (${CFEGRESS_COMPAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cfegress-compat}/bin)
# and reused. `make release-check` runs `goreleaser.sh v2.15.1 check`.
set -euo pipefail
ver=$1
shift
cd "$(dirname "$0")/.."

cache="${CFEGRESS_COMPAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cfegress-compat}"
bin="$cache/bin/goreleaser-$ver"
if command -v goreleaser >/dev/null 2>&1 && goreleaser --version 2>/dev/null | grep -q "GitVersion: *${ver#v}$"; then
  bin=$(command -v goreleaser)
elif [ ! -x "$bin" ]; then
  echo "goreleaser: building $ver from the Go module proxy (once; cached in $cache/bin)" >&2
  start=$(date +%s)
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  GOBIN="$tmp" CGO_ENABLED=0 GOFLAGS=-trimpath GOTOOLCHAIN=local go install -ldflags "-s -w" "github.com/goreleaser/goreleaser/v2@$ver"
  mkdir -p "$cache/bin"
  mv "$tmp/goreleaser" "$bin"
  echo "goreleaser: built in $(( $(date +%s) - start ))s" >&2
fi
exec "$bin" "$@"
