package provider

// Decoding of Terraform values by hand, with errors that name the path of the
// offending element ("policies[3].egress.ipv4").
//
// The functions take function.DynamicParameter arguments (a typed object
// parameter would reject hand-written tuples whose optional attributes are
// absent), and the simulation data sources take dynamic attributes so that
// `cfegress_egress_policies.x.policies` can be passed as is. Every value,
// typed or dynamic, is walked as a tftypes.Value: lists, sets and tuples are
// all "lists"; objects and maps are all "objects"; extra attributes are
// ignored where the input is another resource's value (policies, dedicated
// IPs) and rejected where a typo would silently change the answer (flows).

import (
	"context"
	"fmt"
	"math/big"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/spec"
)

// attrPath is a path inside a decoded value: attribute names and list indexes.
type attrPath []pathStep

type pathStep struct {
	name  string // attribute name; "" for a list index
	index int
}

func (p attrPath) attr(name string) attrPath {
	q := make(attrPath, len(p), len(p)+1)
	copy(q, p)
	return append(q, pathStep{name: name})
}

func (p attrPath) idx(i int) attrPath {
	q := make(attrPath, len(p), len(p)+1)
	copy(q, p)
	return append(q, pathStep{index: i})
}

// String renders the path as users write it in HCL: policies[3].egress.ipv4.
func (p attrPath) String() string {
	var b strings.Builder
	for i, s := range p {
		if s.name == "" {
			fmt.Fprintf(&b, "[%d]", s.index)
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.name)
	}
	return b.String()
}

// From appends the path to base, for diagnostics attached to a schema path.
func (p attrPath) From(base path.Path) path.Path {
	for _, s := range p {
		if s.name == "" {
			base = base.AtListIndex(s.index)
		} else {
			base = base.AtName(s.name)
		}
	}
	return base
}

// DecodeError is a value that cannot be decoded. Path names the offending
// element relative to the decoded value; Unknown is set when the value is
// not known yet (plan time), which callers usually treat as "cannot tell yet"
// rather than as an error.
type DecodeError struct {
	Path    attrPath
	Msg     string
	Unknown bool
}

func (e *DecodeError) Error() string {
	if len(e.Path) == 0 {
		return e.Msg
	}
	return e.Path.String() + ": " + e.Msg
}

// dv is a value being decoded and its path.
type dv struct {
	v tftypes.Value
	p attrPath
}

func (d dv) null() bool { return d.v.Type() == nil || d.v.IsNull() }

func (d dv) known() bool { return d.v.Type() == nil || d.v.IsKnown() }

func (d dv) errf(format string, args ...any) *DecodeError {
	return &DecodeError{Path: d.p, Msg: fmt.Sprintf(format, args...)}
}

func (d dv) unknownErr() *DecodeError {
	return &DecodeError{Path: d.p, Msg: "value is not known yet", Unknown: true}
}

// kind describes a value's type for error messages.
func (d dv) kind() string {
	t := d.v.Type()
	switch {
	case t == nil:
		return "null"
	case t.Is(tftypes.String):
		return "a string"
	case t.Is(tftypes.Number):
		return "a number"
	case t.Is(tftypes.Bool):
		return "a bool"
	case t.Is(tftypes.List{}), t.Is(tftypes.Set{}), t.Is(tftypes.Tuple{}):
		return "a list"
	case t.Is(tftypes.Object{}), t.Is(tftypes.Map{}):
		return "an object"
	}
	return t.String()
}

// object returns the attributes of an object or map value, with their paths.
func (d dv) object() (map[string]dv, error) {
	if !d.known() {
		return nil, d.unknownErr()
	}
	if d.null() {
		return nil, d.errf("must be an object, got null")
	}
	t := d.v.Type()
	if !t.Is(tftypes.Object{}) && !t.Is(tftypes.Map{}) {
		return nil, d.errf("must be an object, got %s", d.kind())
	}
	var m map[string]tftypes.Value
	if err := d.v.As(&m); err != nil {
		return nil, d.errf("must be an object: %s", err)
	}
	out := make(map[string]dv, len(m))
	for k, v := range m {
		out[k] = dv{v: v, p: d.p.attr(k)}
	}
	return out, nil
}

// list returns the elements of a list, set or tuple, with their paths.
func (d dv) list() ([]dv, error) {
	if !d.known() {
		return nil, d.unknownErr()
	}
	if d.null() {
		return nil, nil
	}
	t := d.v.Type()
	if !t.Is(tftypes.List{}) && !t.Is(tftypes.Set{}) && !t.Is(tftypes.Tuple{}) {
		return nil, d.errf("must be a list, got %s", d.kind())
	}
	var l []tftypes.Value
	if err := d.v.As(&l); err != nil {
		return nil, d.errf("must be a list: %s", err)
	}
	out := make([]dv, len(l))
	for i, v := range l {
		out[i] = dv{v: v, p: d.p.idx(i)}
	}
	return out, nil
}

