package provider

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// checkIPv4 reports why s is not a usable IPv4 address. 0.0.0.0 is allowed
// only where it means "fall back to default egress" (ipv4_fallback).
func checkIPv4(s string, allowUnspecified bool) error {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	switch {
	case err != nil:
		return fmt.Errorf("%q is not an IPv4 address (write it like 203.0.113.10)", s)
	case !a.Is4():
		return fmt.Errorf("%q is not an IPv4 address: IPv6 goes in the ipv6 / ipv6_range attribute", s)
	case a.IsUnspecified() && !allowUnspecified:
		return fmt.Errorf("%q is not a usable address: write the dedicated IPv4 address Cloudflare allocated", s)
	}
	return nil
}

// checkIPv6Range reports why s is not an IPv6 range. Any IPv6 prefix is
// accepted as Cloudflare shows it, host bits included, and compared masked
// (kindCIDR's semantic equality, the engine and lint mask it): each account
// "receives a /64 IPv6 range" (dedicated egress IPs page), but Cloudflare's
// own fixtures carry "2a06:98c1:54::c61/64" (cloudflare-go
// teams_rules_test.go) and its egress policies page pairs an IPv4 with
// 2001:db8::/32.
func checkIPv6Range(s string) error {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	switch {
	case err != nil:
		if a, aerr := netip.ParseAddr(strings.TrimSpace(s)); aerr == nil && a.Is6() {
			return fmt.Errorf("%q is an address, not a range: write its prefix, e.g. %s", s, netip.PrefixFrom(a, 64).Masked())
		}
		return fmt.Errorf("%q is not an IPv6 range in CIDR notation (write it like 2001:db8:10::/64)", s)
	case !p.Addr().Is6() || p.Addr().Is4In6():
		return fmt.Errorf("%q is not an IPv6 range: the IPv4 address goes in the ipv4 attribute", s)
	}
	return nil
}

// ipv4Validator checks an IPv4 address attribute.
type ipv4Validator struct{ allowUnspecified bool }

func (v ipv4Validator) Description(context.Context) string {
	if v.allowUnspecified {
		return "an IPv4 address, or 0.0.0.0 for default egress"
	}
	return "an IPv4 address"
}

func (v ipv4Validator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v ipv4Validator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := checkIPv4(req.ConfigValue.ValueString(), v.allowUnspecified); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid IPv4 address", fmt.Sprintf("%s: %s.", req.Path, err))
	}
}

// ipv6RangeValidator checks an IPv6 range attribute.
type ipv6RangeValidator struct{}

func (ipv6RangeValidator) Description(context.Context) string {
	return "an IPv6 range in CIDR notation (usually a /64)"
}

func (v ipv6RangeValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (ipv6RangeValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := checkIPv6Range(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid IPv6 range", fmt.Sprintf("%s: %s.", req.Path, err))
	}
}

// coloValidator checks that a colo code is in the catalog.
type coloValidator struct{}

func (coloValidator) Description(context.Context) string {
	return "an IATA colo code from the catalog"
}

func (v coloValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (coloValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := lookupColo(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Unknown colo", fmt.Sprintf("%s: %s.", req.Path, err))
	}
}

// notEmptyValidator rejects "" (the API's "" and null are the same value, so
// an empty string is written by leaving the attribute out).
type notEmptyValidator struct{}

func (notEmptyValidator) Description(context.Context) string {
	return "not an empty string (leave the attribute out instead)"
}

func (v notEmptyValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (notEmptyValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if strings.TrimSpace(req.ConfigValue.ValueString()) == "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Empty value",
			fmt.Sprintf("%s is an empty string: leave the attribute out (or set it to null) instead; Cloudflare stores an empty value as unset.", req.Path))
	}
}

// redact removes the API token from s.
func redact(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "[REDACTED]")
}
