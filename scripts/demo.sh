#!/usr/bin/env bash
# make demo: build the provider and the API emulator, start the emulator on
# loopback, `terraform apply` examples/demo through dev_overrides (no registry,
# no Cloudflare account), print the egress matrix and simulated session logs,
# then stop the emulator. Needs only Go and Terraform.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

command -v terraform >/dev/null || { echo "demo: the Terraform CLI is not on PATH" >&2; exit 1; }

work="$root/.demo"
rm -rf "$work"; mkdir -p "$work/bin"
echo "==> building the provider and the emulator"
go build -o "$work/bin/terraform-provider-cfegress" .
go build -o "$work/bin/cfegress-emulator" ./cmd/cfegress-emulator

token="demo-token-$(date +%s)"
account="0123456789abcdef0123456789abcdef"
"$work/bin/cfegress-emulator" -listen 127.0.0.1:0 -token "$token" -account "$account" \
  -inventory examples/demo/inventory.json >"$work/emulator.log" 2>&1 &
emu=$!
trap 'kill $emu 2>/dev/null || true; wait $emu 2>/dev/null || true' EXIT
url=""
for _ in $(seq 1 100); do
  url=$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$work/emulator.log" | head -n1 || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "demo: the emulator did not start:" >&2; cat "$work/emulator.log" >&2; exit 1; }
echo "==> emulator of Cloudflare's Gateway rules API at $url"

cat >"$work/terraformrc" <<RC
provider_installation {
  dev_overrides {
    "registry.terraform.io/cfegress/cfegress" = "$work/bin"
  }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE="$work/terraformrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
export CLOUDFLARE_API_TOKEN="$token" CLOUDFLARE_ACCOUNT_ID="$account" CLOUDFLARE_BASE_URL="$url"
cp examples/demo/*.tf "$work/"
cd "$work"

echo "==> terraform apply (the plan validates the policy list before anything is written)"
terraform apply -auto-approve -no-color -compact-warnings 2>&1 | grep -vE '^(│ |╷|╵)?\s*$' | sed -n '/Warning: Provider development overrides/,/^$/!p'

echo
echo "==> where traffic leaves Cloudflare (data.cfegress_egress_matrix)"
terraform output -raw egress_matrix
echo
echo "==> decisions for a few users (provider::cfegress::decide)"
terraform output -raw decisions
echo
echo "==> the egress rules now in the (emulated) account"
curl -fsS "$url/__emulator/accounts/$account/rules" | python3 -m json.tool 2>/dev/null | grep -E '"(name|precedence|traffic|ipv4|ipv6|ipv4_fallback)"' || true
echo
echo "==> simulated Network Session Log records (emulator, same engine)"
curl -fsS -X POST "$url/__emulator/accounts/$account/sessions" -H 'Content-Type: application/json' \
  --data @"$root/examples/demo/flows.json"
echo
echo "==> a second plan changes nothing:"
terraform plan -detailed-exitcode -no-color >/dev/null 2>&1 && echo "    no changes" || echo "    (plan reported changes or failed: run terraform plan in $work)"
echo "==> API calls the emulator served: $(curl -fsS "$url/__emulator/stats" | grep -oE '"requests": *[0-9]+' || true)"
