# A dedicated egress location your Cloudflare account team allocated: there is
# no public API to create one, so this resource only declares it (no API call).
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

# Computed from the colo catalog at plan time.
output "tokyo_geolocation" {
  value = "${cfegress_dedicated_egress_ip.tokyo.city}, ${cfegress_dedicated_egress_ip.tokyo.country}"
}
