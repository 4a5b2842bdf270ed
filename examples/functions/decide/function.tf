# Where does a user at Osaka (KIX) leave Cloudflare when no policy matches?
# The dedicated IP nearest the ingress colo is used: Tokyo (NRT).
locals {
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

output "kix_ssh" {
  # => { outcome = "no_match", egress_ip = "203.0.113.10", egress_colo = "NRT", geo_country = "JP", ... }
  value = provider::cfegress::decide(local.policies, local.dedicated_ips, {
    ingress_colo     = "KIX"
    destination_ip   = "198.51.100.7"
    protocol         = "tcp"
    destination_port = 22
  })
}

# The selectors Cloudflare added lately are flow fields too: OIDC claims
# ("name=value"), failed device posture checks, the traffic source. A BYOIP
# dedicated IP (the account's own prefix) has no IP geolocation.
locals {
  byoip_ips = [
    { ipv4 = "198.51.100.10", ipv6_range = "2001:db8:77::/64", colo = "NRT", byoip = true },
    { ipv4 = "203.0.113.20", ipv6_range = "2a09:bac0:1000:20::/64", colo = "LAX" },
  ]
  engineering = [
    {
      name     = "engineering from our own prefix"
      identity = "any(identity.oidc_claims[*] == \"\\\"department=engineering\\\"\")"
      traffic  = "net.dst.ip in {192.0.2.0..192.0.2.127}"
      egress   = { method = "dedicated", ipv4 = "198.51.100.10", ipv6 = "2001:db8:77::/64", ipv4_fallback = "203.0.113.20" }
    },
  ]
}

output "engineer" {
  # => { outcome = "policy", egress_ip = "198.51.100.10", egress_colo = "NRT", geo_country = null, no_geolocation = true, ... }
  value = provider::cfegress::decide(local.engineering, local.byoip_ips, {
    ingress_colo   = "KIX"
    destination_ip = "192.0.2.10"
    oidc_claims    = ["department=engineering"]
    user_id        = "6f1c2e7a-0b3d-4c5e-8f9a-1b2c3d4e5f60" # picks among equidistant IPs
  })
}

# The resource's policies can be passed as is, and decide works in check blocks.
check "web_leaves_from_lax" {
  assert {
    condition = provider::cfegress::decide(local.policies, local.dedicated_ips, {
      ingress_colo = "NRT", destination_ip = "198.51.100.7", destination_port = 443
    }).egress_colo == "LAX"
    error_message = "Web traffic should leave from the Los Angeles dedicated IP."
  }
}
