# Which traffic does a change move? The current list sends a partner's whole
# range from the Los Angeles IP; the planned one inserts a policy that takes
# its upper half to the Tokyo IP.
locals {
  dedicated_ips = [
    { ipv4 = "203.0.113.10", ipv6_range = "2001:db8:10::/64", colo = "NRT" },
    { ipv4 = "203.0.113.20", ipv6_range = "2001:db8:20::/64", colo = "LAX" },
  ]
  partner = {
    name    = "partner from Los Angeles"
    traffic = "net.dst.ip in {198.51.100.0/24}"
    egress  = { method = "dedicated", ipv4 = "203.0.113.20", ipv6 = "2001:db8:20::/64", ipv4_fallback = "203.0.113.10" }
  }
  rest = { name = "everything else", traffic = "net.protocol in {\"tcp\" \"udp\"}", egress = { method = "default" } }
  tokyo = {
    name    = "partner upper half from Tokyo"
    traffic = "net.dst.ip in {198.51.100.128/25}"
    egress  = { method = "dedicated", ipv4 = "203.0.113.10", ipv6 = "2001:db8:10::/64", ipv4_fallback = "203.0.113.20" }
  }
  current = [local.partner, local.rest]
  planned = [local.tokyo, local.partner, local.rest]
}

output "moved" {
  # => [{ region = "net.dst.ip in {198.51.100.128/25} [IPv4 not proxied, IPv4 proxied]",
  #       example = { ingress_colo = "LAX", destination_ip = "198.51.100.129", proxied = false, ... },
  #       before = { policy = "partner from Los Angeles", egress_ip = "203.0.113.20", egress_colo = "LAX", ... },
  #       after  = { policy = "partner upper half from Tokyo", egress_ip = "203.0.113.10", egress_colo = "NRT", ... },
  #       possibly = false }]
  value = [for r in provider::cfegress::impact(local.current, local.planned, local.dedicated_ips) :
  "${r.region}: ${r.before.egress_ip} -> ${r.after.egress_ip}"]
}

# Guard a protected range: only the flows to 198.51.100.0/24 are compared
# (a first policy takes every other flow alike on both lists), and none may
# move. With local.planned this check fails at plan time, by design.
locals {
  others = { name = "outside the protected range", traffic = "not(net.dst.ip in {198.51.100.0/24})", egress = { method = "default" } }
}

check "partner_range_stays_in_los_angeles" {
  assert {
    condition = length(provider::cfegress::impact(
      concat([local.others], local.current),
      concat([local.others], [merge(local.partner, { description = "reworded: no traffic moves" }), local.rest]),
      local.dedicated_ips,
    )) == 0
    error_message = "A change moves traffic to the partner's range; review the impact before applying."
  }
}
