data "cfegress_egress_decision" "example" {
  dedicated_ips = [
    { ipv4 = "203.0.113.10", ipv6_range = "2a09:bac0:1000:10::/64", colo = "NRT" },
    { ipv4 = "203.0.113.20", ipv6_range = "2a09:bac0:1000:20::/64", colo = "LAX" },
  ]
  # Or: policies = cfegress_egress_policies.account.policies
  policies = [
    {
      name    = "ssh via default egress"
      traffic = "net.dst.port == 22"
      egress  = { method = "default" }
    },
  ]

  flows = [
    # No policy matches: the dedicated IP nearest KIX (NRT).
    { name = "Osaka user, HTTPS", ingress_colo = "KIX", destination_ip = "198.51.100.7", destination_port = 443, protocol = "tcp" },
    # Default egress keeps the user's geolocation: a Mexican colo, geo MX.
    { name = "Mexico user at LAX, SSH", ingress_colo = "LAX", source_country = "MX", destination_ip = "198.51.100.7", destination_port = 22, protocol = "tcp" },
    # The nearest dedicated IP's colo is down: the next nearest healthy one.
    { name = "Osaka user, NRT down", ingress_colo = "KIX", destination_ip = "198.51.100.7", destination_port = 443, protocol = "tcp", colos_down = ["NRT"] },
  ]
}

output "decisions" {
  value = { for d in data.cfegress_egress_decision.example.decisions : d.name => "${d.outcome}: ${coalesce(d.egress_ip, "shared pool")} from ${d.egress_colo} (${d.geo_country})" }
}
