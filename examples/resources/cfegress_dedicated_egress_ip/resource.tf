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

# Your own address (BYOIP) assigned as a dedicated egress IP. Cloudflare:
# "BYOIP dedicated egress IPs do not support IP geolocation", so simulations
# report no_geolocation for traffic leaving from it. The IPv6 range may be
# written as Cloudflare shows it (host bits set); it is compared masked.
resource "cfegress_dedicated_egress_ip" "own_prefix" {
  ipv4       = "198.51.100.10"
  ipv6_range = "2001:db8:77::c61/64"
  colo       = "NRT"
  byoip      = true
}

# Computed from the colo catalog at plan time.
output "tokyo_geolocation" {
  value = "${cfegress_dedicated_egress_ip.tokyo.city}, ${cfegress_dedicated_egress_ip.tokyo.country}"
}
