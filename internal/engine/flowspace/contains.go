package flowspace

import (
	"net/netip"
	"strings"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
)

// Contains reports whether the flow f is in s. ok is false when that cannot
// be told: f lacks a field one of the space's dimensions stands for, or s
// depends on a condition the algebra cannot evaluate ($list references).
// Regex conditions are evaluated on f's values.
func (s *Set) Contains(f *engine.Flow) (in, ok bool) {
	sp := s.a.sp
	p := make([]pval, len(sp.dims))
	need := map[int]bool{}
	for _, b := range s.boxes {
		for _, x := range b {
			need[x.dim] = true
		}
	}
	for d := range need {
		v, good := sp.valueOf(d, f)
		if !good {
			return false, false
		}
		p[d] = v
	}
	for _, b := range s.boxes {
		if pointIn(p, b) {
			return true, true
		}
	}
	return false, true
}

// valueOf is f's value on dimension d.
func (sp *space) valueOf(d int, f *engine.Flow) (pval, bool) {
	dm := &sp.dims[d]
	ip := func(a netip.Addr) (pval, bool) {
		if !a.IsValid() {
			return pval{}, false
		}
		a = a.Unmap()
		return pval{v6: !a.Is4(), k: keyOfAddr(a)}, true
	}
	port := func(x uint16) (pval, bool) { return pval{k: keyOfInt(int64(x))}, x != 0 }
	str := func(x string) (pval, bool) { return pval{s: x}, x != "" }
	strs := func(xs []string) (pval, bool) {
		if xs == nil {
			return pval{}, false
		}
		return pval{ss: append([]string{}, xs...)}, true
	}
	ints := func(xs []int64) (pval, bool) {
		if xs == nil {
			return pval{}, false
		}
		var ks []u128
		for _, x := range xs {
			ks = append(ks, keyOfInt(x))
		}
		if ks == nil {
			return pval{ss: []string{}}, true // no element
		}
		return pval{ks: ks}, true
	}
	switch dm.name {
	case dimProxied:
		if f.Proxied {
			return pval{b: 1}, true
		}
		return pval{b: 2}, true
	case dimIngress:
		return str(strings.ToUpper(f.IngressColo))
	case "net.dst.ip":
		return ip(f.DestinationIP)
	case "net.src.ip":
		return ip(f.SourceIP)
	case "net.src.internal_src_ip":
		return ip(f.InternalSourceIP)
	case "net.dst.port":
		return port(f.DestinationPort)
	case "net.src.port":
		return port(f.SourcePort)
	case "net.protocol":
		return str(f.Protocol)
	case "net.dst.geo.country":
		return str(f.DstCountry)
	case "net.dst.geo.continent":
		return str(f.DstContinent)
	case "net.src.geo.country":
		return str(f.SourceCountry)
	case "net.src.geo.continent":
		return str(f.SourceContinent)
	case "net.vnet_id":
		return str(f.VirtualNetworkID)
	case "proxy.endpoint":
		return str(f.ProxyEndpoint)
	case "net.fqdn.host":
		return str(f.FQDNHost)
	case "identity.email":
		return str(f.Email)
	case "identity.name":
		return str(f.Name)
	case "net.onramp.type":
		return str(f.OnrampType)
	case "net.fqdn.domains":
		return strs(f.FQDNDomains)
	case "device_posture.checks.passed":
		return strs(f.PostureChecks)
	case "device_posture.checks.failed":
		return strs(f.FailedPostureChecks)
	case "identity.oidc_claims":
		return strs(f.OIDCClaims)
	case "net.fqdn.content_category":
		return ints(f.ContentCategories)
	case "app.ids":
		return ints(f.AppIDs)
	case groupsDim:
		if f.Groups == nil {
			return pval{}, false
		}
		v := pval{ss: []string{}}
		for _, g := range f.Groups {
			v.ss = append(v.ss, g.ID, g.Name, g.Email)
		}
		return v, true
	}
	if k, ok := strings.CutPrefix(dm.name, "identity.saml_attributes["); ok {
		if f.SAMLAttributes == nil {
			return pval{}, false
		}
		return pval{ss: append([]string{}, f.SAMLAttributes[strings.TrimSuffix(k, "]")]...)}, true
	}
	if dm.opaque {
		return sp.atomValue(dm.atom, f)
	}
	return pval{}, false
}

// atomValue evaluates a regex condition on f (other opaque conditions
// cannot be evaluated).
func (sp *space) atomValue(n expr.Node, f *engine.Flow) (pval, bool) {
	if a, ok := n.(*expr.Any); ok {
		n = a.Body
	}
	m, ok := n.(*expr.Matches)
	if !ok {
		return pval{}, false
	}
	re, err := sp.regexp(m.Regex)
	if err != nil {
		return pval{}, false
	}
	name := m.Field.Name
	if m.Field.HasKey {
		name += "[" + m.Field.Key + "]"
	}
	if k, isGroup := groupCoord[name]; isGroup {
		if f.Groups == nil {
			return pval{}, false
		}
		for _, g := range f.Groups {
			if re.MatchString([3]string{g.ID, g.Name, g.Email}[k]) {
				return pval{b: 1}, true
			}
		}
		return pval{b: 2}, true
	}
	d, ok := sp.byName[name]
	var v pval
	if ok {
		v, ok = sp.valueOf(d, f)
	} else {
		// The field has no dimension of its own: read it through a
		// temporary one.
		fi, found := expr.LookupField(m.Field.Name)
		if !found {
			return pval{}, false
		}
		tmp := &space{byName: map[string]int{}}
		td, _ := tmp.dimFor(fi, m.Field.Key)
		v, ok = tmp.valueOf(td, f)
	}
	if !ok {
		return pval{}, false
	}
	hit := false
	if v.ss != nil {
		for _, s := range v.ss {
			hit = hit || re.MatchString(s)
		}
	} else {
		hit = re.MatchString(v.s)
	}
	if hit {
		return pval{b: 1}, true
	}
	return pval{b: 2}, true
}
