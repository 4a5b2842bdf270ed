# The account's egress policies as they are, in evaluation order.
data "cfegress_egress_policies" "current" {}

resource "cfegress_dedicated_egress_ip" "nrt" {
  ipv4       = "203.0.113.10"
  ipv6_range = "2a09:bac0:1000:10::/64"
  colo       = "NRT"
}

resource "cfegress_dedicated_egress_ip" "lax" {
  ipv4       = "203.0.113.20"
  ipv6_range = "2a09:bac0:1000:20::/64"
  colo       = "LAX"
}

# What the live policies would do with a flow, and what lint thinks of them.
output "osaka_https" {
  value = provider::cfegress::decide(
    data.cfegress_egress_policies.current.policies,
    [cfegress_dedicated_egress_ip.nrt, cfegress_dedicated_egress_ip.lax],
    { ingress_colo = "KIX", destination_ip = "198.51.100.7", destination_port = 443, protocol = "tcp" },
  )
}

output "findings" {
  value = provider::cfegress::lint(data.cfegress_egress_policies.current.policies, [cfegress_dedicated_egress_ip.nrt, cfegress_dedicated_egress_ip.lax])
}
