package engine

import "math/bits"

// Key dimensions: string-valued fields narrowed by Hints.Keys (source
// country, FQDN domains, identity e-mail, ...). Each dimension maps a value
// to the bitset of policies that list it OR have no hint for the field; a
// value no policy lists maps to the latter alone. Only fields that some
// policy hints get a dimension, so unused fields cost nothing.

type keyField uint8

const (
	kSrcCountry keyField = iota
	kSrcContinent
	kDstCountry
	kDstContinent
	kVnet
	kProxyEndpoint
	kFQDNHost
	kFQDNDomains
	kEmail
	kName
	kGroupsID
	kGroupsName
	kGroupsEmail
)

// isArray reports whether the field is an array (FQDN domains, groups).
func (k keyField) isArray() bool {
	return k == kFQDNDomains || k == kGroupsID || k == kGroupsName || k == kGroupsEmail
}

// keyScalar is the flow's value of a scalar key field, "" when the flow does
// not carry it.
func keyScalar(f *Flow, k keyField) string {
	switch k {
	case kSrcCountry:
		return f.SourceCountry
	case kSrcContinent:
		return f.SourceContinent
	case kDstCountry:
		return f.DstCountry
	case kDstContinent:
		return f.DstContinent
	case kVnet:
		return f.VirtualNetworkID
	case kProxyEndpoint:
		return f.ProxyEndpoint
	case kFQDNHost:
		return f.FQDNHost
	case kEmail:
		return f.Email
	case kName:
		return f.Name
	}
	return ""
}

// keyElems is the number of elements of an array key field in f; carried is
// false when the flow does not carry the array at all (nil).
func keyElems(f *Flow, k keyField) (n int, carried bool) {
	if k == kFQDNDomains {
		return len(f.FQDNDomains), f.FQDNDomains != nil
	}
	return len(f.Groups), f.Groups != nil
}

// keyElem is element e of an array key field.
func keyElem(f *Flow, k keyField, e int) string {
	switch k {
	case kFQDNDomains:
		return f.FQDNDomains[e]
	case kGroupsName:
		return f.Groups[e].Name
	case kGroupsEmail:
		return f.Groups[e].Email
	}
	return f.Groups[e].ID
}

var keyFieldByName = map[string]keyField{
	"net.src.geo.country":   kSrcCountry,
	"net.src.geo.continent": kSrcContinent,
	"net.dst.geo.country":   kDstCountry,
	"net.dst.geo.continent": kDstContinent,
	"net.vnet_id":           kVnet,
	"proxy.endpoint":        kProxyEndpoint,
	"net.fqdn.host":         kFQDNHost,
	"net.fqdn.domains":      kFQDNDomains,
	"identity.email":        kEmail,
	"identity.name":         kName,
	"identity.groups.id":    kGroupsID,
	"identity.groups.name":  kGroupsName,
	"identity.groups.email": kGroupsEmail,
}

type keyDim struct {
	field keyField
	rows  map[string]row // value -> policies listing it, plus any
	any   row            // policies without a hint for the field
}

func (k *keyDim) row(v string) row {
	if r, ok := k.rows[v]; ok {
		return r
	}
	return k.any
}

// buildKeyDims builds one dimension per hinted key field.
func buildKeyDims(words int, included []bool, hints []Hints, hinted []bool) []keyDim {
	var dims []keyDim
	for name, field := range keyFieldByName {
		used := false
		for p := range hints {
			if included[p] && hinted[p] && hints[p].Keys[name] != nil {
				used = true
				break
			}
		}
		if !used {
			continue
		}
		kd := keyDim{field: field, rows: map[string]row{}, any: newRow(words)}
		for p := range hints {
			if !included[p] {
				continue
			}
			vals := hints[p].Keys[name]
			if !hinted[p] || vals == nil {
				setBit(kd.any.bits, p)
				continue
			}
			for _, v := range vals {
				r, ok := kd.rows[v]
				if !ok {
					r = newRow(words)
					kd.rows[v] = r
				}
				setBit(r.bits, p)
			}
		}
		for _, r := range kd.rows {
			for w := range r.bits {
				r.bits[w] |= kd.any.bits[w]
			}
			r.summarize()
		}
		kd.any.summarize()
		dims = append(dims, kd)
	}
	// Deterministic order (map iteration is random): by field.
	for i := 1; i < len(dims); i++ {
		for j := i; j > 0 && dims[j].field < dims[j-1].field; j-- {
			dims[j], dims[j-1] = dims[j-1], dims[j]
		}
	}
	return dims
}

// terms is a product of sums of rows: the candidate set is the AND over
// terms of the OR of each term's rows. Fixed size so it lives on the stack.
type terms struct {
	rows  [48]row
	start [20]int // term i is rows[start[i]:start[i+1]]
	n     int     // number of terms
	nr    int     // rows used
}

func (t *terms) begin() bool {
	if t.n+1 >= len(t.start) {
		return false
	}
	t.start[t.n] = t.nr
	return true
}

