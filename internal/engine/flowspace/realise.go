package flowspace

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
)

// Turning a piece of the flow space back into a flow: an example that the
// engine can decide. Every dimension of the space gets a value (a field
// some expression reads must be present, or the decision is indeterminate),
// preferring values a reader recognises (443, "US", "user@example.com")
// over the algebra's first members; regex conditions are realised by a
// string that matches (or does not).

// ErrNoExample: the piece's conditions cannot be turned into a flow (a
// $list reference, whose contents live in Cloudflare, or a regex no
// generated string satisfies).
var ErrNoExample = errors.New("no example flow")

// Example returns a flow of p. base gives the values of fields p leaves
// free where they fit (its ingress colo, destination, ...); fields no
// dimension of the space stands for are base's.
func (a *Analyzer) Example(p Piece, base engine.Flow) (engine.Flow, error) {
	sp := a.sp
	f := base
	regexes := map[string][]atomWant{} // field -> regex conditions
	for d := range sp.dims {
		dm := &sp.dims[d]
		c, constrained := p.b.get(d)
		if !constrained {
			c = dm.univ
		}
		if dm.opaque {
			want := false
			if constrained {
				want = c.b&2 == 0 // only "true" allowed
			}
			m, ok := dm.atom.(*expr.Matches)
			if !ok {
				if a2, isAny := dm.atom.(*expr.Any); isAny {
					m, ok = a2.Body.(*expr.Matches)
				}
			}
			if !ok {
				if !constrained {
					continue // an atom the piece leaves free: any value will do
				}
				return engine.Flow{}, fmt.Errorf("%w: %s (the contents of a Gateway list are not known here)", ErrNoExample, expr.Format(dm.atom))
			}
			key := m.Field.Name
			if m.Field.HasKey {
				key += "[" + m.Field.Key + "]"
			}
			if constrained {
				regexes[key] = append(regexes[key], atomWant{m.Regex, want})
			} else if _, seen := regexes[key]; !seen {
				regexes[key] = nil // the field needs a value, any value
			}
			continue
		}
		if err := a.setField(&f, dm, c); err != nil {
			return engine.Flow{}, err
		}
	}
	for field, ws := range regexes {
		if err := realiseRegexes(sp, &f, field, ws, p.b); err != nil {
			return engine.Flow{}, err
		}
	}
	if f.Protocol == "" {
		f.Protocol = "tcp"
	}
	if f.DestinationPort == 0 {
		f.DestinationPort = 443
	}
	return f, nil
}

type atomWant struct {
	re   string
	want bool
}

// Preferred values, tried first where the constraint allows them.
var preferred = map[string][]string{
	"net.dst.geo.country":     {"US", "JP", "DE", "GB", "FR"},
	"net.src.geo.country":     {"US", "JP", "DE", "GB", "FR"},
	"net.dst.geo.continent":   {"NA", "AS", "EU", "OC", "SA", "AF", "AN"},
	"net.src.geo.continent":   {"NA", "AS", "EU", "OC", "SA", "AF", "AN"},
	"identity.email":          {"user@example.com", "someone@example.com"},
	"identity.name":           {"Alex Example", "Sam Example"},
	"net.fqdn.host":           {"app.example.com", "www.example.org"},
	"net.fqdn.domains":        {"example.com", "example.org"},
	"net.vnet_id":             {"vnet-1"},
	"proxy.endpoint":          {"endpoint-1"},
	"net.onramp.type":         {"device_client", "mesh", "cloudflare_wan"},
	"identity.groups":         {"staff", "everyone"},
	"identity.oidc_claims":    {"role=staff"},
	"net.protocol":            {"tcp", "udp"},
	"device_posture.checks.*": {"posture-check-1"},
}

var preferredPorts = []int64{443, 80, 53, 22, 8443}

func preferredFor(name string) []string {
	if v, ok := preferred[name]; ok {
		return v
	}
	if strings.HasPrefix(name, "device_posture.checks.") {
		return preferred["device_posture.checks.*"]
	}
	return []string{"value"}
}

