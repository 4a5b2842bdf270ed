package replay

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/spec"
)

// Benchmark workload (stated so numbers can be compared across runs):
//
//   - The live list: 100 policies. The 6 of TestRenderedRecordsAgree
//     (dedicated with IP and 0.0.0.0 fallbacks, a legacy rule without one,
//     a disabled one, default egress, an identity condition) and 94 partner
//     rules on 10.x.0.0/16 destinations that the traffic does not reach,
//     so each record is decided through the policy index as in production.
//     Inventory: NRT (x2, equidistant), LAX, FRA.
//   - Records: 4,096 distinct sessions rendered by the engine from random
//     flows (7 ingress colos, 3 WARP users with e-mail, user ID and
//     device, users from 6 countries, grey and orange, a third IPv6, colo
//     outages), written as Logpush NDJSON with the dataset's full field
//     list (all 43 published fields in its alphabetical order, TLS and
//     timing fields included: ~1.3 KB a line, like the sample under
//     examples/), repeated to the benchmark's length. About 1 in 15 is
//     logged with a colo outage that the replay has to infer.
//   - Measured: cfegress replay's whole path, Run with Workers 1: split
//     lines, parse, build the flow, decide (1-3 hypotheses), compare, count.
//     "records/s" is wall clock; "cpu-records/s" is per second of the
//     process's CPU time (GC included), the figure for "one core". Input
//     (the gzip of a partial last cycle included) is prepared before the
//     clock starts.
//   - "Lean" lines carry only the 20 fields of the guide's Logpush job
//     (templates/guides/session-replay.md.tmpl), ~620 bytes.
type benchLog struct {
	live  *List
	lines [][]byte
	buf   []byte // lines joined by '\n'
	offs  []int  // offs[k] = byte offset of line k in buf
	gz    []byte // buf as one gzip member
}

var benchLogCache, benchLeanCache *benchLog

// leanFields are the guide's Logpush job's field_names.
var leanFields = []string{"AccountID", "SessionID", "SessionStartTime", "IngressColoName", "SourceIP", "SourcePort",
	"OriginIP", "OriginPort", "Protocol", "Offramp", "Email", "UserID", "DeviceID", "VirtualNetworkID",
	"SourceInternalIP", "ResolvedFQDN", "EgressRuleID", "EgressRuleName", "EgressIP", "EgressColoName"}

// newLeanBenchLog is the bench log with only leanFields on each line.
func newLeanBenchLog(tb testing.TB) *benchLog {
	if benchLeanCache != nil {
		return benchLeanCache
	}
	full := newBenchLog(tb)
	bl := &benchLog{live: full.live}
	for _, line := range full.lines {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(line, &m); err != nil {
			tb.Fatal(err)
		}
		var b bytes.Buffer
		b.WriteByte('{')
		for _, k := range leanFields {
			v, ok := m[k]
			if !ok {
				v = json.RawMessage(`""`) // UserID, ResolvedFQDN: the renderer omits them when empty, Logpush writes ""
			}
			if b.Len() > 1 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%q:%s", k, v)
		}
		b.WriteByte('}')
		bl.offs = append(bl.offs, len(bl.buf))
		bl.lines = append(bl.lines, b.Bytes())
		bl.buf = append(append(bl.buf, b.Bytes()...), '\n')
	}
	benchLeanCache = bl
	return bl
}

