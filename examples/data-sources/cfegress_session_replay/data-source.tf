# A week of Network Session Logs (a Logpush job for the zero_trust_network_sessions dataset,
# or a Log Explorer export; see the "Replaying session logs" guide) replayed against the
# policy list that was live, and against the change under review.

locals {
  dedicated_ips = [
    { ipv4 = "203.0.113.10", ipv6_range = "2001:db8:10::/64", colo = "NRT" },
    { ipv4 = "203.0.113.20", ipv6_range = "2001:db8:20::/64", colo = "LAX" },
  ]

  # What was live when the sessions were logged: for instance
  # data.cfegress_egress_policies.account.policies, read from the account.
  live_policies = [
    {
      name    = "Partner API from Tokyo"
      traffic = "net.dst.ip in {198.51.100.0/24} and net.dst.port in {443 8443}"
      egress  = { method = "dedicated", ipv4 = "203.0.113.10", ipv6 = "2001:db8:10::/64", ipv4_fallback = "203.0.113.20" }
    },
    {
      name    = "Web keeps the user's geolocation"
      traffic = "net.dst.port in {80 8080}"
      egress  = { method = "default" }
    },
  ]

  # The change under review: the payroll provider from Los Angeles, at the top. Pass the same
  # list you give cfegress_egress_policies (its own attribute is unknown until apply).
  planned_policies = concat([
    {
      name    = "Payroll from Los Angeles"
      traffic = "net.dst.ip in {192.0.2.0/28}"
      egress  = { method = "dedicated", ipv4 = "203.0.113.20", ipv6 = "2001:db8:20::/64", ipv4_fallback = "203.0.113.10" }
    },
  ], local.live_policies)
}

data "cfegress_session_replay" "last_week" {
  records          = file("${path.module}/sessions.ndjson")
  policies         = local.live_policies
  dedicated_ips    = local.dedicated_ips
  planned_policies = local.planned_policies
}

# The provider's model of Cloudflare agrees with what Cloudflare did.
check "engine_agrees_with_cloudflare" {
  assert {
    condition = data.cfegress_session_replay.last_week.disagree == 0
    error_message = join("\n", concat(
      ["${data.cfegress_session_replay.last_week.disagree} logged sessions left otherwise than the engine decides:"],
      [for d in data.cfegress_session_replay.last_week.disagreements : "line ${d.line} (${coalesce(d.session_id, "aggregated")}): ${d.reason}"],
    ))
  }
}

# No session of last week would leave from elsewhere after this change.
check "no_logged_session_changes_egress" {
  assert {
    condition = data.cfegress_session_replay.last_week.changed == 0
    error_message = join("\n", concat(
      ["${data.cfegress_session_replay.last_week.changed} logged sessions would change egress:"],
      [for c in data.cfegress_session_replay.last_week.changes : "line ${c.line}: ${coalesce(c.before.egress_ip, "shared pool")} from ${c.before.egress_colo} -> ${coalesce(c.after.egress_ip, "shared pool")} from ${c.after.egress_colo}"],
    ))
  }
}

output "replay" {
  value = {
    sessions       = data.cfegress_session_replay.last_week.sessions
    agree          = data.cfegress_session_replay.last_week.agree
    disagree       = data.cfegress_session_replay.last_week.disagree
    undecidable    = data.cfegress_session_replay.last_week.undecidable
    changed        = data.cfegress_session_replay.last_week.changed
    unused         = data.cfegress_session_replay.last_week.unused
    planned_unused = data.cfegress_session_replay.last_week.planned_unused
  }
}