// pickStr picks a member of s, preferring prefs.
func pickStr(s strset, prefs []string) (string, bool) {
	for _, p := range prefs {
		if s.has(p) {
			return p, true
		}
	}
	return s.sample()
}

// pickNum picks a member of iv, preferring prefs.
func pickNum(iv ivset, prefs []int64) (u128, bool) {
	for _, p := range prefs {
		if k := keyOfInt(p); iv.has(k) {
			return k, true
		}
	}
	if len(iv) == 0 {
		return u128{}, false
	}
	return iv[0].lo, true
}

// pickAddr picks an address of c, preferring want, then one past a range's
// first (network) address.
func pickAddr(c cons, want netip.Addr) (netip.Addr, bool) {
	if want.IsValid() {
		if k := keyOfAddr(want.Unmap()); (want.Unmap().Is4() && c.v4.has(k)) || (!want.Unmap().Is4() && c.v6.has(k)) {
			return want, true
		}
	}
	from := func(iv ivset, v6 bool) (netip.Addr, bool) {
		if len(iv) == 0 {
			return netip.Addr{}, false
		}
		k := iv[0].lo
		if iv[0].lo.cmp(iv[0].hi) < 0 {
			k = k.inc()
		}
		return addrOfKey(k, v6), true
	}
	if want.IsValid() && !want.Unmap().Is4() {
		if a, ok := from(c.v6, true); ok {
			return a, true
		}
	}
	if a, ok := from(c.v4, false); ok {
		return a, true
	}
	return from(c.v6, true)
}

func addrOfKey(k u128, v6 bool) netip.Addr {
	if !v6 {
		x := uint32(k.lo)
		return netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
	}
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[i] = byte(k.hi >> (56 - 8*i))
		b[8+i] = byte(k.lo >> (56 - 8*i))
	}
	return netip.AddrFrom16(b)
}

func intOfKey(k u128) int64 { return int64(k.lo ^ (1 << 63)) }

// pickArray picks a minimal array value for c: one element per requirement,
// preferring recognisable values and, for tuple elements, the same value
// in every coordinate (a group whose id, name and e-mail agree).
func pickArray(c cons, prefs []string) ([]string, []int64, bool) {
	a := c.arr
	n := len(a.forbid)
	var ss []string
	var ks []int64
	for _, r := range a.req {
		if r.c.kind == kNum {
			k, ok := pickNum(r.c.v4, []int64{1})
			if !ok {
				return nil, nil, false
			}
			ks = append(ks, intOfKey(k))
			continue
		}
		v, ok := pickStr(r.c.s, prefs)
		if !ok {
			return nil, nil, false
		}
		elem := make([]string, n)
		for k := 0; k < n; k++ {
			if k == r.k {
				elem[k] = v
				continue
			}
			al := a.allowed(k)
			if al.s.has(v) {
				elem[k] = v
			} else if elem[k], ok = pickStr(al.s, prefs); !ok {
				return nil, nil, false
			}
		}
		dup := false
		for i := 0; i+n <= len(ss); i += n {
			if slices.Equal(ss[i:i+n], elem) {
				dup = true // one element already meets this requirement
				break
			}
		}
		if !dup {
			ss = append(ss, elem...)
		}
	}
	if len(a.req) == 0 {
		// Nothing required: one recognisable element where allowed (a
		// user in one group, a host with one domain), else none.
		if a.forbid[0].kind == kNum {
			if k, ok := pickNum(a.allowed(0).v4, []int64{1}); ok {
				ks = append(ks, intOfKey(k))
			}
		} else {
			elem := make([]string, n)
			ok := true
			for k := 0; k < n && ok; k++ {
				elem[k], ok = pickStr(a.allowed(k).s, prefs)
			}
			if ok {
				ss = append(ss, elem...)
			}
		}
	}
	if ss == nil {
		ss = []string{}
	}
	if ks == nil {
		ks = []int64{}
	}
	return ss, ks, true
}

