locals {
  dedicated_ips = [
    { ipv4 = "203.0.113.10", ipv6_range = "2a09:bac0:1000:10::/64", colo = "NRT" },
    { ipv4 = "203.0.113.20", ipv6_range = "2a09:bac0:1000:20::/64", colo = "LAX" },
  ]
  policies = [
    { name = "everything", traffic = "net.dst.ip in {0.0.0.0/0 ::/0}", egress = { method = "default" } },
    { name = "ssh", traffic = "net.dst.port == 22", egress = { method = "default" } },
  ]
}

# => [
#   { rule = "catch_all_not_last", severity = "error", policy = "everything", index = 0, ... },
#   { rule = "shadowed", severity = "error", policy = "ssh", index = 1, ... },
# ]
output "findings" {
  value = provider::cfegress::lint(local.policies, local.dedicated_ips)
}

output "errors" {
  value = [for f in provider::cfegress::lint(local.policies, local.dedicated_ips) : "${f.policy}: ${f.message}" if f.severity == "error"]
}
