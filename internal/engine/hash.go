package engine

import (
	"strconv"
	"strings"
)

// FiveTupleKey appends to dst the canonical 5-tuple string of f that the
// engine hashes to share load between equidistant dedicated IPs (SPEC §2
// rule 5) and to derive session-log values:
//
//	proto|srcip|srcport|dstip|dstport
//
// proto is the lower-case protocol ("tcp"); srcip and dstip are in
// netip.Addr's canonical text form (IPv4 dotted quad, IPv6 RFC 5952, no zone;
// empty when the flow has no such address); ports are decimal (0 when
// missing). Example: "tcp|198.51.100.7|50000|203.0.113.9|443".
//
// This string and FNV-1a 64 (hash/fnv New64a) over it are a stability
// promise: the same flow picks the same dedicated IP in every release.
func FiveTupleKey(dst []byte, f *Flow) []byte {
	for i := 0; i < len(f.Protocol); i++ {
		c := f.Protocol[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	dst = append(dst, '|')
	if f.SourceIP.IsValid() {
		dst = f.SourceIP.WithZone("").AppendTo(dst)
	}
	dst = append(dst, '|')
	dst = strconv.AppendUint(dst, uint64(f.SourcePort), 10)
	dst = append(dst, '|')
	if f.DestinationIP.IsValid() {
		dst = f.DestinationIP.WithZone("").AppendTo(dst)
	}
	dst = append(dst, '|')
	dst = strconv.AppendUint(dst, uint64(f.DestinationPort), 10)
	return dst
}

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// fnv1a64 is FNV-1a 64 (identical to hash/fnv New64a), inlined so the hot
// path does not allocate.
func fnv1a64(b []byte) uint64 {
	h := uint64(fnvOffset64)
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime64
	}
	return h
}

// FlowHash is FNV-1a 64 over FiveTupleKey(f).
func FlowHash(f *Flow) uint64 {
	var buf [128]byte
	return fnv1a64(FiveTupleKey(buf[:0], f))
}

func isICMP(p string) bool {
	return strings.EqualFold(p, "icmp") || strings.EqualFold(p, "icmpv6") || strings.EqualFold(p, "ipv6-icmp")
}
