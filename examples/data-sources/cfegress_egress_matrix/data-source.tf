# The seed's table: where IPv4/IPv6, grey/orange traffic leaves Cloudflare
# for users at KIX and LAX, with no policy matched and with each dedicated policy.
data "cfegress_egress_matrix" "example" {
  ingress_colos = ["KIX", "LAX"]
  dedicated_ips = [
    { ipv4 = "203.0.113.10", ipv6_range = "2a09:bac0:1000:10::/64", colo = "NRT" },
    { ipv4 = "203.0.113.20", ipv6_range = "2a09:bac0:1000:20::/64", colo = "LAX" },
  ]
  policies = [
    {
      name    = "web via Los Angeles"
      traffic = "net.dst.port in {443 80}"
      egress  = { method = "dedicated", ipv4 = "203.0.113.20", ipv6 = "2a09:bac0:1000:20::/64", ipv4_fallback = "203.0.113.10" }
    },
  ]
}

output "matrix" {
  value = [for r in data.cfegress_egress_matrix.example.rows :
    format("%-4s %-26s %-12s -> leaves from %s as %s (%s)", r.ingress_colo, coalesce(r.policy, "no match"), r.case,
  r.egress_colo, coalesce(r.source_ip, "shared pool"), r.geo_country)]
}
