#!/usr/bin/env bash
# make demo: build the provider and the API emulator, start the emulator on
# loopback, `terraform apply` examples/demo through dev_overrides (no registry,
# no Cloudflare account), print the egress matrix and simulated session logs,
# then stop the emulator. Needs only Go and Terraform (or OpenTofu).
#
# The CLI is $TERRAFORM (make passes its own: `terraform` on PATH, else
# `tofu`); run directly, the same default applies. Only that CLI is run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

tf=${TERRAFORM:-$(command -v terraform || command -v tofu || true)}
[ -n "$tf" ] && tf=$(command -v "$tf" || true)
[ -n "$tf" ] || { echo "demo: neither terraform nor tofu is on PATH (or TERRAFORM names no executable): install Terraform >= 1.8 or OpenTofu >= 1.8" >&2; exit 1; }
cli=$(basename "$tf")

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

# Both addresses: Terraform resolves cfegress/cfegress to
# registry.terraform.io, OpenTofu to registry.opentofu.org.
cat >"$work/terraformrc" <<RC
provider_installation {
  dev_overrides {
    "registry.terraform.io/cfegress/cfegress" = "$work/bin"
    "registry.opentofu.org/cfegress/cfegress" = "$work/bin"
  }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE="$work/terraformrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
export CLOUDFLARE_API_TOKEN="$token" CLOUDFLARE_ACCOUNT_ID="$account" CLOUDFLARE_BASE_URL="$url"
cp examples/demo/*.tf "$work/"
cd "$work"

echo "==> $cli apply ($("$tf" version | head -n1); the plan validates the policy list before anything is written)"
if ! "$tf" apply -auto-approve -no-color -compact-warnings >"$work/apply.log" 2>&1; then
  cat "$work/apply.log" >&2; exit 1
fi
grep -E '^  # |^Plan:|Creation complete|^Apply complete|^- ' "$work/apply.log" | grep -v 'development overrides' || true
echo "    (full output: $work/apply.log)"

echo
echo "==> where traffic leaves Cloudflare (data.cfegress_egress_matrix)"
"$tf" output -raw egress_matrix
echo
echo "==> decisions for a few users (provider::cfegress::decide)"
"$tf" output -raw decisions
echo
echo "==> the egress rules now in the (emulated) account"
rules=$(curl -fsS "$url/__emulator/accounts/$account/rules")
if command -v python3 >/dev/null; then
  printf '%s' "$rules" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["result"]:
    eg = ((r.get("rule_settings") or {}).get("egress") or {})
    how = "dedicated %s / %s, fallback %s" % (eg.get("ipv4"), eg.get("ipv6"), eg.get("ipv4_fallback")) if eg.get("ipv4") else "default egress (shared pool)"
    print("  %6d  %-38s %s\n          traffic: %s" % (r["precedence"], r["name"], how, r.get("traffic", "")))'
else
  printf '%s\n' "$rules"
fi
echo
echo "==> simulated Network Session Log records (emulator, same engine)"
sessions=$(curl -fsS -X POST "$url/__emulator/accounts/$account/sessions" -H 'Content-Type: application/json' \
  --data @"$root/examples/demo/flows.json")
if command -v python3 >/dev/null; then
  printf '%s' "$sessions" | python3 -c '
import json, sys
keys = ["Email", "IngressColoName", "OriginIP", "EgressRuleName", "EgressColoName", "EgressIP"]
for rec in json.load(sys.stdin)["result"]:
    print("  " + "  ".join("%s=%s" % (k, json.dumps(rec[k])) for k in keys))'
else
  printf '%s\n' "$sessions"
fi
echo "==> a second plan changes nothing:"
"$tf" plan -detailed-exitcode -no-color >/dev/null 2>&1 && echo "    no changes" || echo "    (plan reported changes or failed: run $cli plan in $work)"
echo
echo "==> a list with mistakes is stopped before any API call (examples/demo/mistake, $cli validate):"
mkdir -p "$work/mistake" && cp "$root/examples/demo/mistake/main.tf" "$work/mistake/"
# Each error's summary and explanation, without Terraform's source excerpt.
(cd "$work/mistake" && "$tf" validate -no-color 2>&1 | awk '
  /^Error:/ { on = 1; print "    " $0; next }
  /^Warning:/ { on = 0 }
  on && /^\(rule / { on = 0; next }
  on && NF && !/^  / { print "      " $0 }') || true
echo
echo "==> the next change, planned: the partner adds 192.0.2.128/25 to its allow-listed ranges"
# Only the plan (nothing is applied). Its warnings are printed: that is
# where the change's egress impact is reported (which traffic moves, from
# where to where), before anyone approves the apply.
if "$tf" plan -no-color -input=false -var 'partner_cidrs=["198.51.100.0/24", "192.0.2.128/25"]' >"$work/next.log" 2>&1; then
  grep -E '^Plan:|^No changes' "$work/next.log" | sed 's/^/    /' || true
  # Each warning: its summary and detail, without Terraform's source excerpt
  # and without the dev_overrides notice.
  warnings=$(awk '
    /^(Warning|Error):/ { on = ($0 !~ /development overrides/); if (on) print "    " $0; next }
    !on { next }
    /^  (with|on) / || /^ +[0-9]+: / || /^ +\.\.\./ { next }
    NF == 0 { print ""; next }
    { print "      " $0 }' "$work/next.log" | cat -s | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}')
  if [ -n "$warnings" ]; then printf '%s\n' "$warnings"; else echo "    (no warnings from the plan)"; fi
else
  cat "$work/next.log" >&2; exit 1
fi
echo "    (full plan: $work/next.log)"
echo "==> API calls the emulator served: $(curl -fsS "$url/__emulator/stats" | grep -oE '"requests": *[0-9]+' || true)"