func (t *terms) add(r row) bool {
	if t.nr >= len(t.rows) {
		return false
	}
	t.rows[t.nr] = r
	t.nr++
	return true
}

func (t *terms) commit() { t.n++; t.start[t.n] = t.nr }

func (t *terms) abort() { t.nr = t.start[t.n] }

// one adds a one-row term.
func (t *terms) one(r row) {
	if t.begin() && t.add(r) {
		t.commit()
	} else {
		t.abort()
	}
}

// addKeyTerms adds a term per key dimension whose field f carries. A term
// that does not fit is left out, which only widens the candidate set.
func (ix *policyIndex) addKeyTerms(f *Flow, t *terms) {
	for i := range ix.keys {
		kd := &ix.keys[i]
		if !kd.field.isArray() {
			if v := keyScalar(f, kd.field); v != "" { // "" = not carried: no narrowing
				t.one(kd.row(v))
			}
			continue
		}
		n, carried := keyElems(f, kd.field)
		if !carried || !t.begin() {
			continue
		}
		ok, anyAdded := true, false
		for e := 0; e < n; e++ {
			if r, hit := kd.rows[keyElem(f, kd.field, e)]; hit {
				ok = ok && t.add(r)
			} else if !anyAdded {
				anyAdded = true
				ok = ok && t.add(kd.any)
			}
		}
		if n == 0 {
			ok = ok && t.add(kd.any)
		}
		if ok {
			t.commit()
		} else {
			t.abort()
		}
	}
}

// firstMatchTerms is firstMatch over a general product of sums.
func (ix *policyIndex) firstMatchTerms(policies []Policy, f *Flow, t *terms) (int, Tri, string) {
	sw := len(ix.all.sum)
	for s := 0; s < sw; s++ {
		m := ^uint64(0)
		for i := 0; i < t.n && m != 0; i++ {
			var o uint64
			for _, r := range t.rows[t.start[i]:t.start[i+1]] {
				o |= r.sum[s]
			}
			m &= o
		}
		for m != 0 {
			w := s<<6 + bits.TrailingZeros64(m)
			m &= m - 1
			x := ^uint64(0)
			for i := 0; i < t.n && x != 0; i++ {
				var o uint64
				for _, r := range t.rows[t.start[i]:t.start[i+1]] {
					o |= r.bits[w]
				}
				x &= o
			}
			for x != 0 {
				p := w<<6 + bits.TrailingZeros64(x)
				x &= x - 1
				if tr, miss := policies[p].Match.Match(f); tr != No {
					return p, tr, miss
				}
			}
		}
	}
	return -1, No, ""
}

// singles holds the one-row terms of scalar key fields (the common case).
type singles struct {
	rows [8]row
	n    int
}

// scalarKeyRows collects one row per key field f carries. For an array field
// that row is the row of the one hinted value the flow's elements hit (each
// row already includes the policies without a hint for the field), or the
// field's "any" row when none hits. It returns false when the elements hit
// two or more different values (the candidates are then a union of rows, and
// the caller uses the general terms). Fields beyond the capacity are left out
// (a wider candidate set, never a narrower one).
func (ix *policyIndex) scalarKeyRows(f *Flow, ex *singles) bool {
	for i := range ix.keys {
		kd := &ix.keys[i]
		if !kd.field.isArray() {
			if v := keyScalar(f, kd.field); v != "" && ex.n < len(ex.rows) {
				ex.rows[ex.n] = kd.row(v)
				ex.n++
			}
			continue
		}
		n, carried := keyElems(f, kd.field)
		if !carried || ex.n == len(ex.rows) {
			continue
		}
		var hit row
		found := false
		for e := 0; e < n; e++ {
			if r, ok := kd.rows[keyElem(f, kd.field, e)]; ok {
				if found && &r.bits[0] != &hit.bits[0] {
					return false
				}
				hit, found = r, true
			}
		}
		if !found {
			hit = kd.any
		}
		ex.rows[ex.n] = hit
		ex.n++
	}
	return true
}

func (ix *policyIndex) firstMatchSingles(policies []Policy, f *Flow, a, b, c row, ex *singles) (int, Tri, string) {
	extra := ex.rows[:ex.n]
	for s := range a.sum {
		m := a.sum[s] & b.sum[s] & c.sum[s]
		for i := range extra {
			m &= extra[i].sum[s]
		}
		for m != 0 {
			w := s<<6 + bits.TrailingZeros64(m)
			m &= m - 1
			x := a.bits[w] & b.bits[w] & c.bits[w]
			for i := 0; i < len(extra) && x != 0; i++ {
				x &= extra[i].bits[w]
			}
			for x != 0 {
				p := w<<6 + bits.TrailingZeros64(x)
				x &= x - 1
				if t, miss := policies[p].Match.Match(f); t != No {
					return p, t, miss
				}
			}
		}
	}
	return -1, No, ""
}