func newBenchLog(tb testing.TB) *benchLog {
	if benchLogCache != nil {
		return benchLogCache
	}
	inv, err := spec.DedicatedIPs([]spec.DedicatedIP{
		{IPv4: "203.0.113.10", IPv6Range: "2001:db8:10::/64", Colo: "NRT"},
		{IPv4: "203.0.113.11", IPv6Range: "2001:db8:11::/64", Colo: "NRT"},
		{IPv4: "203.0.113.20", IPv6Range: "2001:db8:20::/64", Colo: "LAX"},
		{IPv4: "203.0.113.30", Colo: "FRA"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	ps := []spec.Policy{
		{ID: id("01"), Name: "Partners", Enabled: true, Traffic: `net.dst.ip in {192.0.2.0/26 2001:db8:ffff:1::/64}`, IPv4: "203.0.113.10", IPv6: "2001:db8:10::/64", IPv4Fallback: "203.0.113.20"},
		{ID: id("02"), Name: "Finance", Enabled: true, Traffic: `net.dst.ip in {192.0.2.64/26}`, Identity: `identity.email in {"cfo@example.com" "ceo@example.com"}`, IPv4: "203.0.113.20", IPv4Fallback: "0.0.0.0"},
		{ID: id("03"), Name: "Legacy", Enabled: true, Traffic: `net.dst.port == 8443`, IPv4: "203.0.113.30"},
		{ID: id("04"), Name: "Off", Enabled: false, Traffic: `net.dst.port == 22`, IPv4: "203.0.113.20", IPv4Fallback: "203.0.113.10"},
		{ID: id("05"), Name: "Web", Enabled: true, Traffic: `net.dst.port in {80 8080} and net.protocol == "tcp"`, Method: "default"},
		{ID: id("06"), Name: "Lab", Enabled: true, Traffic: `net.src.ip in {198.51.100.0/28}`, IPv4: "203.0.113.30", IPv4Fallback: "203.0.113.11"},
	}
	for i := 0; i < 94; i++ {
		ps = append(ps, spec.Policy{ID: fmt.Sprintf("b0000000-0000-4000-8000-%012d", i), Name: fmt.Sprintf("Vendor %d", i), Enabled: true,
			Traffic: fmt.Sprintf(`net.dst.ip in {10.%d.0.0/16} and net.dst.port in {443 8443}`, i), IPv4: "203.0.113.20", IPv4Fallback: "203.0.113.10"})
	}
	live := list(tb, ps, inv)
	rng := rand.New(rand.NewPCG(3, 4))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	bl := &benchLog{live: live}
	for len(bl.lines) < 4096 {
		f := engine.Flow{
			SourceIP:    netip.MustParseAddr(fmt.Sprintf("198.51.100.%d", rng.IntN(40))),
			SourcePort:  uint16(1024 + rng.IntN(60000)),
			IngressColo: pick("KIX", "NRT", "LAX", "FRA", "GDL", "SIN", "ORD"),
			Protocol:    pick("tcp", "tcp", "tcp", "udp"),
			Proxied:     rng.IntN(2) == 0,
		}
		u := rng.IntN(len(benchUsers))
		f.Email, f.UserID = benchUsers[u].email, benchUsers[u].id
		f.SourceCountry = pick("", "JP", "US", "MX", "DE", "SG")
		if rng.IntN(3) == 0 {
			f.DestinationIP = netip.MustParseAddr(fmt.Sprintf("2001:db8:ffff:%d::%d", rng.IntN(2), 1+rng.IntN(200)))
		} else {
			f.DestinationIP = netip.MustParseAddr(fmt.Sprintf("192.0.2.%d", rng.IntN(256)))
		}
		f.DestinationPort = uint16([]int{443, 443, 80, 8080, 8443}[rng.IntN(5)])
		var down engine.ColoSet
		if rng.IntN(15) == 0 && f.IngressColo != "NRT" {
			down = engine.ColoSet{"NRT": true}
			f.SourceCountry = "" // see TestRenderedRecordsAgree: outages on default egress abroad are not inferred
		}
		d, err := live.eng.Decide(&f, down)
		if err != nil {
			tb.Fatal(err)
		}
		rec := engine.RenderSession(d, &f, engine.SessionMeta{
			AccountID: "699d98642c564d2e855e9661899b7252", SessionID: fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64()),
			DeviceID: fmt.Sprintf("5f1d3c3e-9b1a-4c07-9d7e-%012x", rng.IntN(500)), DeviceName: benchUsers[u].device,
			Start: time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC).Add(time.Duration(len(bl.lines)) * time.Second), Duration: time.Second,
			BytesSent: int64(rng.IntN(1 << 20)), BytesReceived: int64(rng.IntN(1 << 24)),
		})
		line, err := fullLine(rec, rng)
		if err != nil {
			tb.Fatal(err)
		}
		bl.offs = append(bl.offs, len(bl.buf))
		bl.lines = append(bl.lines, line)
		bl.buf = append(append(bl.buf, line...), '\n')
	}
	benchLogCache = bl
	return bl
}

// benchUsers are the bench log's users: WARP sessions carry the user's
// e-mail, user ID and device.
var benchUsers = []struct{ email, id, device string }{
	{"cfo@example.com", "7d0c4f1e-0b3a-4c2d-9e8f-1a2b3c4d5e01", "cfo-macbook"},
	{"dev@example.com", "7d0c4f1e-0b3a-4c2d-9e8f-1a2b3c4d5e02", "dev-thinkpad-x1"},
	{"ops@example.com", "7d0c4f1e-0b3a-4c2d-9e8f-1a2b3c4d5e03", "ops-desktop"},
}

// fullLine writes rec as Logpush does with every field of the dataset's
// published list (43 fields: cloudflare/cloudflare-docs
// src/content/docs/logs/logpush/logpush-job/datasets/account/zero_trust_network_sessions.md,
// read 2026-12), in its alphabetical order, with values of the kind real
// sessions have (the TLS and timing fields the replay does not read
// included). Like examples/data-sources/cfegress_session_replay's sample
// (1.16-1.34 KB a line), a line is about 1.3 KB.
func fullLine(rec engine.SessionRecord, rng *rand.Rand) ([]byte, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	host := fmt.Sprintf("api%d.example.com", rng.IntN(20))
	tls := rec.Protocol == "TCP" && rec.OriginPort != 80 && rec.OriginPort != 8080
	cipher, version, detected, issuer, valid := "", "", "", "", "NONE"
	if tls {
		cipher, version, detected, issuer, valid = "TLS_AES_128_GCM_SHA256", "TLSv1.3", "TLS", "CN=Example CA", "VALID"
	} else if rec.Protocol == "TCP" {
		detected = "HTTP"
	}
	for k, v := range map[string]any{
		"ClientTCPHandshakeDurationMs":         rng.IntN(40),
		"ClientTLSCipher":                      cipher,
		"ClientTLSHandshakeDurationMs":         rng.IntN(60),
		"ClientTLSVersion":                     version,
		"ConnectionCloseReason":                "CLIENT_CLOSED",
		"ConnectionReuse":                      false,
		"DestinationTunnelID":                  "",
		"DetectedProtocol":                     detected,
		"InitialOriginIP":                      rec.OriginIP,
		"OriginTLSCertificateIssuer":           issuer,
		"OriginTLSCertificateValidationResult": valid,
		"OriginTLSCipher":                      cipher,
		"OriginTLSHandshakeDurationMs":         rng.IntN(80),
		"OriginTLSVersion":                     version,
		"RegistrationID":                       fmt.Sprintf("0f3a9c1e-1b2d-4c5e-8f90-%012x", rng.IntN(500)),
		"ResolvedFQDN":                         host,
		"RuleEvaluationDurationMs":             rng.IntN(3),
		"SNI":                                  host,
		"TenantID":                             "",
	} {
		m[k] = v
	}
	if len(m) != 43 {
		return nil, fmt.Errorf("the full line has %d fields, the dataset 43", len(m))
	}
	return json.Marshal(m) // keys in alphabetical order, as the dataset lists them
}

// gzipped is the log as one gzip member (built on first use).
func (bl *benchLog) gzipped() []byte {
	if bl.gz == nil {
		bl.gz = gzipBytes(bl.buf)
	}
	return bl.gz
}

func gzipBytes(b []byte) []byte {
	var gz bytes.Buffer
	w, _ := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
	_, _ = w.Write(b)
	_ = w.Close()
	return gz.Bytes()
}

// repeatReader yields n lines of the bench log, cycling.
type repeatReader struct {
	chunk     []byte
	cycles    int
	tail      []byte
	cur       []byte
	onCycle   func()
	cyclesOut int
}

func (bl *benchLog) reader(n int, gzipped bool) *repeatReader {
	k := len(bl.lines)
	r := &repeatReader{chunk: bl.buf, cycles: n / k}
	rem := n % k
	if rem > 0 {
		end := len(bl.buf)
		if rem < k {
			end = bl.offs[rem]
		}
		r.tail = bl.buf[:end]
	}
	if gzipped {
		r.chunk = bl.gzipped()
		if r.tail != nil {
			r.tail = gzipBytes(r.tail)
		}
	}
	return r
}

func (r *repeatReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		switch {
		case r.cyclesOut < r.cycles:
			r.cur = r.chunk
			r.cyclesOut++
			if r.onCycle != nil {
				r.onCycle()
			}
		case r.tail != nil:
			r.cur, r.tail = r.tail, nil
		default:
			return 0, io.EOF
		}
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

func benchReplay(b *testing.B, gzipped bool, workers int) {
	benchReplayLog(b, newBenchLog(b), gzipped, workers)
}

func benchReplayLog(b *testing.B, bl *benchLog, gzipped bool, workers int) {
	b.ReportAllocs()
	in := bl.reader(b.N, gzipped) // before the clock: it may compress the tail
	b.ResetTimer()
	c0, t0 := processCPU(), time.Now()
	r, err := Run(in, bl.live, nil, Options{Workers: workers})
	cpu, wall := processCPU()-c0, time.Since(t0)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if r.Rows != int64(b.N) || r.Malformed != 0 || r.Disagree != 0 {
		b.Fatalf("replayed %s", r)
	}
	b.ReportMetric(float64(b.N)/wall.Seconds(), "records/s")
	if cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "cpu-records/s")
		b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cores")
	}
	b.SetBytes(int64(len(bl.buf) / len(bl.lines)))
}

