# An egress baseline as a reusable module: destinations that allow-list one
# of the account's dedicated IPs ("pinned"), countries whose users keep their
# own geolocation, and a catch-all from a home location. Its tests
# (tests/*.tftest.hcl) check where traffic leaves from, at plan time, with no
# Cloudflare account: `terraform test` (or `tofu test`) in this directory.
terraform {
  required_version = ">= 1.8" # provider-defined functions
  required_providers {
    cfegress = {
      source = "cfegress/cfegress"
    }
  }
}

variable "account_id" {
  description = "Cloudflare account ID; null takes the provider's."
  type        = string
  default     = null
}

variable "dedicated_ips" {
  description = "The account's dedicated egress IPs, by a name of your choice."
  type = map(object({
    ipv4       = string
    ipv6_range = string
    colo       = string
  }))
}

variable "pinned" {
  description = "Destinations that allow-list one of the dedicated IPs: their traffic leaves from `via`, or from `fallback` (another location) when `via`'s colo is down."
  type = list(object({
    name     = string
    cidrs    = list(string)
    ports    = optional(list(number))
    via      = string
    fallback = string
  }))
  default = []

  validation {
    condition     = alltrue([for p in var.pinned : p.via != p.fallback && alltrue([for c in p.cidrs : can(cidrhost(c, 0))])])
    error_message = "Each pinned destination needs valid CIDRs and a fallback other than its via location."
  }
}

variable "local_geo_countries" {
  description = "ISO 3166-1 alpha-2 codes of user countries that take default egress (the shared pool), so sites see the user's own country."
  type        = list(string)
  default     = []
}

variable "home" {
  description = "Name (a key of dedicated_ips) of the location everything else leaves from."
  type        = string
}

variable "home_fallback" {
  description = "Name of the location everything else leaves from when home's colo is down."
  type        = string
}

variable "expect" {
  description = "Extra plan-time assertions, as cfegress_egress_policies' `expect`."
  type        = any
  default     = []
}

locals {
  ips = var.dedicated_ips

  pinned = [for p in var.pinned : {
    name    = "Pinned: ${p.name}"
    traffic = p.ports == null ? "net.dst.ip in {${join(" ", p.cidrs)}}" : "net.dst.ip in {${join(" ", p.cidrs)}} and net.dst.port in {${join(" ", p.ports)}}"
    egress = {
      method        = "dedicated"
      ipv4          = local.ips[p.via].ipv4
      ipv6          = local.ips[p.via].ipv6_range
      ipv4_fallback = local.ips[p.fallback].ipv4
    }
  }]

  local_geo = length(var.local_geo_countries) == 0 ? [] : [{
    name    = "Local geolocation for ${join(", ", var.local_geo_countries)}"
    traffic = "net.src.geo.country in {${join(" ", [for c in var.local_geo_countries : "\"${c}\""])}}"
    egress  = { method = "default" }
  }]

  catch_all = [{
    name    = "Everything else from ${var.home}"
    traffic = "net.dst.ip in {0.0.0.0/0 ::/0}"
    egress = {
      method        = "dedicated"
      ipv4          = local.ips[var.home].ipv4
      ipv6          = local.ips[var.home].ipv6_range
      ipv4_fallback = local.ips[var.home_fallback].ipv4
    }
  }]

  # First match wins: pinned destinations, then local geolocation, then the
  # catch-all, last.
  policies = concat(local.pinned, local.local_geo, local.catch_all)
}

resource "cfegress_dedicated_egress_ip" "this" {
  for_each   = var.dedicated_ips
  ipv4       = each.value.ipv4
  ipv6_range = each.value.ipv6_range
  colo       = each.value.colo
}

resource "cfegress_egress_policies" "this" {
  account_id           = var.account_id
  dedicated_egress_ips = values(var.dedicated_ips)
  policies             = local.policies
  catch_all            = "required"
  expect               = var.expect

  # Proven at plan over every flow each selects (not sampled): traffic to a
  # pinned destination is always decided by its pinned policy.
  invariants = [for p in local.pinned : {
    name    = "${p.name} is always pinned"
    traffic = p.traffic
    policy  = p.name
  }]
}

output "policies" {
  description = "The ordered egress policies, as written to the account."
  value       = local.policies
}

output "dedicated_ips" {
  description = "The dedicated egress IPs the policies use."
  value       = values(var.dedicated_ips)
}