// str returns a string value. Null gives ok=false.
func (d dv) str() (s string, ok bool, err error) {
	if !d.known() {
		return "", false, d.unknownErr()
	}
	if d.null() {
		return "", false, nil
	}
	if !d.v.Type().Is(tftypes.String) {
		return "", false, d.errf("must be a string, got %s", d.kind())
	}
	if err := d.v.As(&s); err != nil {
		return "", false, d.errf("must be a string: %s", err)
	}
	return s, true, nil
}

// num returns a number; a numeric string is accepted too (HCL converts them
// the same way). Null gives ok=false.
func (d dv) num() (n *big.Float, ok bool, err error) {
	if !d.known() {
		return nil, false, d.unknownErr()
	}
	if d.null() {
		return nil, false, nil
	}
	t := d.v.Type()
	switch {
	case t.Is(tftypes.Number):
		n = new(big.Float)
		if err := d.v.As(&n); err != nil {
			return nil, false, d.errf("must be a number: %s", err)
		}
		return n, true, nil
	case t.Is(tftypes.String):
		var s string
		_ = d.v.As(&s)
		f, _, perr := big.ParseFloat(strings.TrimSpace(s), 10, 64, big.ToNearestEven)
		if perr != nil {
			return nil, false, d.errf("must be a number, got %q", s)
		}
		return f, true, nil
	}
	return nil, false, d.errf("must be a number, got %s", d.kind())
}

// integer returns a whole number in [lo, hi].
func (d dv) integer(lo, hi int64) (int64, bool, error) {
	n, ok, err := d.num()
	if err != nil || !ok {
		return 0, ok, err
	}
	if !n.IsInt() {
		return 0, false, d.errf("must be a whole number, got %s", n.Text('g', -1))
	}
	i, _ := n.Int64()
	if i < lo || i > hi {
		return 0, false, d.errf("must be between %d and %d, got %s", lo, hi, n.Text('f', 0))
	}
	return i, true, nil
}

// boolean returns a bool; "true"/"false" strings are accepted too.
func (d dv) boolean() (b bool, ok bool, err error) {
	if !d.known() {
		return false, false, d.unknownErr()
	}
	if d.null() {
		return false, false, nil
	}
	t := d.v.Type()
	switch {
	case t.Is(tftypes.Bool):
		_ = d.v.As(&b)
		return b, true, nil
	case t.Is(tftypes.String):
		var s string
		_ = d.v.As(&s)
		if pb, perr := strconv.ParseBool(s); perr == nil {
			return pb, true, nil
		}
	}
	return false, false, d.errf("must be true or false, got %s", d.kind())
}

// strList returns a list of strings; null gives nil.
func (d dv) strList() ([]string, error) {
	els, err := d.list()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range els {
		s, ok, err := e.str()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, e.errf("must be a string, got null")
		}
		out = append(out, s)
	}
	return out, nil
}

// addr parses an IP address attribute.
func (d dv) addr() (netip.Addr, bool, error) {
	s, ok, err := d.str()
	if err != nil || !ok || strings.TrimSpace(s) == "" {
		return netip.Addr{}, false, err
	}
	a, perr := netip.ParseAddr(strings.TrimSpace(s))
	if perr != nil {
		return netip.Addr{}, false, d.errf("%q is not an IP address", s)
	}
	return a.Unmap(), true, nil
}

// prefix parses an IPv6 range attribute (CIDR, e.g. 2a09:bac0:1000:1::/64).
func (d dv) prefix() (netip.Prefix, bool, error) {
	s, ok, err := d.str()
	if err != nil || !ok || strings.TrimSpace(s) == "" {
		return netip.Prefix{}, false, err
	}
	p, perr := netip.ParsePrefix(strings.TrimSpace(s))
	if perr != nil {
		return netip.Prefix{}, false, d.errf("%q is not an IP range in CIDR notation (e.g. 2a09:bac0:1000:1::/64)", s)
	}
	return p.Masked(), true, nil
}

// rejectUnknownAttrs fails on attribute names not in allowed, suggesting the
// closest one (typos in a flow would otherwise change the answer silently).
func rejectUnknownAttrs(m map[string]dv, allowed []string) error {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	set := map[string]bool{}
	for _, a := range allowed {
		set[a] = true
	}
	for _, k := range names {
		if set[k] {
			continue
		}
		msg := "unsupported attribute"
		if s := closest(k, allowed); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		} else {
			msg += "; expected one of " + strings.Join(allowed, ", ")
		}
		return m[k].errf("%s", msg)
	}
	return nil
}

