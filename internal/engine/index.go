package engine

import (
	"math/bits"
	"net/netip"
	"sort"
	"strings"
)

// The policy index narrows first-match evaluation to policies that can
// possibly match a flow, using matchers' Hints (supersets over destination
// IP, destination port and protocol).
//
// Each dimension is cut into elementary intervals at every hint boundary.
// Every interval carries a bitset (one bit per policy, in policy order) of
// the enabled policies whose hint includes the interval; policies without a
// hint for that dimension are in every interval. For a flow, the engine ANDs
// the three bitsets of the flow's values and evaluates the set bits in
// ascending order, stopping at the first Yes or Unknown. Since each bitset is
// a superset of the policies that can return Yes or Unknown, the first
// non-No result is the same as a linear scan's: first-match semantics are
// exact. A flow that lacks a dimension's value (port 0, empty protocol, an
// IPv4-mapped IPv6 address) uses the all-enabled bitset for it.
//
// Memory is bounded: when a dimension would need more than maxDimWords
// words, neighbouring intervals are merged (their bitsets ORed), which keeps
// every bitset a superset and only costs extra evaluations.

// maxDimWords bounds one dimension's bitsets (16 MiB); a var so tests can shrink it.
var maxDimWords = 1 << 21

type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

func (a u128) succ() (u128, bool) {
	if a.lo == ^uint64(0) {
		if a.hi == ^uint64(0) {
			return a, false
		}
		return u128{a.hi + 1, 0}, true
	}
	return u128{a.hi, a.lo + 1}, true
}

func addrKey(a netip.Addr) u128 {
	hi, lo := AddrOrderKey(a)
	return u128{hi, lo}
}