// setField gives the flow field of dimension dm a value of c.
func (a *Analyzer) setField(f *engine.Flow, dm *dim, c cons) error {
	prefs := preferredFor(dm.name)
	str := func() (string, error) {
		v, ok := pickStr(c.s, prefs)
		if !ok {
			return "", fmt.Errorf("%w: no value of %s", ErrNoExample, dm.name)
		}
		return v, nil
	}
	var err error
	switch dm.name {
	case dimProxied:
		f.Proxied = c.b == 1
		return nil
	case dimIngress:
		if c.s.has(f.IngressColo) {
			return nil
		}
		f.IngressColo, err = str()
		return err
	case "net.dst.ip", "net.src.ip", "net.src.internal_src_ip":
		target := map[string]*netip.Addr{"net.dst.ip": &f.DestinationIP, "net.src.ip": &f.SourceIP, "net.src.internal_src_ip": &f.InternalSourceIP}[dm.name]
		v, ok := pickAddr(c, *target)
		if !ok {
			return fmt.Errorf("%w: no value of %s", ErrNoExample, dm.name)
		}
		*target = v
		return nil
	case "net.dst.port", "net.src.port":
		target := &f.DestinationPort
		if dm.name == "net.src.port" {
			target = &f.SourcePort
		}
		prefsN := preferredPorts
		if *target != 0 {
			prefsN = append([]int64{int64(*target)}, prefsN...)
		}
		k, ok := pickNum(c.v4, prefsN)
		if !ok {
			return fmt.Errorf("%w: no value of %s", ErrNoExample, dm.name)
		}
		*target = uint16(intOfKey(k))
		return nil
	}
	if dm.kind == kArr {
		ss, ks, ok := pickArray(c, prefs)
		if !ok {
			return fmt.Errorf("%w: no value of %s", ErrNoExample, dm.name)
		}
		if _, store := arrayField(f, dm.name); store != nil {
			store(ss)
			return nil
		}
		switch dm.name {
		case groupsDim:
			f.Groups = []engine.Group{}
			for i := 0; i+2 < len(ss); i += 3 {
				f.Groups = append(f.Groups, engine.Group{ID: ss[i], Name: ss[i+1], Email: ss[i+2]})
			}
		case "net.fqdn.content_category":
			f.ContentCategories = ks
		case "app.ids":
			f.AppIDs = ks
		default:
			return fmt.Errorf("%w: the flow has no field for %s", ErrNoExample, dm.name)
		}
		return nil
	}
	targets := map[string]*string{
		"net.protocol": &f.Protocol, "net.dst.geo.country": &f.DstCountry, "net.dst.geo.continent": &f.DstContinent,
		"net.src.geo.country": &f.SourceCountry, "net.src.geo.continent": &f.SourceContinent, "net.vnet_id": &f.VirtualNetworkID,
		"proxy.endpoint": &f.ProxyEndpoint, "net.fqdn.host": &f.FQDNHost, "identity.email": &f.Email, "identity.name": &f.Name,
		"net.onramp.type": &f.OnrampType,
	}
	t, ok := targets[dm.name]
	if !ok {
		return fmt.Errorf("%w: the flow has no field for %s", ErrNoExample, dm.name)
	}
	if *t != "" && c.s.has(*t) {
		return nil
	}
	*t, err = str()
	return err
}

