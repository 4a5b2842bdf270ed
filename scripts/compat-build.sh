#!/usr/bin/env bash
# compat-build.sh NAME...: builds the CLIs of the compatibility matrix from
# the Go module proxy into a cache outside the repository, and prints the
# path of each. A CLI already in the cache (and reporting its release
# version) is reused, so only the first run on a machine pays for the builds.
#
#   NAME  one of: terraform-1.8.5 terraform-1.13.3 tofu-1.10.10 (default: all)
#   CFEGRESS_COMPAT_CACHE  the cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/cfegress-compat)
#
# How they are built, and why:
# - Each CLI is built inside a writable copy of its own module, as
#   downloaded from the proxy (`go mod download`), so its go.mod applies as
#   its release builds apply it. That matters for OpenTofu 1.10.10, whose
#   go.mod replaces github.com/hashicorp/hcl/v2 with OpenTofu's fork:
#   `go install ...@v1.10.10` refuses a module with a replace directive, a
#   build inside the module honours it. Terraform 1.13.3's go.mod also points
#   nine backends and internal/legacy at nested modules (`replace =>
#   ./internal/...`) that the proxy does not serve: their replace and require
#   lines are dropped.
# - The remote-state backends (azurerm, consul, cos, gcs, kubernetes, oci,
#   oss, pg, s3) are left out of internal/backend/init: every test keeps its
#   state in a local file, and leaving their cloud SDKs out saves compile
#   time (OpenTofu 1.10.10, cold caches: 508 -> 475 CPU-seconds; most of its
#   build is elsewhere). Everything the tests exercise (the core, the plugin
#   protocol, provider functions, import and config generation, saved
#   plans, `removed`, `terraform test`) is the release's own code.
# - Release version strings: -X .../version.dev=no, as the release builds
#   set it (without it `version` reports "-dev").
set -euo pipefail

cache="${CFEGRESS_COMPAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cfegress-compat}"
mkdir -p "$cache/bin" "$cache/src"
cd "$cache/src" # outside any module: go mod download of a module@version only fetches it
export GOFLAGS="-buildvcs=false -trimpath" CGO_ENABLED=0 GOTOOLCHAIN=local

log() { echo "compat: $*" >&2; }

# A cached CLI is reused when it runs and reports a release version.
# (Read whole, not through `| head`: with pipefail, head closing the pipe
# early can fail the check of a good binary.)
works() {
  local v
  [ -x "$1" ] && v=$("$1" version 2>/dev/null) || return 1
  [[ ${v%%$'\n'*} =~ ^(Terraform|OpenTofu)\ v[0-9.]+$ ]]
}

# build MODULE VERSION PACKAGE OUT: go build PACKAGE (relative to the module
# root) from a patched copy of MODULE@VERSION into OUT.
build() {
  local module=$1 ver=$2 pkg=$3 out=$4
  local src="$cache/src/${module##*/}-$ver" dir
  dir=$(go mod download -json "$module@$ver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir" ] || { log "go mod download $module@$ver gave no directory"; return 1; }
  rm -rf "$src"; cp -r "$dir" "$src"; chmod -R u+w "$src"
  local init="$src/internal/backend/init/init.go"
  grep -q 'backend/remote-state/s3"' "$init" || { log "$module@$ver: unexpected $init"; return 1; }
  # The remote-state backends' imports and their entries in the backend map.
  sed -i -E \
    -e '\#/internal/backend/remote-state/(azure|consul|cos|gcs|kubernetes|oci|oss|pg|s3)"#d' \
    -e '/backend(Azure|Consul|Cos|GCS|Kubernetes|OCI|OSS|Pg|S3)\.New\(/d' "$init"
  # Nested modules the proxy does not serve (Terraform >= 1.9).
  local edits=() m
  for m in $(sed -n -E 's#^replace (github.com/hashicorp/terraform/internal/[^ ]+) => \./.*#\1#p' "$src/go.mod"); do
    edits+=("-dropreplace=$m" "-droprequire=$m")
  done
  [ ${#edits[@]} -eq 0 ] || (cd "$src" && go mod edit "${edits[@]}")
  (cd "$src" && go build -ldflags "-s -w -X $module/version.dev=no" -o "$out" "./$pkg")
  rm -rf "$src"
}

names=("$@")
[ ${#names[@]} -gt 0 ] || names=(terraform-1.8.5 terraform-1.13.3 tofu-1.10.10)
for name in "${names[@]}"; do
  out="$cache/bin/$name"
  case $name in
    terraform-1.8.5) args=(github.com/hashicorp/terraform v1.8.5 .) ;;
    terraform-1.13.3) args=(github.com/hashicorp/terraform v1.13.3 .) ;;
    tofu-1.10.10) args=(github.com/opentofu/opentofu v1.10.10 cmd/tofu) ;;
    *) log "unknown CLI $name (known: terraform-1.8.5 terraform-1.13.3 tofu-1.10.10)"; exit 2 ;;
  esac
  if works "$out"; then
    log "$name: cached ($out)"
  else
    log "$name: building from the Go module proxy (minutes; cached afterwards)"
    start=$(date +%s)
    tmp="$out.tmp.$$"
    rm -f "$tmp"
    build "${args[@]}" "$tmp"
    mv "$tmp" "$out"
    works "$out" || { log "$name: the built binary does not report a release version"; exit 1; }
    log "$name: built in $(( $(date +%s) - start ))s ($out)"
  fi
  echo "$out"
done
