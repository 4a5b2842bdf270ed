#!/usr/bin/env bash
# compat-build.sh NAME...: builds the CLIs of the compatibility matrix from
# the Go module proxy into a cache outside the repository, and prints the
# path of each. A CLI already in the cache (and answering `version`) is
# reused, so only the first run pays for the builds.
#
#   NAME  one of: terraform-1.8.5 terraform-1.13.3 tofu-1.10.10 (default: all)
#   CFEGRESS_COMPAT_CACHE  the cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/cfegress-compat)
#
# How each one is built, and why:
# - Terraform 1.8.5 (the oldest release with provider-defined functions) has
#   no replace directive: `go install github.com/hashicorp/terraform@v1.8.5`.
# - Terraform 1.13.3 splits nine remote-state backends (azurerm, consul,
#   cos, gcs, kubernetes, oci, oss, pg, s3) and internal/legacy into nested
#   modules that it reaches through `replace => ./internal/...`. The module
#   proxy serves the main module without them and does not serve them on
#   their own, so it is built from a writable copy of the module with those
#   backends left out of internal/backend/init (and their replace/require
#   lines dropped). The smoke uses the local backend only; everything else
#   (core, the plugin protocol, functions, import, saved plans) is 1.13.3's.
# - OpenTofu 1.10.10 replaces github.com/hashicorp/hcl/v2 with its fork in its
#   go.mod, which `go install pkg@version` refuses: it is built from a small
#   module of our own that requires it and repeats that replace.
set -euo pipefail

cache="${CFEGRESS_COMPAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cfegress-compat}"
mkdir -p "$cache/bin" "$cache/src"
export GOFLAGS="-buildvcs=false -trimpath" CGO_ENABLED=0 GOTOOLCHAIN=local
# Release builds: no -dev suffix in `version` (both CLIs read version.dev),
# no symbol tables.
ldflags() { echo "-s -w -X $1/version.dev=no"; }

log() { echo "compat: $*" >&2; }

# A cached CLI is reused when it runs and reports a release version.
works() { [ -x "$1" ] && "$1" version 2>/dev/null | head -n1 | grep -qE "^(Terraform|OpenTofu) v[0-9.]+$"; }

build_terraform_185() {
  local out=$1
  GOBIN="$cache/src/terraform-1.8.5-bin" go install -ldflags "$(ldflags github.com/hashicorp/terraform)" github.com/hashicorp/terraform@v1.8.5
  mv "$cache/src/terraform-1.8.5-bin/terraform" "$out"
  rm -rf "$cache/src/terraform-1.8.5-bin"
}

build_terraform_1133() {
  local out=$1 ver=v1.13.3 src="$cache/src/terraform-1.13.3"
  local split=(azure consul cos gcs kubernetes oci oss pg s3)
  local dir
  dir=$(go mod download -json "github.com/hashicorp/terraform@$ver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir" ] || { log "go mod download github.com/hashicorp/terraform@$ver gave no directory"; return 1; }
  rm -rf "$src"; cp -r "$dir" "$src"; chmod -R u+w "$src"
  local pat
  pat=$(IFS='|'; echo "${split[*]}")
  # Drop the split backends' imports and map entries from the backend list.
  sed -i -E "\#remote-state/($pat)\"#d; /backend(Azure|Consul|Cos|GCS|Kubernetes|OCI|OSS|Pg|S3)\.New\(\)/d" \
    "$src/internal/backend/init/init.go"
  local edits=()
  for b in "${split[@]}"; do
    edits+=("-dropreplace=github.com/hashicorp/terraform/internal/backend/remote-state/$b"
      "-droprequire=github.com/hashicorp/terraform/internal/backend/remote-state/$b")
  done
  edits+=(-dropreplace=github.com/hashicorp/terraform/internal/legacy -droprequire=github.com/hashicorp/terraform/internal/legacy)
  (cd "$src" && go mod edit "${edits[@]}" && go build -ldflags "$(ldflags github.com/hashicorp/terraform)" -o "$out" .)
  rm -rf "$src"
}

build_tofu_11010() {
  local out=$1 ver=v1.10.10 mod="$cache/src/tofu-1.10.10"
  rm -rf "$mod"; mkdir -p "$mod"
  # The replace is OpenTofu's own (its go.mod at v1.10.10).
  cat >"$mod/go.mod" <<EOF
module cfegress.invalid/compat/tofu

go 1.24

require github.com/opentofu/opentofu $ver

replace github.com/hashicorp/hcl/v2 v2.20.1 => github.com/opentofu/hcl/v2 v2.20.2-0.20251021132045-587d123c2828
EOF
  (cd "$mod" && go get "github.com/opentofu/opentofu/cmd/tofu@$ver" &&
    go build -ldflags "$(ldflags github.com/opentofu/opentofu)" -o "$out" github.com/opentofu/opentofu/cmd/tofu)
  rm -rf "$mod"
}

names=("$@")
[ ${#names[@]} -gt 0 ] || names=(terraform-1.8.5 terraform-1.13.3 tofu-1.10.10)
for name in "${names[@]}"; do
  out="$cache/bin/$name"
  if works "$out"; then
    log "$name: cached ($out)"
  else
    case $name in
      terraform-1.8.5) fn=build_terraform_185 ;;
      terraform-1.13.3) fn=build_terraform_1133 ;;
      tofu-1.10.10) fn=build_tofu_11010 ;;
      *) log "unknown CLI $name (known: terraform-1.8.5 terraform-1.13.3 tofu-1.10.10)"; exit 2 ;;
    esac
    log "$name: building from the Go module proxy (minutes; cached afterwards)"
    start=$(date +%s)
    tmp="$out.tmp.$$"
    rm -f "$tmp"
    "$fn" "$tmp"
    mv "$tmp" "$out"
    works "$out" || { log "$name: the built binary does not answer 'version'"; exit 1; }
    log "$name: built in $(( $(date +%s) - start ))s ($out)"
  fi
  echo "$out"
done
