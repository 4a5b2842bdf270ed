# Plan-only tests of the module's egress policies: no Cloudflare account, no
# credentials. `mock_provider` keeps the provider from calling the API, while
# its plan-time validation (lint, `expect`) and its functions still run:
# a list with a misplaced catch-all or a broken `expect` fails `terraform
# test` here, before any review.
mock_provider "cfegress" {}

variables {
  dedicated_ips = {
    tokyo       = { ipv4 = "203.0.113.10", ipv6_range = "2001:db8:10::/64", colo = "NRT" }
    los_angeles = { ipv4 = "203.0.113.20", ipv6_range = "2001:db8:20::/64", colo = "LAX" }
    frankfurt   = { ipv4 = "203.0.113.30", ipv6_range = "2001:db8:30::/64", colo = "FRA" }
  }
  pinned = [
    { name = "partner API", cidrs = ["198.51.100.0/24"], ports = [443, 8443], via = "tokyo", fallback = "los_angeles" },
    { name = "payroll", cidrs = ["192.0.2.0/25"], via = "frankfurt", fallback = "tokyo" },
  ]
  local_geo_countries = ["MX", "BR"]
  home                = "los_angeles"
  home_fallback       = "frankfurt"
}

run "partner_api_leaves_from_tokyo" {
  command = plan

  # A user in Germany: not proxied by Cloudflare (grey), the traffic travels
  # to Tokyo and leaves there.
  assert {
    condition     = provider::cfegress::decide(output.policies, output.dedicated_ips, { ingress_colo = "FRA", source_country = "DE", destination_ip = "198.51.100.7", destination_port = 443, protocol = "tcp" }).egress_colo == "NRT"
    error_message = "Partner API traffic (IPv4, not proxied) must leave from Tokyo."
  }
  # Proxied by Cloudflare (orange): it leaves locally (FRA), still with the
  # Tokyo IP the partner allow-lists.
  assert {
    condition     = provider::cfegress::decide(output.policies, output.dedicated_ips, { ingress_colo = "FRA", source_country = "DE", destination_ip = "198.51.100.7", destination_port = 443, protocol = "tcp", proxied = true }).egress_colo == "FRA"
    error_message = "Proxied partner API traffic must leave locally."
  }
  assert {
    condition     = provider::cfegress::decide(output.policies, output.dedicated_ips, { ingress_colo = "FRA", source_country = "DE", destination_ip = "198.51.100.7", destination_port = 443, protocol = "tcp", proxied = true }).egress_ip == "203.0.113.10"
    error_message = "Proxied partner API traffic must keep the Tokyo IP."
  }
}

run "partner_api_survives_a_tokyo_outage" {
  command = plan

  assert {
    condition     = provider::cfegress::decide(output.policies, output.dedicated_ips, { ingress_colo = "KIX", source_country = "JP", destination_ip = "198.51.100.7", destination_port = 8443, protocol = "tcp", colos_down = ["NRT"] }).egress_ip == "203.0.113.20"
    error_message = "With Tokyo down, partner API traffic must fall back to the Los Angeles IP."
  }
}

run "payroll_on_any_port_leaves_from_frankfurt" {
  command = plan

  assert {
    condition     = provider::cfegress::decide(output.policies, output.dedicated_ips, { ingress_colo = "LAX", source_country = "US", destination_ip = "192.0.2.10", destination_port = 22, protocol = "tcp" }).egress_ip == "203.0.113.30"
    error_message = "Payroll traffic must leave from the Frankfurt IP."
  }
}

run "mexico_and_brazil_keep_their_geolocation" {
  command = plan

  assert {
    condition     = provider::cfegress::decide(output.policies, output.dedicated_ips, { ingress_colo = "LAX", source_country = "MX", destination_ip = "93.184.216.34", destination_port = 443, protocol = "tcp" }).geo_country == "MX"
    error_message = "A user in Mexico must keep Mexican geolocation."
  }
  assert {
    condition     = provider::cfegress::decide(output.policies, output.dedicated_ips, { ingress_colo = "GRU", source_country = "BR", destination_ip = "93.184.216.34", destination_port = 443, protocol = "tcp" }).method == "default"
    error_message = "A user in Brazil must take default egress."
  }
  # Pinned destinations win over local geolocation: they come first.
  assert {
    condition     = provider::cfegress::decide(output.policies, output.dedicated_ips, { ingress_colo = "LAX", source_country = "MX", destination_ip = "198.51.100.7", destination_port = 443, protocol = "tcp" }).egress_ip == "203.0.113.10"
    error_message = "The partner API must see the Tokyo IP even from Mexico."
  }
}

run "everything_else_leaves_from_home" {
  command = plan

  assert {
    condition     = provider::cfegress::decide(output.policies, output.dedicated_ips, { ingress_colo = "NRT", source_country = "JP", destination_ip = "2001:db8:ffff::1", destination_port = 443, protocol = "tcp" }).egress_ip == "2001:db8:20::/64"
    error_message = "IPv6 traffic without a pinned destination must leave with the Los Angeles IPv6 range."
  }
}

run "no_lint_errors" {
  command = plan

  assert {
    condition     = length([for f in provider::cfegress::lint(output.policies, output.dedicated_ips) : f if f.severity == "error"]) == 0
    error_message = "The policy list has lint errors: ${jsonencode([for f in provider::cfegress::lint(output.policies, output.dedicated_ips) : f.message if f.severity == "error"])}"
  }
}

# `expect` on the resource: checked by the provider at plan (a wrong one is
# a plan error that names the policy that really decides).
run "expect_assertions_hold" {
  command = plan

  variables {
    expect = [{
      flow        = { ingress_colo = "KIX", source_country = "JP", destination_ip = "198.51.100.7", destination_port = 443, protocol = "tcp" }
      policy      = "Pinned: partner API"
      egress_ip   = "203.0.113.10"
      egress_colo = "NRT"
    }]
  }
}

run "a_pinned_destination_needs_another_fallback" {
  command = plan

  variables {
    pinned = [{ name = "partner API", cidrs = ["198.51.100.0/24"], via = "tokyo", fallback = "tokyo" }]
  }
  expect_failures = [var.pinned]
}

# The module's `invariants` (main.tf) are proven at every plan above: traffic
# to a pinned destination is always decided by its pinned policy.

# provider::cfegress::impact: adding a pinned destination moves that
# destination's traffic and nothing else (compared with the same list
# without it; `run.<name>` outputs would do too, where the CLI has them).
run "adding_a_pinned_destination_moves_only_its_traffic" {
  command = plan

  variables {
    pinned = [
      { name = "partner API", cidrs = ["198.51.100.0/24"], ports = [443, 8443], via = "tokyo", fallback = "los_angeles" },
      { name = "payroll", cidrs = ["192.0.2.0/25"], via = "frankfurt", fallback = "tokyo" },
      { name = "ticketing", cidrs = ["192.0.2.128/25"], via = "frankfurt", fallback = "tokyo" },
    ]
  }

  assert {
    condition     = length(provider::cfegress::impact([for p in output.policies : p if p.name != "Pinned: ticketing"], output.policies, output.dedicated_ips)) > 0
    error_message = "Pinning the ticketing destination must move its traffic."
  }
  assert {
    condition     = alltrue([for r in provider::cfegress::impact([for p in output.policies : p if p.name != "Pinned: ticketing"], output.policies, output.dedicated_ips) : r.after.policy == "Pinned: ticketing"])
    error_message = "Pinning the ticketing destination must move only its traffic."
  }
}
