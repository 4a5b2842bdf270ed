# A policy list with two mistakes, used by `make demo` to show what
# `terraform plan` (here: `terraform validate`) catches before any API call:
# the catch-all is not last, so the partner policy below it can never match,
# and the partner policy's fallback sits in the same colo as its primary.
terraform {
  required_providers {
    cfegress = {
      source = "cfegress/cfegress"
    }
  }
}

provider "cfegress" {}

resource "cfegress_egress_policies" "this" {
  dedicated_egress_ips = [
    { ipv4 = "203.0.113.10", ipv6_range = "2001:db8:10::/64", colo = "NRT" },
    { ipv4 = "203.0.113.11", ipv6_range = "2001:db8:11::/64", colo = "NRT" },
    { ipv4 = "203.0.113.20", ipv6_range = "2001:db8:20::/64", colo = "LAX" },
  ]

  policies = [
    {
      name    = "Everything else from Los Angeles"
      traffic = "net.dst.ip != 0.0.0.0"
      egress  = { method = "dedicated", ipv4 = "203.0.113.20", ipv6 = "2001:db8:20::/64", ipv4_fallback = "203.0.113.10" }
    },
    {
      name    = "Partner API from a fixed Tokyo IP"
      traffic = "net.dst.ip in {198.51.100.0/24} && net.dst.port == 443"
      egress  = { method = "dedicated", ipv4 = "203.0.113.10", ipv6 = "2001:db8:10::/64", ipv4_fallback = "203.0.113.11" }
    },
  ]
}