// realiseRegexes gives field (a string field, or an array field's
// elements) a value that satisfies its own constraint in b and each regex
// condition as wanted.
func realiseRegexes(sp *space, f *engine.Flow, field string, ws []atomWant, b box) error {
	res := make([]*regexp.Regexp, len(ws))
	for i, w := range ws {
		re, err := sp.regexp(w.re)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrNoExample, err)
		}
		res[i] = re
	}
	fits := func(s string, want func(i int) bool) bool {
		for i, re := range res {
			if sp.matches(re, s) != want(i) {
				return false
			}
		}
		return true
	}
	// Candidate strings: generated from each regex, then plain ones.
	var cands []string
	for _, w := range ws {
		ex, ok := sp.regexEx[w.re]
		if !ok {
			ex = regexExamples(w.re)
			if sp.regexEx == nil {
				sp.regexEx = map[string][]string{}
			}
			sp.regexEx[w.re] = ex
		}
		cands = append(cands, ex...)
	}
	cands = append(cands, preferredFor(field)...)
	cands = append(cands, "x", "example", "a.b.c", "0")
	d, hasDim := sp.byName[field]
	allowed := func(s string) bool {
		if !hasDim {
			return true
		}
		c, ok := b.get(d)
		if !ok {
			c = sp.dims[d].univ
		}
		if c.kind == kStr {
			return c.s.has(s)
		}
		return true
	}
	if fi, ok := expr.LookupField(strings.SplitN(field, "[", 2)[0]); ok && fi.Array {
		// Some element matches each wanted-true regex; no element matches a
		// wanted-false one. Elements are added to the array's value.
		cur, store := arrayField(f, field)
		if store == nil {
			return fmt.Errorf("%w: regex on %s", ErrNoExample, field)
		}
		if cur == nil {
			cur = []string{}
		}
		elems := &cur
		defer func() { store(*elems) }()
		matchesUnwanted := func(e string) bool {
			for j, re := range res {
				if !ws[j].want && re.MatchString(e) {
					return true
				}
			}
			return false
		}
		for _, e := range *elems {
			for i, re := range res {
				if !ws[i].want && re.MatchString(e) {
					return fmt.Errorf("%w: %s holds %q, which matches %q", ErrNoExample, field, e, ws[i].re)
				}
			}
		}
		for i, w := range ws {
			if !w.want || slices.ContainsFunc(*elems, res[i].MatchString) {
				continue
			}
			found := false
			for _, s := range cands {
				if res[i].MatchString(s) && !matchesUnwanted(s) && elemAllowed(sp, field, b, s) {
					*elems = append(*elems, s)
					found = true
					break
				}
			}
			if !found {
				return fmt.Errorf("%w: no element of %s found that matches %q", ErrNoExample, field, w.re)
			}
		}
		return nil
	}
	target := map[string]*string{
		"net.dst.geo.country": &f.DstCountry, "net.dst.geo.continent": &f.DstContinent, "net.src.geo.country": &f.SourceCountry,
		"net.src.geo.continent": &f.SourceContinent, "net.vnet_id": &f.VirtualNetworkID, "proxy.endpoint": &f.ProxyEndpoint,
		"net.fqdn.host": &f.FQDNHost, "identity.email": &f.Email, "identity.name": &f.Name, "net.onramp.type": &f.OnrampType,
	}[field]
	if target == nil {
		return fmt.Errorf("%w: regex on %s", ErrNoExample, field)
	}
	want := func(i int) bool { return ws[i].want }
	if *target != "" && fits(*target, want) && allowed(*target) {
		return nil
	}
	for _, s := range cands {
		if s != "" && fits(s, want) && allowed(s) {
			*target = s
			return nil
		}
	}
	return fmt.Errorf("%w: no value of %s found for its regex conditions", ErrNoExample, field)
}

type reMatch struct {
	re *regexp.Regexp
	s  string
}

// matches is re.MatchString(s), kept: the examples of many regions try the
// same candidates against the same regexes.
func (sp *space) matches(re *regexp.Regexp, s string) bool {
	k := reMatch{re, s}
	if m, ok := sp.reMatches[k]; ok {
		return m
	}
	m := re.MatchString(s)
	if sp.reMatches == nil || len(sp.reMatches) >= 1<<14 {
		sp.reMatches = map[reMatch]bool{}
	}
	sp.reMatches[k] = m
	return m
}

