terraform {
  required_providers {
    cfegress = { source = "cfegress/cfegress" }
  }
}
provider "cfegress" {}

variable "insert" {
  type    = bool
  default = false
}

locals {
  tokyo = { ipv4 = "203.0.113.10", ipv6_range = "2001:db8:10::/64", colo = "NRT" }
  la    = { ipv4 = "203.0.113.20", ipv6_range = "2001:db8:20::/64", colo = "LAX" }
  partner = {
    name        = "Partner API from a fixed Tokyo IP"
    description = "The partner allow-lists 203.0.113.10 only."
    traffic     = "net.dst.ip in {198.51.100.0/24} and net.dst.port in {443 8443}"
    egress      = { method = "dedicated", ipv4 = "203.0.113.10", ipv6 = "2001:db8:10::/64", ipv4_fallback = "203.0.113.20" }
  }
  tokyo_office = {
    name    = "Tokyo office range from Tokyo"
    traffic = "net.dst.ip in {198.51.100.128/25}"
    egress  = { method = "dedicated", ipv4 = "203.0.113.10", ipv6 = "2001:db8:10::/64", ipv4_fallback = "0.0.0.0" }
  }
  mexico = {
    name    = "Mexico sales keep local geolocation"
    traffic = "net.src.geo.country == \"MX\""
    egress  = { method = "default" }
  }
  rest = {
    name    = "Everything else from Los Angeles"
    traffic = "net.protocol in {\"tcp\" \"udp\"}"
    egress  = { method = "dedicated", ipv4 = "203.0.113.20", ipv6 = "2001:db8:20::/64", ipv4_fallback = "203.0.113.10" }
  }
}

resource "cfegress_egress_policies" "this" {
  dedicated_egress_ips = [local.tokyo, local.la]
  policies             = concat(var.insert ? [local.tokyo_office] : [], [local.partner, local.mexico, local.rest])
}
