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

// FlowHash is FNV-1a 64 over FiveTupleKey(f). Session-log values that vary
// per connection (the address inside an IPv6 range, the egress port) come
// from it; the choice between equidistant dedicated IPs does not (see
// IdentityHash).
func FlowHash(f *Flow) uint64 {
	var buf [128]byte
	return fnv1a64(FiveTupleKey(buf[:0], f))
}

// IdentityKey appends to dst the identity of the user of f that the engine
// hashes to choose between equidistant dedicated egress IPs (SPEC §2 rule
// 5). Cloudflare's egress policies page, Load balancing: "If two data
// centers are equally close to the user, Gateway splits traffic between
// them. The load balancer keeps each user on the same egress IP regardless
// of which data center handles the request." So the choice depends on who
// the user is, never on the connection's ports:
//
//	user:<UserID>      when the flow carries a user ID (as Network Session Logs do),
//	device:<DeviceID>  else when it carries a device ID,
//	email:<email>      else when it carries an email (lower-cased),
//	ip:<source IP>     else the source IP (canonical text, no zone),
//	""                 when it carries none of them.
//
// This string and FNV-1a 64 over it are a stability promise: the same user
// picks the same dedicated IP in every release. Example: "user:7c5a...".
func IdentityKey(dst []byte, f *Flow) []byte {
	switch {
	case f.UserID != "":
		dst = append(dst, "user:"...)
		return append(dst, f.UserID...)
	case f.DeviceID != "":
		dst = append(dst, "device:"...)
		return append(dst, f.DeviceID...)
	case f.Email != "":
		dst = append(dst, "email:"...)
		for i := 0; i < len(f.Email); i++ {
			c := f.Email[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
		}
		return dst
	case f.SourceIP.IsValid():
		dst = append(dst, "ip:"...)
		return f.SourceIP.WithZone("").AppendTo(dst)
	}
	return dst
}

// IdentityHash is FNV-1a 64 over IdentityKey(f).
func IdentityHash(f *Flow) uint64 {
	var buf [192]byte
	return fnv1a64(IdentityKey(buf[:0], f))
}

func isICMP(p string) bool {
	return strings.EqualFold(p, "icmp") || strings.EqualFold(p, "icmpv6") || strings.EqualFold(p, "ipv6-icmp")
}