// AddrOrderKey maps an address to a 128-bit key (high and low 64 bits)
// that orders addresses of one family: an IPv4 address is its 32 bits in
// the low word, an IPv6 address its 128 bits. The index and the lint
// analyser build their interval sets on it.
func AddrOrderKey(a netip.Addr) (hi, lo uint64) {
	if a.Is4() {
		b := a.As4()
		return 0, uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
	}
	b := a.As16()
	for i := 0; i < 8; i++ {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	return hi, lo
}

// dim is one indexed dimension: row k covers [starts[k], starts[k+1]).
// sums holds, per row, a summary bitset with bit w set when word w of the
// row is non-zero, so sparse rows are walked without touching empty words.
type dim struct {
	starts []u128
	bits   []uint64 // len(starts) * words
	sums   []uint64 // len(starts) * sumWords
	words  int
	sw     int
}

func (d *dim) lookup(x u128) row {
	lo, hi := 0, len(d.starts)-1
	for lo < hi { // largest k with starts[k] <= x; starts[0] is the minimum
		mid := int(uint(lo+hi+1) >> 1)
		if x.less(d.starts[mid]) {
			hi = mid - 1
		} else {
			lo = mid
		}
	}
	return row{d.bits[lo*d.words : (lo+1)*d.words], d.sums[lo*d.sw : (lo+1)*d.sw]}
}

// row is one candidate bitset with its summary.
type row struct{ bits, sum []uint64 }

func newRow(words int) row {
	return row{make([]uint64, words), make([]uint64, (words+63)/64)}
}

func (r row) summarize() {
	for i := range r.sum {
		r.sum[i] = 0
	}
	for w, x := range r.bits {
		if x != 0 {
			r.sum[w>>6] |= 1 << (uint(w) & 63)
		}
	}
}

type span struct{ from, to u128 }

// buildDim builds a dimension. spans[p] are policy p's inclusive spans;
// anyDim[p] means "every value" (no hint); included[p] false excludes p.
func buildDim(n, words int, spans [][]span, anyDim, included []bool) dim {
	type event struct {
		at    u128
		p     int
		delta int
	}
	var ev []event
	for p := 0; p < n; p++ {
		if !included[p] {
			continue
		}
		if anyDim[p] {
			ev = append(ev, event{u128{}, p, 1})
			continue
		}
		for _, s := range spans[p] {
			ev = append(ev, event{s.from, p, 1})
			if end, ok := s.to.succ(); ok {
				ev = append(ev, event{end, p, -1})
			}
		}
	}
	sort.Slice(ev, func(i, j int) bool { return ev[i].at.less(ev[j].at) })
	// Count the elementary intervals, then choose how many neighbours to
	// merge per row (g) so the dimension stays within maxDimWords.
	e := 0
	if len(ev) == 0 || ev[0].at != (u128{}) {
		e++
	}
	for i := range ev {
		if i == 0 || ev[i].at != ev[i-1].at {
			e++
		}
	}
	g := 1
	if e*words > maxDimWords {
		g = (e*words + maxDimWords - 1) / maxDimWords
	}
	rows := (e + g - 1) / g
	sw := (words + 63) / 64
	d := dim{words: words, sw: sw, starts: make([]u128, 0, rows), bits: make([]uint64, rows*words), sums: make([]uint64, rows*sw)}
	counts := make([]int32, n)
	cur := make([]uint64, words)
	k := 0 // elementary interval number
	push := func(at u128) {
		if k%g == 0 {
			d.starts = append(d.starts, at)
		}
		r := d.bits[(k/g)*words : (k/g+1)*words]
		for w, x := range cur {
			r[w] |= x
		}
		k++
	}
	if len(ev) == 0 || ev[0].at != (u128{}) {
		push(u128{})
	}
	for i := 0; i < len(ev); {
		at := ev[i].at
		for ; i < len(ev) && ev[i].at == at; i++ {
			p := ev[i].p
			counts[p] += int32(ev[i].delta)
			if counts[p] > 0 {
				cur[p>>6] |= 1 << (uint(p) & 63)
			} else {
				cur[p>>6] &^= 1 << (uint(p) & 63)
			}
		}
		push(at)
	}
	for r := 0; r < rows; r++ {
		row{d.bits[r*words : (r+1)*words], d.sums[r*sw : (r+1)*sw]}.summarize()
	}
	return d
}

// policyIndex is the precompiled candidate index of an Engine.
type policyIndex struct {
	words    int
	all      row // every enabled policy
	v4, v6   dim
	port     dim
	proto    map[string]row
	protoAny row // policies without a protocol hint
	tcp, udp row // proto["tcp"], proto["udp"] (or protoAny): no map lookup
	keys     []keyDim
}

func setBit(b []uint64, p int) { b[p>>6] |= 1 << (uint(p) & 63) }

func buildIndex(policies []Policy) *policyIndex {
	n := len(policies)
	words := (n + 63) / 64
	if words == 0 {
		words = 1
	}
	ix := &policyIndex{words: words, all: newRow(words), protoAny: newRow(words), proto: map[string]row{}}
	included := make([]bool, n)
	hints := make([]Hints, n)
	hinted := make([]bool, n)
	for p := range policies {
		if !policies[p].Enabled || policies[p].Match == nil {
			continue
		}
		included[p] = true
		setBit(ix.all.bits, p)
		if h, ok := policies[p].Match.(Hinter); ok {
			hints[p], hinted[p] = h.Hints(), true
		}
	}

	// Destination IP, one dimension per family.
	v4s, v6s := make([][]span, n), make([][]span, n)
	anyIP := make([]bool, n)
	for p := 0; p < n; p++ {
		if !included[p] || !hinted[p] || hints[p].DstIPs == nil {
			anyIP[p] = true
			continue
		}
		for _, r := range hints[p].DstIPs {
			from, to := r.From.WithZone(""), r.To.WithZone("")
			if !from.IsValid() || !to.IsValid() || from.Is4() != to.Is4() || from.Is4In6() || to.Is4In6() || to.Less(from) {
				anyIP[p] = true // malformed hint: stay conservative
				break
			}
			s := span{addrKey(from), addrKey(to)}
			if from.Is4() {
				v4s[p] = append(v4s[p], s)
			} else {
				v6s[p] = append(v6s[p], s)
			}
		}
	}
	ix.v4 = buildDim(n, words, v4s, anyIP, included)
	ix.v6 = buildDim(n, words, v6s, anyIP, included)

	// Destination port.
	ports := make([][]span, n)
	anyPort := make([]bool, n)
	for p := 0; p < n; p++ {
		if !included[p] || !hinted[p] || hints[p].DstPorts == nil {
			anyPort[p] = true
			continue
		}
		for _, r := range hints[p].DstPorts {
			if r.To < r.From {
				anyPort[p] = true
				break
			}
			ports[p] = append(ports[p], span{u128{0, uint64(r.From)}, u128{0, uint64(r.To)}})
		}
	}
	ix.port = buildDim(n, words, ports, anyPort, included)

	// Protocol.
	for p := 0; p < n; p++ {
		if !included[p] {
			continue
		}
		if !hinted[p] || hints[p].Protocols == nil {
			setBit(ix.protoAny.bits, p)
			continue
		}
		for _, pr := range hints[p].Protocols {
			pr = strings.ToLower(strings.TrimSpace(pr))
			if _, ok := ix.proto[pr]; !ok {
				ix.proto[pr] = newRow(words)
			}
			setBit(ix.proto[pr].bits, p)
		}
	}
	for _, r := range ix.proto {
		for w := range r.bits {
			r.bits[w] |= ix.protoAny.bits[w]
		}
		r.summarize()
	}
	ix.keys = buildKeyDims(words, included, hints, hinted)
	ix.all.summarize()
	ix.protoAny.summarize()
	ix.tcp, ix.udp = ix.protoAny, ix.protoAny
	if r, ok := ix.proto["tcp"]; ok {
		ix.tcp = r
	}
	if r, ok := ix.proto["udp"]; ok {
		ix.udp = r
	}
	return ix
}

// candidates returns the three bitsets to AND for f.
func (ix *policyIndex) candidates(f *Flow) (a, b, c row) {
	dst := f.DestinationIP
	switch {
	case dst.Is4():
		a = ix.v4.lookup(addrKey(dst))
	case dst.Is6() && !dst.Is4In6():
		a = ix.v6.lookup(addrKey(dst))
	default:
		a = ix.all
	}
	if f.DestinationPort != 0 {
		b = ix.port.lookup(u128{0, uint64(f.DestinationPort)})
	} else {
		b = ix.all
	}
	switch f.Protocol {
	case "tcp":
		return a, b, ix.tcp
	case "udp":
		return a, b, ix.udp
	}
	c = ix.all
	if f.Protocol != "" && !hasUpper(f.Protocol) {
		if pb, ok := ix.proto[f.Protocol]; ok {
			c = pb
		} else {
			c = ix.protoAny
		}
	}
	return a, b, c
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// firstMatch returns the index of the first policy whose match is Yes or
// Unknown (with t and missing), or -1.
func (ix *policyIndex) firstMatch(policies []Policy, f *Flow) (int, Tri, string) {
	a, b, c := ix.candidates(f)
	if len(ix.keys) > 0 {
		var ex singles
		if ix.scalarKeyRows(f, &ex) {
			return ix.firstMatchSingles(policies, f, a, b, c, &ex)
		}
		// The flow carries a hinted array field: general product of sums.
		var t terms
		t.one(a)
		t.one(b)
		t.one(c)
		ix.addKeyTerms(f, &t)
		return ix.firstMatchTerms(policies, f, &t)
	}
	for s := range a.sum {
		m := a.sum[s] & b.sum[s] & c.sum[s]
		for m != 0 {
			w := s<<6 + bits.TrailingZeros64(m)
			m &= m - 1
			x := a.bits[w] & b.bits[w] & c.bits[w]
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

// linearFirstMatch is the reference semantics the index must reproduce.
func linearFirstMatch(policies []Policy, f *Flow) (int, Tri, string) {
	for p := range policies {
		if !policies[p].Enabled || policies[p].Match == nil {
			continue
		}
		if t, miss := policies[p].Match.Match(f); t != No {
			return p, t, miss
		}
	}
	return -1, No, ""
}