func reportCPU(b *testing.B, cpu time.Duration) {
	if cpu > 0 && b.N > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func BenchmarkReplayNDJSON(b *testing.B) { benchReplay(b, false, 1) }
func BenchmarkReplayGzip(b *testing.B)   { benchReplay(b, true, 1) }

// BenchmarkReplayLean*: lines with the guide's 20 fields only.
func BenchmarkReplayLeanNDJSON(b *testing.B) { benchReplayLog(b, newLeanBenchLog(b), false, 1) }
func BenchmarkReplayLeanGzip(b *testing.B)   { benchReplayLog(b, newLeanBenchLog(b), true, 1) }

// BenchmarkReplayWorkers: the same NDJSON with 1, 2 and 4 workers (the
// CLI's --workers). Each sub-benchmark sets GOMAXPROCS to min(workers,
// NumCPU) itself, whatever -cpu says: under make bench's -cpu 1 the workers
// could not run in parallel. Reported besides records/s (wall clock) and
// cpu-records/s: "cores", the replay's CPU time over its wall time (how
// many cores it kept busy), and "procs", the GOMAXPROCS it ran with. On a
// machine shared with other jobs, wall-clock scaling is bounded by the
// cores the others leave; cores shows whether the workers ran in parallel.
func BenchmarkReplayWorkers(b *testing.B) {
	for _, w := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			procs := min(w, runtime.NumCPU())
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			benchReplay(b, false, w)
			b.ReportMetric(float64(procs), "procs")
		})
	}
}