// closest returns the candidate within edit distance 3 of s, or "".
func closest(s string, candidates []string) string {
	best, bestD := "", 4
	for _, c := range candidates {
		if d := engine.EditDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// rootValue turns any framework value (typed, custom or dynamic) into the
// root of a decode, named name ("" for none).
func rootValue(ctx context.Context, v attr.Value, name string) (dv, error) {
	var p attrPath
	if name != "" {
		p = p.attr(name)
	}
	if v == nil {
		return dv{p: p}, nil
	}
	tv, err := v.ToTerraformValue(ctx)
	if err != nil {
		return dv{}, &DecodeError{Path: p, Msg: "cannot read value: " + err.Error()}
	}
	return dv{v: tv, p: p}, nil
}

// ---------------------------------------------------------------------------
// Dedicated egress IPs

// decodeDedicatedIPs reads a list of {ipv4, ipv6_range, colo[, byoip]} objects. Extra
// attributes (id, city, ... of cfegress_dedicated_egress_ip) are ignored, so
// `[cfegress_dedicated_egress_ip.nrt, ...]` works as is. A plain IPv4
// string is not enough: the engine needs the colo.
func decodeDedicatedIPs(d dv) ([]engine.DedicatedIP, error) {
	els, err := d.list()
	if err != nil {
		return nil, err
	}
	out := make([]engine.DedicatedIP, 0, len(els))
	for _, e := range els {
		m, err := e.object()
		if err != nil {
			if de, ok := err.(*DecodeError); ok && !de.Unknown {
				de.Msg += " with ipv4, ipv6_range and colo (a cfegress_dedicated_egress_ip works as is)"
			}
			return nil, err
		}
		var sd spec.DedicatedIP
		for key, dst := range map[string]*string{"ipv4": &sd.IPv4, "ipv6_range": &sd.IPv6Range, "colo": &sd.Colo} {
			s, _, err := m[key].withPath(e.p.attr(key)).str()
			if err != nil {
				return nil, err
			}
			*dst = s
		}
		b, _, err := m["byoip"].withPath(e.p.attr("byoip")).boolean()
		if err != nil {
			return nil, err
		}
		sd.BYOIP = b
		ip, err := sd.Engine()
		if err != nil {
			return nil, specErrorAt(e.p, err)
		}
		out = append(out, ip)
	}
	return out, nil
}

// specErrorAt turns a spec.Error (relative to one policy or dedicated IP)
// into a DecodeError at base.
func specErrorAt(base attrPath, err error) error {
	se, ok := err.(*spec.Error)
	if !ok {
		return err
	}
	p := base
	if se.Attr != "" {
		for _, name := range strings.Split(se.Attr, ".") {
			p = p.attr(name)
		}
	}
	return p.errf("%s", se.Msg)
}

// withPath gives a (possibly absent, zero) attribute value its path.
func (d dv) withPath(p attrPath) dv { return dv{v: d.v, p: p} }

func (p attrPath) errf(format string, args ...any) *DecodeError {
	return &DecodeError{Path: p, Msg: fmt.Sprintf(format, args...)}
}

// ---------------------------------------------------------------------------
// Policies

// policyInput is one policy as written, before compilation: raw strings for
// lint, and which of them are known.
type policyInput struct {
	Path attrPath
	// ID is the Cloudflare rule ID when the value carries a known one (the
	// resource's state and plan do): the change impact pairs policies by it.
	ID            string
	Name          string
	Description   string
	Enabled       bool
	Traffic       string
	Identity      string
	DevicePosture string
	Method        string
	IPv4          string
	IPv6          string
	IPv4Fallback  string
	IPv6Fallback  string // set when a secondary IPv6 is asked for (there is none)
	LintIgnore    []string
	// Unknown lists the attributes (relative to the policy) whose values are
	// not known yet.
	Unknown map[string]bool
}

// decodePolicies reads a list of policies as the resource's `policies`
// attribute holds them. Unknown values are recorded, not errors.
func decodePolicies(d dv) ([]policyInput, error) {
	els, err := d.list()
	if err != nil {
		return nil, err
	}
	out := make([]policyInput, 0, len(els))
	for _, e := range els {
		m, err := e.object()
		if err != nil {
			return nil, err
		}
		pi := policyInput{Path: e.p, Enabled: true, Unknown: map[string]bool{}}
		getStr := func(key string, dst *string) error {
			s, _, err := m[key].withPath(e.p.attr(key)).str()
			if de, ok := err.(*DecodeError); ok && de.Unknown {
				pi.Unknown[key] = true
				return nil
			}
			*dst = s
			return err
		}
		for key, dst := range map[string]*string{
			"name": &pi.Name, "description": &pi.Description, "traffic": &pi.Traffic,
			"identity": &pi.Identity, "device_posture": &pi.DevicePosture,
		} {
			if err := getStr(key, dst); err != nil {
				return nil, err
			}
		}
		if id, _, err := m["id"].withPath(e.p.attr("id")).str(); err == nil {
			pi.ID = id // unknown (a policy to be created) or absent: ""
		}
		if b, ok, err := m["enabled"].withPath(e.p.attr("enabled")).boolean(); err != nil {
			if de, isDE := err.(*DecodeError); isDE && de.Unknown {
				pi.Unknown["enabled"] = true
			} else {
				return nil, err
			}
		} else if ok {
			pi.Enabled = b
		}
		if li, err := m["lint_ignore"].withPath(e.p.attr("lint_ignore")).strList(); err != nil {
			if de, isDE := err.(*DecodeError); isDE && de.Unknown {
				pi.Unknown["lint_ignore"] = true
			} else {
				return nil, err
			}
		} else {
			pi.LintIgnore = li
		}
		if err := decodeEgress(m["egress"].withPath(e.p.attr("egress")), &pi); err != nil {
			return nil, err
		}
		out = append(out, pi)
	}
	return out, nil
}

var egressAttrs = []string{"method", "ipv4", "ipv6", "ipv4_fallback"}

func decodeEgress(d dv, pi *policyInput) error {
	if !d.known() {
		for _, k := range egressAttrs {
			pi.Unknown["egress."+k] = true
		}
		return nil
	}
	if d.null() {
		return d.errf("egress is required: { method = \"default\" } or { method = \"dedicated\", ipv4 = ..., ipv6 = ..., ipv4_fallback = ... }")
	}
	m, err := d.object()
	if err != nil {
		return err
	}
	if err := rejectUnknownAttrs(m, append(egressAttrs, "ipv6_fallback")); err != nil {
		return err
	}
	if v, ok := m["ipv6_fallback"]; ok && v.known() && !v.null() {
		pi.IPv6Fallback = "set"
		if s, _, err := v.withPath(d.p.attr("ipv6_fallback")).str(); err == nil && s != "" {
			pi.IPv6Fallback = s
		}
	}
	for key, dst := range map[string]*string{
		"method": &pi.Method, "ipv4": &pi.IPv4, "ipv6": &pi.IPv6, "ipv4_fallback": &pi.IPv4Fallback,
	} {
		s, _, err := m[key].withPath(d.p.attr(key)).str()
		if de, ok := err.(*DecodeError); ok && de.Unknown {
			pi.Unknown["egress."+key] = true
			continue
		}
		if err != nil {
			return err
		}
		*dst = strings.TrimSpace(s)
	}
	if pi.Method == "" && !pi.Unknown["egress.method"] {
		pi.Method = string(engine.MethodDefault)
		if pi.IPv4 != "" || pi.IPv6 != "" || pi.IPv4Fallback != "" {
			pi.Method = string(engine.MethodDedicated)
		}
	}
	if !pi.Unknown["egress.method"] {
		switch engine.Method(pi.Method) {
		case engine.MethodDefault, engine.MethodDedicated:
		default:
			return d.p.attr("method").errf("must be \"default\" or \"dedicated\", got %q", pi.Method)
		}
	}
	return nil
}

// unknownForDecide returns the first attribute of the policy the engine needs
// whose value is not known yet, or "".
func (pi *policyInput) unknownForDecide() string {
	keys := make([]string, 0, len(pi.Unknown))
	for k := range pi.Unknown {
		if k != "description" && k != "lint_ignore" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return ""
	}
	return keys[0]
}

// enginePolicy converts a decoded policy for the engine: IPs are parsed and
// the expressions compiled. Errors name the attribute.
func (pi *policyInput) enginePolicy() (engine.Policy, error) {
	p, err := pi.spec().Engine()
	if err != nil {
		return p, specErrorAt(pi.Path, err)
	}
	return p, nil
}

// spec is the policy as text, for internal/engine/spec.
func (pi *policyInput) spec() spec.Policy {
	return spec.Policy{
		ID: pi.ID, Name: pi.Name, Description: pi.Description, Enabled: pi.Enabled,
		Traffic: pi.Traffic, Identity: pi.Identity, DevicePosture: pi.DevicePosture,
		Method: pi.Method, IPv4: pi.IPv4, IPv6: pi.IPv6, IPv4Fallback: pi.IPv4Fallback,
		IPv6Fallback: pi.IPv6Fallback,
	}
}
