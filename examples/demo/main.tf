# The demo: two dedicated egress locations (Tokyo and Los Angeles) and an
# ordered egress policy list. `make demo` applies it against a local emulator
# of Cloudflare's API; point the provider at a real account to use it for real.
terraform {
  required_providers {
    cfegress = {
      source = "cfegress/cfegress"
    }
  }
}

# Credentials, account and API URL come from CLOUDFLARE_API_TOKEN,
# CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_BASE_URL.
provider "cfegress" {}

# The dedicated egress IPs Cloudflare allocated to the account (declared: there
# is no public API that creates them).
resource "cfegress_dedicated_egress_ip" "tokyo" {
  ipv4       = "203.0.113.10"
  ipv6_range = "2001:db8:10::/64"
  colo       = "NRT"
}

resource "cfegress_dedicated_egress_ip" "los_angeles" {
  ipv4       = "203.0.113.20"
  ipv6_range = "2001:db8:20::/64"
  colo       = "LAX"
}

locals {
  dedicated_ips = [cfegress_dedicated_egress_ip.tokyo, cfegress_dedicated_egress_ip.los_angeles]
}

# The partner's allow-listed destination ranges (`make demo` ends by planning
# a change to this list, to show what the plan says about it).
variable "partner_cidrs" {
  type    = list(string)
  default = ["198.51.100.0/24"]
}

resource "cfegress_egress_policies" "this" {
  dedicated_egress_ips = local.dedicated_ips

  # First match wins: specific policies first, the catch-all last.
  policies = [
    {
      name        = "Partner API from a fixed Tokyo IP"
      description = "The partner allow-lists 203.0.113.10 only."
      traffic     = "net.dst.ip in {${join(" ", var.partner_cidrs)}} and net.dst.port in {443 8443}"
      egress = {
        method        = "dedicated"
        ipv4          = cfegress_dedicated_egress_ip.tokyo.ipv4
        ipv6          = cfegress_dedicated_egress_ip.tokyo.ipv6_range
        ipv4_fallback = cfegress_dedicated_egress_ip.los_angeles.ipv4
      }
    },
    {
      name    = "Mexico sales keep local geolocation"
      traffic = "net.src.geo.country == \"MX\""
      egress  = { method = "default" }
    },
    {
      name    = "Everything else from Los Angeles"
      traffic = "net.protocol in {\"tcp\" \"udp\"}"
      egress = {
        method        = "dedicated"
        ipv4          = cfegress_dedicated_egress_ip.los_angeles.ipv4
        ipv6          = cfegress_dedicated_egress_ip.los_angeles.ipv6_range
        ipv4_fallback = cfegress_dedicated_egress_ip.tokyo.ipv4
      }
    },
  ]

  # Checked at plan time by the decision engine: a wrong expectation is an error.
  expect = [
    {
      flow        = { ingress_colo = "KIX", source_country = "JP", destination_ip = "198.51.100.7", destination_port = 443, protocol = "tcp" }
      policy      = "Partner API from a fixed Tokyo IP"
      egress_ip   = "203.0.113.10"
      egress_colo = "NRT"
    },
    {
      flow        = { ingress_colo = "LAX", source_country = "MX", destination_ip = "192.0.2.44", destination_port = 443, protocol = "tcp" }
      policy      = "Mexico sales keep local geolocation"
      geo_country = "MX"
    },
  ]
}

data "cfegress_egress_matrix" "this" {
  policies      = cfegress_egress_policies.this.policies
  dedicated_ips = local.dedicated_ips
  ingress_colos = ["KIX", "LAX", "FRA"]
}

locals {
  users = {
    "Tokyo user to the partner API"     = { ingress_colo = "KIX", source_country = "JP", destination_ip = "198.51.100.7", destination_port = 443, protocol = "tcp" }
    "Tokyo user, partner API, NRT down" = { ingress_colo = "KIX", source_country = "JP", destination_ip = "198.51.100.7", destination_port = 443, protocol = "tcp", colos_down = ["NRT"] }
    "Mexican user at LAX"               = { ingress_colo = "LAX", source_country = "MX", destination_ip = "192.0.2.44", destination_port = 443, protocol = "tcp" }
    "Frankfurt user, IPv6 site"         = { ingress_colo = "FRA", source_country = "DE", destination_ip = "2001:db8:ffff::1", destination_port = 443, protocol = "tcp" }
  }
}

output "egress_matrix" {
  value = data.cfegress_egress_matrix.this.text
}

locals {
  decisions = { for who, flow in local.users :
    who => provider::cfegress::decide(cfegress_egress_policies.this.policies, local.dedicated_ips, flow)
  }
}

output "decisions" {
  value = join("\n", [for who, d in local.decisions :
    format("%-36s %-14s %-36s leaves %s as %s (geo %s)", who, d.outcome, d.policy == null ? "-" : d.policy,
    coalesce(d.egress_colo, "-"), coalesce(d.egress_ip, "the shared pool"), coalesce(d.geo_country, "-"))
  ])
}
