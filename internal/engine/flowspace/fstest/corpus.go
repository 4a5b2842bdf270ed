package fstest

import (
	"fmt"
	"net/netip"
)

// CorpusPolicy is one policy of Corpus: its expressions, and its egress as
// an index into the four dedicated IPs the corpus assumes (4: default
// egress; the fallback is the next IP).
type CorpusPolicy struct {
	Name, Traffic, Identity, DevicePosture string
	Egress                                 int
}

// CorpusCatchAll is the corpus's last policy.
const CorpusCatchAll = `net.protocol in {"tcp" "udp"}`

// Corpus generates n policies deterministically, the shape of a large
// account's egress list (the benchmarks of lint and of the change impact
// use it):
//   - 30% destination CIDRs in 10.0.0.0/8: two /24s or (10%) a /16, so
//     CIDRs of different policies nest and overlap; half of them also
//     restricted to ports {443 8443};
//   - 15% port ranges per protocol (100 ports from 1024 + 20k, overlapping);
//   - 20% identity policies: a /24 of 172.16.0.0/12 plus a group
//     (any(identity.groups[*].name in {...})) or an e-mail, some with a
//     device-posture check;
//   - 10% two destination countries (of 20) with a port (of 6);
//   - 10% IPv6 destinations (/48s of 2001:db8::/32);
//   - 5% host regexes (net.fqdn.host matches, opaque to the analyser);
//   - 10% shadowed on purpose: an earlier policy's expressions narrowed by
//     an identity (identity.email == "audit@example.com"), or a /24 inside
//     an earlier /16;
//   - a catch-all (CorpusCatchAll) last, default egress.
//
// Egress rotates over the four dedicated IPs and default egress.
func Corpus(n int) []CorpusPolicy {
	seed := uint64(42)
	rnd := func(k int) int {
		seed = seed*6364136223846793005 + 1442695040888963407
		return int((seed >> 33) % uint64(k))
	}
	var ps []CorpusPolicy
	var cidr16 []string
	pol := func(name, traffic string) CorpusPolicy { return CorpusPolicy{Name: name, Traffic: traffic} }
	for i := 0; i < n-1; i++ {
		var p CorpusPolicy
		name := fmt.Sprintf("policy-%04d", i)
		k := rnd(100)
		switch {
		case k < 30:
			a := rnd(256)
			var t string
			if rnd(10) == 0 {
				c16 := fmt.Sprintf("10.%d.0.0/16", a)
				cidr16 = append(cidr16, c16)
				t = fmt.Sprintf("net.dst.ip in {%s}", c16)
			} else {
				t = fmt.Sprintf("net.dst.ip in {10.%d.%d.0/24 10.%d.%d.0/24}", a, rnd(256), a, rnd(256))
			}
			if rnd(2) == 0 {
				t += " and net.dst.port in {443 8443}"
			}
			p = pol(name, t)
		case k < 45:
			lo := 1024 + rnd(2000)*20
			p = pol(name, fmt.Sprintf(`net.dst.port in {%d..%d} and net.protocol == "%s"`, lo, lo+99, []string{"tcp", "udp"}[rnd(2)]))
		case k < 65:
			p = pol(name, fmt.Sprintf("net.dst.ip in {172.%d.%d.0/24}", 16+rnd(16), rnd(256)))
			if rnd(2) == 0 {
				p.Identity = fmt.Sprintf(`any(identity.groups[*].name in {"team-%d" "team-%d"})`, rnd(40), rnd(40))
			} else {
				p.Identity = fmt.Sprintf(`identity.email == "user%d@example.com"`, rnd(500))
			}
			if rnd(4) == 0 {
				p.DevicePosture = fmt.Sprintf(`any(device_posture.checks.passed[*] in {"check-%d"})`, rnd(5))
			}
		case k < 75:
			cs := []string{"US", "CA", "MX", "BR", "AR", "GB", "DE", "FR", "NL", "ES", "IT", "PL", "SE", "JP", "KR", "CN", "IN", "SG", "AU", "ZA"}
			p = pol(name, fmt.Sprintf(`net.dst.geo.country in {"%s" "%s"} and net.dst.port == %d`, cs[rnd(20)], cs[rnd(20)], []int{22, 80, 443, 3389, 5432, 8080}[rnd(6)]))
		case k < 85:
			p = pol(name, fmt.Sprintf("net.dst.ip in {2001:db8:%x::/48}", rnd(65536)))
		case k < 90:
			p = pol(name, fmt.Sprintf(`net.fqdn.host matches "^svc%d\\."`, rnd(1000)))
		default:
			if len(ps) > 0 && rnd(2) == 0 {
				j := rnd(len(ps))
				p = pol(name, ps[j].Traffic)
				p.Identity, p.DevicePosture = `identity.email == "audit@example.com"`, ps[j].DevicePosture
				if ps[j].Identity != "" {
					p.Identity = ps[j].Identity + " and " + p.Identity
				}
			} else if len(cidr16) > 0 {
				c := netip.MustParsePrefix(cidr16[rnd(len(cidr16))])
				b := c.Addr().As4()
				p = pol(name, fmt.Sprintf("net.dst.ip in {%d.%d.%d.0/24}", b[0], b[1], rnd(256)))
			} else {
				p = pol(name, "net.dst.ip in {192.0.2.0/24}")
			}
		}
		p.Egress = rnd(5)
		ps = append(ps, p)
	}
	return append(ps, CorpusPolicy{Name: "catch-all", Traffic: CorpusCatchAll, Egress: 4})
}