// regexp compiles re once per space.
func (sp *space) regexp(re string) (*regexp.Regexp, error) {
	if r, ok := sp.regexps[re]; ok {
		return r, nil
	}
	r, err := regexp.Compile(re)
	if err != nil {
		return nil, err
	}
	if sp.regexps == nil {
		sp.regexps = map[string]*regexp.Regexp{}
	}
	sp.regexps[re] = r
	return r, nil
}

// arrayField is the flow's slice for an array field name, and the function
// that stores it back.
func arrayField(f *engine.Flow, field string) ([]string, func([]string)) {
	switch {
	case field == "net.fqdn.domains":
		return f.FQDNDomains, func(v []string) { f.FQDNDomains = v }
	case field == "device_posture.checks.passed":
		return f.PostureChecks, func(v []string) { f.PostureChecks = v }
	case field == "device_posture.checks.failed":
		return f.FailedPostureChecks, func(v []string) { f.FailedPostureChecks = v }
	case field == "identity.oidc_claims":
		return f.OIDCClaims, func(v []string) { f.OIDCClaims = v }
	case strings.HasPrefix(field, "identity.saml_attributes["):
		if f.SAMLAttributes == nil {
			f.SAMLAttributes = map[string][]string{}
		}
		k := strings.TrimSuffix(strings.TrimPrefix(field, "identity.saml_attributes["), "]")
		return f.SAMLAttributes[k], func(v []string) { f.SAMLAttributes[k] = v }
	}
	return nil, nil
}

// elemAllowed reports whether an element s may be added to the array
// field's value in b (its forbid sets allow it).
func elemAllowed(sp *space, field string, b box, s string) bool {
	d, ok := sp.byName[field]
	if !ok {
		return true
	}
	c, ok := b.get(d)
	if !ok {
		return true
	}
	for _, fb := range c.arr.forbid {
		if fb.kind == kStr && fb.s.has(s) {
			return false
		}
	}
	return true
}

// regexExamples returns strings built from re's syntax that usually match
// it: the first alternative, the fewest repetitions, the first character
// of a class (a letter or digit when the class has one).
func regexExamples(re string) []string {
	r, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return nil
	}
	r = r.Simplify()
	var out []string
	for _, extra := range []int{0, 1} {
		var b strings.Builder
		if gen(&b, r, extra) {
			out = append(out, b.String(), "x"+b.String(), b.String()+".example.com")
		}
	}
	return out
}

func gen(b *strings.Builder, r *syntax.Regexp, extra int) bool {
	switch r.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	case syntax.OpLiteral:
		for _, c := range r.Rune {
			if r.Flags&syntax.FoldCase != 0 {
				c = []rune(strings.ToLower(string(c)))[0]
			}
			b.WriteRune(c)
		}
		return true
	case syntax.OpCharClass:
		if len(r.Rune) < 2 {
			return false
		}
		best := r.Rune[0]
		for i := 0; i+1 < len(r.Rune); i += 2 {
			lo, hi := r.Rune[i], r.Rune[i+1]
			for _, want := range []rune{'a', 'x', '0'} {
				if lo <= want && want <= hi {
					best = want
					goto done
				}
			}
		}
	done:
		b.WriteRune(best)
		return true
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteRune('a')
		return true
	case syntax.OpCapture:
		return gen(b, r.Sub[0], extra)
	case syntax.OpStar, syntax.OpQuest:
		for i := 0; i < extra; i++ {
			if !gen(b, r.Sub[0], extra) {
				return false
			}
		}
		return true
	case syntax.OpPlus:
		for i := 0; i < 1+extra; i++ {
			if !gen(b, r.Sub[0], extra) {
				return false
			}
		}
		return true
	case syntax.OpRepeat:
		for i := 0; i < r.Min+extra && i < 64; i++ {
			if !gen(b, r.Sub[0], extra) {
				return false
			}
		}
		return true
	case syntax.OpConcat:
		for _, s := range r.Sub {
			if !gen(b, s, extra) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		return gen(b, r.Sub[0], extra)
	}
	return false
}
