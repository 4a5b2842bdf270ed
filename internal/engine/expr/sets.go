package expr

import (
	"cmp"
	"net/netip"
	"slices"
)

// intBounds returns the inclusive bounds of a number or range literal.
func intBounds(v Value) (lo, hi int64) {
	if v.Kind == VRange {
		return v.Lo, v.Hi
	}
	return v.Int, v.Int
}

// ipPrefix returns an IP or CIDR literal as a masked prefix.
func ipPrefix(v Value) netip.Prefix {
	if v.Kind == VCIDR {
		return v.Prefix.Masked()
	}
	return netip.PrefixFrom(v.IP, v.IP.BitLen())
}

// ipBounds returns the addresses an IP, CIDR or IP range literal covers.
func ipBounds(v Value) ipRange {
	if v.Kind == VIPRange {
		return ipRange{v.IP, v.IPHi}
	}
	return prefixRange(ipPrefix(v))
}

// intRange is an inclusive range of integers.
type intRange struct{ lo, hi int64 }

// intSet is a sorted, merged list of disjoint ranges.
type intSet []intRange

func normInts(rs []intRange) intSet {
	slices.SortFunc(rs, func(a, b intRange) int {
		if c := cmp.Compare(a.lo, b.lo); c != 0 {
			return c
		}
		return cmp.Compare(a.hi, b.hi)
	})
	out := make(intSet, 0, len(rs))
	for _, r := range rs {
		if r.lo > r.hi {
			continue
		}
		if n := len(out); n > 0 && (r.lo <= out[n-1].hi || (out[n-1].hi != maxInt && r.lo == out[n-1].hi+1)) {
			if r.hi > out[n-1].hi {
				out[n-1].hi = r.hi
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

const maxInt = int64(1<<63 - 1)

func (s intSet) contains(x int64) bool {
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch {
		case x < s[m].lo:
			hi = m
		case x > s[m].hi:
			lo = m + 1
		default:
			return true
		}
	}
	return false
}

// complement within [dmin, dmax].
func (s intSet) complement(dmin, dmax int64) intSet {
	out := intSet{}
	next := dmin
	for _, r := range s {
		if r.hi < dmin || r.lo > dmax {
			continue
		}
		if r.lo > next {
			out = append(out, intRange{next, r.lo - 1})
		}
		if r.hi >= dmax {
			return out
		}
		next = r.hi + 1
	}
	if next <= dmax {
		out = append(out, intRange{next, dmax})
	}
	return out
}

func (s intSet) intersect(t intSet) intSet {
	out := intSet{}
	i, j := 0, 0
	for i < len(s) && j < len(t) {
		lo, hi := max(s[i].lo, t[j].lo), min(s[i].hi, t[j].hi)
		if lo <= hi {
			out = append(out, intRange{lo, hi})
		}
		if s[i].hi < t[j].hi {
			i++
		} else {
			j++
		}
	}
	return out
}

func (s intSet) union(t intSet) intSet {
	return normInts(append(append([]intRange{}, s...), t...))
}

// ipRange is an inclusive range of addresses of one family.
type ipRange struct{ from, to netip.Addr }

// ipSet is a sorted, merged list of disjoint ranges (IPv4 before IPv6).
type ipSet []ipRange

func prefixRange(p netip.Prefix) ipRange {
	p = p.Masked()
	from := p.Addr()
	b := from.AsSlice()
	bits := p.Bits()
	for i := range b {
		keep := bits - i*8
		switch {
		case keep >= 8:
		case keep <= 0:
			b[i] = 0xff
		default:
			b[i] |= byte(0xff) >> keep
		}
	}
	to, _ := netip.AddrFromSlice(b)
	return ipRange{from, to}
}

func familyRange(a netip.Addr) ipRange {
	if a.Is4() {
		return ipRange{netip.IPv4Unspecified(), netip.AddrFrom4([4]byte{255, 255, 255, 255})}
	}
	return ipRange{netip.IPv6Unspecified(), netip.AddrFrom16([16]byte{255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255})}
}

// allIPs is every IPv4 and IPv6 address.
func allIPs() ipSet {
	return ipSet{familyRange(netip.IPv4Unspecified()), familyRange(netip.IPv6Unspecified())}
}

func normIPs(rs []ipRange) ipSet {
	slices.SortFunc(rs, func(a, b ipRange) int {
		if c := a.from.Compare(b.from); c != 0 {
			return c
		}
		return a.to.Compare(b.to)
	})
	out := make(ipSet, 0, len(rs))
	for _, r := range rs {
		if r.from.Compare(r.to) > 0 {
			continue
		}
		if n := len(out); n > 0 && out[n-1].to.BitLen() == r.from.BitLen() {
			last := &out[n-1]
			adj := last.to.Next()
			if r.from.Compare(last.to) <= 0 || (adj.IsValid() && adj == r.from) {
				if r.to.Compare(last.to) > 0 {
					last.to = r.to
				}
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

func (s ipSet) contains(a netip.Addr) bool {
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch {
		case a.Less(s[m].from):
			hi = m
		case s[m].to.Less(a):
			lo = m + 1
		default:
			return true
		}
	}
	return false
}

// complement within all IPv4 and IPv6 addresses.
func (s ipSet) complement() ipSet {
	return allIPs().subtract(s)
}

func (s ipSet) subtract(t ipSet) ipSet {
	out := ipSet{}
	for _, r := range s {
		cur := r
		ok := true
		for _, x := range t {
			if !ok {
				break
			}
			if x.to.BitLen() != cur.from.BitLen() || x.to.Less(cur.from) || cur.to.Less(x.from) {
				continue
			}
			if cur.from.Less(x.from) {
				out = append(out, ipRange{cur.from, x.from.Prev()})
			}
			if x.to.Less(cur.to) {
				cur.from = x.to.Next()
			} else {
				ok = false
			}
		}
		if ok {
			out = append(out, cur)
		}
	}
	return normIPs(out)
}

func (s ipSet) intersect(t ipSet) ipSet {
	out := ipSet{}
	i, j := 0, 0
	for i < len(s) && j < len(t) {
		from, to := s[i].from, s[i].to
		if t[j].from.Compare(from) > 0 {
			from = t[j].from
		}
		if t[j].to.Compare(to) < 0 {
			to = t[j].to
		}
		if from.BitLen() == to.BitLen() && from.Compare(to) <= 0 {
			out = append(out, ipRange{from, to})
		}
		if s[i].to.Compare(t[j].to) < 0 {
			i++
		} else {
			j++
		}
	}
	return out
}

func (s ipSet) union(t ipSet) ipSet {
	return normIPs(append(append([]ipRange{}, s...), t...))
}
