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

# The account's whole ordered list of egress policies. The order is the
# evaluation order (the first policy that matches decides); the provider
# chooses the precedence numbers.
resource "cfegress_egress_policies" "this" {
  # account_id defaults to the provider's.

  # The inventory: policies may only use these IPs, and fallbacks must be in
  # another colo. Resources can be passed as they are.
  dedicated_egress_ips = [cfegress_dedicated_egress_ip.tokyo, cfegress_dedicated_egress_ip.los_angeles]

  policies = [
    {
      name        = "Partner API from a fixed Tokyo IP"
      description = "The partner allow-lists 203.0.113.10 only."
      traffic     = "net.dst.ip in {198.51.100.0/24} and net.dst.port in {443 8443}"
      egress = {
        method        = "dedicated"
        ipv4          = cfegress_dedicated_egress_ip.tokyo.ipv4
        ipv6          = cfegress_dedicated_egress_ip.tokyo.ipv6_range
        ipv4_fallback = cfegress_dedicated_egress_ip.los_angeles.ipv4 # another colo
      }
    },
    {
      name     = "Finance from Los Angeles"
      traffic  = "net.dst.port in {443 80}"
      identity = "any(identity.groups.name[*] in {\"finance\"})"
      egress = {
        method        = "dedicated"
        ipv4          = cfegress_dedicated_egress_ip.los_angeles.ipv4
        ipv6          = cfegress_dedicated_egress_ip.los_angeles.ipv6_range
        ipv4_fallback = "0.0.0.0" # fall back to default egress (a warning: silenced below)
      }
      lint_ignore = ["fallback_local"]
    },
    {
      # An IP range in a set, and a negation inside any(): staff in at least
      # one group other than "contractors" reach the bank from Tokyo.
      name     = "Bank from Tokyo, staff only"
      traffic  = "net.dst.ip in {192.0.2.128..192.0.2.191} and net.dst.port == 443"
      identity = "any(not(identity.groups[*].name in {\"contractors\"}))"
      egress = {
        method        = "dedicated"
        ipv4          = cfegress_dedicated_egress_ip.tokyo.ipv4
        ipv6          = cfegress_dedicated_egress_ip.tokyo.ipv6_range
        ipv4_fallback = cfegress_dedicated_egress_ip.los_angeles.ipv4
      }
    },
    {
      # The catch-all, last: everything else keeps the user's geolocation.
      name    = "Everything else"
      traffic = "net.dst.ip != 0.0.0.0"
      egress  = { method = "default" }
    },
  ]

  # "required" makes a missing catch-all at the bottom an error.
  catch_all = "required"

  # Plan-time assertions, checked by the decision engine.
  expect = [
    {
      flow        = { ingress_colo = "LAX", source_country = "US", destination_ip = "192.0.2.130", destination_port = 443, protocol = "tcp", groups = ["contractors", "finance-readers"] }
      policy      = "Bank from Tokyo, staff only"
      egress_colo = "NRT"
    },
    {
      flow        = { ingress_colo = "KIX", source_country = "JP", destination_ip = "198.51.100.7", destination_port = 443, protocol = "tcp" }
      policy      = "Partner API from a fixed Tokyo IP"
      egress_ip   = "203.0.113.10"
      egress_colo = "NRT"
    },
    {
      flow        = { ingress_colo = "LAX", source_country = "MX", destination_ip = "192.0.2.44", destination_port = 443, protocol = "tcp", email = "ana@example.com", groups = ["sales"] }
      policy      = "Everything else"
      geo_country = "MX"
    },
  ]

  # Plan-time invariants over whole sets of flows, proven (not sampled):
  # a change that breaks one fails the plan with a counterexample flow.
  invariants = [
    {
      name      = "the partner only ever sees the Tokyo IP"
      traffic   = "net.dst.ip in {198.51.100.0/24} and net.dst.port in {443 8443}"
      policy    = "Partner API from a fixed Tokyo IP"
      egress_ip = "203.0.113.10" # IPv6 flows: its range, 2001:db8:10::/64
    },
    {
      name          = "Mexican users keep their geolocation, but for finance, the partner and the bank"
      traffic       = "net.src.geo.country == \"MX\" and not(net.dst.ip in {198.51.100.0/24 192.0.2.128..192.0.2.191})"
      identity      = "not(any(identity.groups.name[*] in {\"finance\"}))"
      ingress_colos = ["LAX", "QRO"]
      geo_country   = "MX"
    },
  ]

  timeouts = {
    create = "20m"
    update = "20m"
  }
}