// BenchmarkParseSession: the parser alone on the same lines, and
// encoding/json into the same record for comparison.
func BenchmarkParseSession(b *testing.B) {
	bl := newBenchLog(b)
	parse := func(only engine.SessionFields) func(b *testing.B) {
		return func(b *testing.B) {
			p := engine.NewSessionParser()
			if only != 0 {
				p.Only(only)
			}
			var s engine.LoggedSession
			b.ReportAllocs()
			b.SetBytes(int64(len(bl.buf) / len(bl.lines)))
			c0 := processCPU()
			for i := 0; i < b.N; i++ {
				if err := p.Parse(bl.lines[i%len(bl.lines)], &s); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, processCPU()-c0)
		}
	}
	b.Run("cfegress", parse(0))                          // every known field
	b.Run("cfegress-replay-fields", parse(replayFields)) // as the replay reads them (Only)
	b.Run("encoding-json", func(b *testing.B) {
		var s engine.SessionRecord
		b.ReportAllocs()
		b.SetBytes(int64(len(bl.buf) / len(bl.lines)))
		c0 := processCPU()
		for i := 0; i < b.N; i++ {
			s = engine.SessionRecord{}
			if err := json.Unmarshal(bl.lines[i%len(bl.lines)], &s); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, processCPU()-c0)
	})
}

// BenchmarkReplayMemory10M streams 10,000,000 records (lean lines; b.N is
// ignored: one run) and reports the peak live heap, sampled every 64 x
// 4,096 records: memory is flat in the number of records.
func BenchmarkReplayMemory10M(b *testing.B) {
	const n = 10_000_000
	bl := newLeanBenchLog(b)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	peak := uint64(0)
	r := bl.reader(n, false)
	cycle := 0
	r.onCycle = func() {
		cycle++
		if cycle%64 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	b.ResetTimer()
	t0 := time.Now()
	rep, err := Run(r, bl.live, nil, Options{Workers: 1})
	wall := time.Since(t0)
	b.StopTimer()
	if err != nil || rep.Rows != n {
		b.Fatalf("%v %v", rep, err)
	}
	runtime.ReadMemStats(&ms)
	peak = max(peak, ms.HeapAlloc)
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(peak-base)/(1<<20), "peak-heap-over-baseline-MB")
	b.ReportMetric(float64(ms.Sys)/(1<<20), "sys-MB")
	b.ReportMetric(float64(n)/wall.Seconds(), "records/s")
}
