package engine

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// The seed's record, as Cloudflare would write it, reads back field by field.
func TestParseSessionSeedRecord(t *testing.T) {
	raw, err := os.ReadFile("testdata/seed_session_kix_nrt.json")
	if err != nil {
		t.Fatal(err)
	}
	// The golden file is indented; Logpush writes one line per record.
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		t.Fatal(err)
	}
	for name, line := range map[string][]byte{"compact": compact.Bytes(), "indented (whitespace between tokens)": bytes.ReplaceAll(raw, []byte("\n"), []byte(" "))} {
		s, err := ParseSession(line)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := SessionRecord{
			AccountID: "699d98642c564d2e855e9661899b7252", BytesReceived: 48213, BytesSent: 1820,
			DeviceID: "5f1d3c3e-9b1a-4c07-9d7e-2b1f0c6a9e11", DeviceName: "osaka-laptop",
			EgressColoName: "NRT", EgressIP: "203.0.113.10", EgressPort: 35217, EgressRuleID: ZeroUUID, EgressRuleName: "",
			Email: "user@example.com", IngressColoName: "KIX", Offramp: "INTERNET", OriginIP: "192.0.2.80", OriginPort: 443,
			Protocol: "TCP", SessionEndTime: 1795654801500000000, SessionID: "1f6c9b2e4a0d4e6f8a7b3c2d1e0f9a8b",
			SessionStartTime: 1795654800000000000, SourceIP: "198.51.100.7", SourcePort: 50000,
		}
		if s.SessionRecord != want {
			t.Errorf("%s:\n got %+v\nwant %+v", name, s.SessionRecord, want)
		}
		if s.Count != 1 {
			t.Errorf("%s: Count = %d, want 1 (no count column)", name, s.Count)
		}
		if !s.Has(FieldEgressRuleName|FieldEgressIP|FieldEgressColoName|FieldSourceInternalIP|FieldUserID) || s.Has(FieldResolvedFQDN) || s.Has(FieldCount) {
			t.Errorf("%s: Fields = %b", name, s.Fields)
		}
	}
}

// What RenderSession writes, ParseSession reads back unchanged.
func TestParseSessionRoundTrip(t *testing.T) {
	p := partners()
	p.ID = "f174e90a-fafe-4643-bbbc-4a0ed4fc8415"
	p.Name = `Partners "EU" \ ünïcødé`
	for _, f := range []*Flow{flow("LAX", "US", dst6, false), flow("KIX", "JP", dst4, true), flow("LAX", "MX", dst4, false)} {
		d, err := Decide([]Policy{p}, invNRTLAX(), nil, f)
		if err != nil {
			t.Fatal(err)
		}
		rec := RenderSession(d, f, seedMeta())
		rec.UserID, rec.ResolvedFQDN = "u-1", "example.com"
		line, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseSession(line)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if got.SessionRecord != rec {
			t.Errorf("round trip:\n got %+v\nwant %+v", got.SessionRecord, rec)
		}
	}
}

// Logpush's timestamp_format options (unixnano, unix, rfc3339) and the
// string integers of warehouse exports all read as Unix nanoseconds.
func TestParseSessionTimestampFormats(t *testing.T) {
	want := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC).UnixNano()
	for _, v := range []string{
		`1795654800000000000`,         // unixnano (Logpush's API default)
		`1795654800`,                  // unix
		`"2026-11-26T01:00:00Z"`,      // rfc3339 (the dashboard's default)
		`"2026-11-26T10:00:00+09:00"`, // rfc3339 with an offset
		`"1795654800000000000"`,       // unixnano as a string (BigQuery export)
		`"1795654800"`,                // unix as a string
		`1.7956548e9`,                 // unix in exponent form
		`"2026-11-26 01:00:00"`,       // ClickHouse DateTime
		`"2026-11-26 01:00:00.000"`,   // ClickHouse DateTime64
		`"2026-11-26 01:00:00 UTC"`,   // BigQuery TIMESTAMP
	} {
		s, err := ParseSession([]byte(`{"SessionStartTime":` + v + `}`))
		if err != nil {
			t.Errorf("%s: %v", v, err)
			continue
		}
		if s.SessionStartTime != want || !s.Has(FieldSessionStartTime) {
			t.Errorf("%s: SessionStartTime = %d, want %d", v, s.SessionStartTime, want)
		}
	}
	s, err := ParseSession([]byte(`{"SessionEndTime":"2026-11-26T01:00:01.5Z","SessionStartTime":1795654800.25}`))
	if err != nil || s.SessionEndTime != want+1500*int64(time.Millisecond) || s.SessionStartTime != want+250*int64(time.Millisecond) {
		t.Errorf("fractions: %+v, %v", s.SessionRecord, err)
	}
}

func TestParseSessionCount(t *testing.T) {
	for line, want := range map[string]int64{
		`{"OriginIP":"192.0.2.1"}`:                 1,
		`{"count":250000}`:                         250000,
		`{"Count":"42"}`:                           42, // BigQuery: INT64 as a string
		`{"count()":7}`:                            7,  // ClickHouse's default column name
		`{"COUNT(*)":3}`:                           3,
		`{"count":3.0}`:                            3,
		`{"count":0}`:                              0,
		`{"count":null}`:                           1,
		`{"count":5,"count":null}`:                 1, // the last value wins
		`{"count":9000000000000000000}`:            9000000000000000000,
		`{"other":{"count":5},"list":[{"c":[1]}]}`: 1, // nested, unknown: ignored
	} {
		s, err := ParseSession([]byte(line))
		if err != nil {
			t.Errorf("%s: %v", line, err)
			continue
		}
		if s.Count != want {
			t.Errorf("%s: Count = %d, want %d", line, s.Count, want)
		}
	}
}

// Log Explorer's SQL API writes column names in lower case.
func TestParseSessionLowerCaseNames(t *testing.T) {
	s, err := ParseSession([]byte(`{"ingresscoloname":"KIX","originip":"192.0.2.80","egressrulename":"","egressip":"203.0.113.10","egresscoloname":"NRT","sessionstarttime":"2026-11-26T01:00:00Z","count":3,"clientrequesthost":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.IngressColoName != "KIX" || s.OriginIP != "192.0.2.80" || s.EgressIP != "203.0.113.10" || s.EgressColoName != "NRT" || !s.Has(FieldEgressRuleName) || s.Count != 3 || s.SessionStartTime == 0 {
		t.Errorf("%+v", s)
	}
}

// Bad lines are errors that say what is wrong and where; they never panic.
func TestParseSessionErrors(t *testing.T) {
	for line, want := range map[string]string{
		``:                                    "empty line",
		`[{"OriginIP":"192.0.2.1"}]`:          "a JSON array",
		`"192.0.2.1","NRT"`:                   "CSV",
		`OriginIP=192.0.2.1`:                  "expected a JSON object",
		`{"OriginIP":"192.0.2.1"`:             "the line ends before the object is closed",
		`{"OriginIP":"192.0.2.1",`:            "the line ends before the object is closed",
		`{"OriginIP":`:                        "the line ends before the object is closed",
		`{"OriginIP":"192.0.2.1",}`:           "expected a field name",
		`{"OriginIP" "192.0.2.1"}`:            "expected ':'",
		`{"OriginIP":"192.0.2.1"} {}`:         "unexpected data after",
		`{"OriginPort":"https"}`:              `OriginPort: "https" is not a number`,
		`{"OriginPort":70000}`:                "OriginPort: 70000 is not a port",
		`{"OriginPort":443.5}`:                "OriginPort: 443.5 is not an integer",
		`{"OriginIP":19216801}`:               "OriginIP: expected a string",
		`{"count":-2}`:                        "count: -2 is negative",
		`{"count":1.5}`:                       "count: 1.5 is not an integer",
		`{"SessionStartTime":"yesterday"}`:    `SessionStartTime: "yesterday" is not a Unix timestamp or an RFC 3339 time`,
		`{"SessionStartTime":true}`:           "SessionStartTime: expected a timestamp",
		`{"Email":"a@b` + "\x01" + `"}`:       "control character",
		`{"Email":"a\qb"}`:                    `invalid escape \q`,
		`{"Email":"a\u12"}`:                   `invalid \u escape`,
		`{"x":[1,2}`:                          "expected ',' or ']'",
		`{"x":tru}`:                           "expected a value",
		`{"x":01}`:                            "expected ',' or '}'",
		`{"x":-}`:                             "invalid number",
		`{"x":1.}`:                            "digits expected after '.'",
		`{"x":1e}`:                            "digits expected in the exponent",
		`{"x":nul}`:                           "invalid literal",
		`{"x":"unterminated}`:                 "unterminated string",
		`{"x":` + strings.Repeat("[", 1001):   "nested too deeply",
		`{"x":{"a":1,"b"}}`:                   "expected ':'",
		`{"x":{"a":1 "b":2}}`:                 "expected ',' or '}'",
		`{"x":[`:                              "expected a value",
		`{"OriginIP":"192.0.2.1","x":{"a":[`:  "expected a value",
		`{"OriginIP":"192.0.2.1","x":{"a":1,`: "expected a field name",
	} {
		_, err := ParseSession([]byte(line))
		var se *SessionSyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: err = %v, want a *SessionSyntaxError", line, err)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %q, want it to contain %q", line, err, want)
		}
	}
}

func TestParseSessionStringsAndNulls(t *testing.T) {
	s, err := ParseSession([]byte(`{"EgressRuleName":"Partners \"EU\" \u00fc \ud83d\ude00","Email":null,"DeviceName":"caf` + "\xc3\xa9" + `","UserID":"bad` + "\xff" + `","Extra":"ignored"}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.EgressRuleName != "Partners \"EU\" ü 😀" || s.DeviceName != "café" || s.UserID != "bad\uFFFD" {
		t.Errorf("strings: %q %q %q", s.EgressRuleName, s.DeviceName, s.UserID)
	}
	if s.Has(FieldEmail) || !s.Has(FieldEgressRuleName|FieldDeviceName|FieldUserID) {
		t.Errorf("Fields = %b: null is 'not logged'", s.Fields)
	}
	// A repeated key: the last value wins, whatever its form.
	for line, want := range map[string]string{
		`{"OriginIP":"192.0.2.1","OriginIP":"192.0.2.2"}`:      "192.0.2.2",
		`{"OriginIP":"192.0.2.1","OriginIP":"192.0.2.\u0033"}`: "192.0.2.3",
		`{"OriginIP":"192.0.2.\u0031","OriginIP":"192.0.2.4"}`: "192.0.2.4",
		`{"OriginIP":"192.0.2.1","OriginIP":""}`:               "",
		`{"OriginIP":"192.0.2.1","OriginIP":null}`:             "",
	} {
		if s, err := ParseSession([]byte(line)); err != nil || s.OriginIP != want || s.Has(FieldOriginIP) != (want != "" || !strings.Contains(line, "null")) {
			t.Errorf("%s: OriginIP %q (has %v), %v; want %q", line, s.OriginIP, s.Has(FieldOriginIP), err, want)
		}
	}
	// An empty string in an integer column (some exports) is 'not logged'.
	s, err = ParseSession([]byte(`{"OriginPort":"","SourcePort":"50000"}`))
	if err != nil || s.Has(FieldOriginPort) || s.SourcePort != 50000 {
		t.Errorf("empty integer string: %+v %v", s, err)
	}
}

// Only: fields outside the set are skipped, not decoded, not type-checked.
func TestParseSessionOnly(t *testing.T) {
	p := NewSessionParser()
	p.Only(FieldOriginIP)
	var s LoggedSession
	if err := p.Parse([]byte(`{"OriginIP":"192.0.2.1","OriginPort":"not a port","BytesSent":1,"count":4}`), &s); err != nil {
		t.Fatal(err)
	}
	if s.OriginIP != "192.0.2.1" || s.Fields != FieldOriginIP|FieldCount || s.Count != 4 || s.BytesSent != 0 {
		t.Errorf("%+v", s)
	}
	if err := p.Parse([]byte(`{"OriginIP":"192.0.2.1","BytesSent":[}`), &s); err == nil {
		t.Errorf("a skipped field is still JSON-checked")
	}
}

// The parser reuses nothing between lines: a field missing on the second
// line is not left over from the first.
func TestParseSessionResetsBetweenLines(t *testing.T) {
	p := NewSessionParser()
	var s LoggedSession
	if err := p.Parse([]byte(`{"EgressIP":"203.0.113.10","count":5,"OriginPort":443}`), &s); err != nil {
		t.Fatal(err)
	}
	if err := p.Parse([]byte(`{"OriginIP":"192.0.2.1"}`), &s); err != nil {
		t.Fatal(err)
	}
	if s.EgressIP != "" || s.Count != 1 || s.OriginPort != 0 || s.Fields != FieldOriginIP {
		t.Errorf("left over: %+v", s)
	}
}

func TestSessionLineReader(t *testing.T) {
	long := `{"x":"` + strings.Repeat("a", MaxSessionLine) + `"}`
	text := "\xef\xbb\xbf{\"a\":1}\r\n\n   \n{\"a\":2}\n" + long + "\n{\"a\":3}"
	var gz bytes.Buffer
	// Two gzip members, as concatenated Logpush batches are.
	for _, part := range []string{text[:20], text[20:]} {
		w := gzip.NewWriter(&gz)
		if _, err := w.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for name, in := range map[string][]byte{"plain": []byte(text), "gzip": gz.Bytes()} {
		l, err := NewSessionLineReader(bytes.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		type got struct {
			line int
			text string
			err  error
		}
		var gots []got
		for {
			b, lerr, ok := l.Next()
			if !ok {
				break
			}
			gots = append(gots, got{l.Line(), string(b), lerr})
		}
		if err := l.Err(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := []got{{1, `{"a":1}`, nil}, {4, `{"a":2}`, nil}, {5, "", ErrSessionLineTooLong}, {6, `{"a":3}`, nil}}
		if len(gots) != len(want) {
			t.Fatalf("%s: got %d lines %+v", name, len(gots), gots)
		}
		for i := range want {
			if gots[i] != want[i] {
				t.Errorf("%s: line %d = %+v, want %+v", name, i, gots[i], want[i])
			}
		}
	}
}

func TestSessionLineReaderReadError(t *testing.T) {
	r := io.MultiReader(strings.NewReader("{\"a\":1}\n{\"a\""), errReader{})
	l, err := NewSessionLineReader(r)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, _, ok := l.Next()
		if !ok {
			break
		}
		n++
	}
	if n != 1 || l.Err() == nil || !strings.Contains(l.Err().Error(), "line 2") {
		t.Errorf("lines %d, err %v", n, l.Err())
	}
	// A truncated gzip file is an error too, not a silent end.
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	_, _ = w.Write(bytes.Repeat([]byte("{\"a\":1}\n"), 1000))
	_ = w.Close()
	l, err = NewSessionLineReader(bytes.NewReader(gz.Bytes()[:gz.Len()/2]))
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, _, ok := l.Next(); !ok {
			break
		}
	}
	if l.Err() == nil {
		t.Errorf("truncated gzip: no error")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

// FuzzParseSession checks the parser against encoding/json: a line is
// accepted exactly when it is one JSON object whose known fields have the
// right types, and every known field has the value encoding/json gives it.
func FuzzParseSession(f *testing.F) {
	seed, _ := os.ReadFile("testdata/seed_session_kix_nrt.json")
	f.Add(seed)
	for _, s := range []string{
		`{"count":3,"EgressIP":"203.0.113.10","x":[1,{"y":null}],"SessionStartTime":"2026-11-26T01:00:00Z"}`,
		`{"Email":"\u00e9\ud800","OriginPort":"443","SourcePort":1e3}`, `null`, `{}`, `{"a":}`, `[]`,
		`{"EgressRuleName":"a","EgressRuleName":null}`, "{\"Email\":\"\xff\"}", `{"OriginPort":-0}`,
		// Keys like the seed's but not quite: a guess must match whole.
		`{"AccountID" :"a","BytesReceived":1,"BytesSent":"x"}`, `{"AccountIDx":"a","Bytes\u0052eceived":1}`, `{"AccountID":"a\"b","BytesReceived":1}`,
	} {
		f.Add([]byte(s))
	}
	// Full Logpush lines (all 43 fields of the dataset).
	sample, err := os.ReadFile("../../examples/data-sources/cfegress_session_replay/sessions.ndjson")
	if err != nil {
		f.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(sample), []byte("\n"))
	for _, l := range lines {
		f.Add(l)
	}
	other := lines[0] // compact, so a parser that reads it guesses its keys
	otherWant, err := referenceParse(other, 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		want, werr := referenceParse(line, 0)
		check := func(how string, got LoggedSession, err error, want LoggedSession, werr error) {
			t.Helper()
			if (err == nil) != (werr == nil) {
				t.Fatalf("%s: %q: parser err %v, reference err %v", how, line, err, werr)
			}
			if err == nil && got != want {
				t.Fatalf("%s: %q:\n got %+v\nwant %+v", how, line, got, want)
			}
		}
		var got LoggedSession
		// A new parser; the same one again (it guesses this line's keys);
		// another record after this line (guesses from it, some wrong);
		// this line after that record (its guesses).
		p := NewSessionParser()
		err := p.Parse(line, &got)
		check("new parser", got, err, want, werr)
		err = p.Parse(line, &got)
		check("the same line again", got, err, want, werr)
		err = p.Parse(other, &got)
		check("another record after it", got, err, otherWant, nil)
		err = p.Parse(line, &got)
		check("after another record", got, err, want, werr)
		// Only: the other known fields are skipped as any JSON value.
		o := NewSessionParser()
		o.Only(fuzzOnly)
		wantOnly, werrOnly := referenceParse(line, fuzzOnly|FieldCount)
		for _, how := range []string{"only", "only, again"} {
			err = o.Parse(line, &got)
			check(how, got, err, wantOnly, werrOnly)
		}
	})
}

// fuzzOnly is a mix of string and integer fields.
const fuzzOnly = FieldEmail | FieldEgressIP | FieldOriginIP | FieldOriginPort | FieldSessionID | FieldIngressColoName

// referenceParse is the parser's specification written with encoding/json:
// the object's members in order, the last value of a repeated key winning;
// with only not 0, the other known fields are skipped like unknown ones.
func referenceParse(line []byte, only SessionFields) (LoggedSession, error) {
	s := LoggedSession{Count: 1}
	if t := bytes.TrimSpace(line); len(t) == 0 || t[0] != '{' {
		return s, errors.New("not an object")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	if _, err := dec.Token(); err != nil {
		return s, err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return s, err
		}
		k, ok := tok.(string)
		if !ok {
			return s, errors.New("key is not a string")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return s, err
		}
		slot := lookupField([]byte(k))
		if slot.bit == 0 || only != 0 && only&slot.bit == 0 {
			continue
		}
		if string(raw) == "null" {
			s.clear(slot)
			continue
		}
		switch slot.kind {
		case kindString, kindStringInterned:
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				return s, err
			}
			s.setString(slot.bit, v)
		default:
			quoted := raw[0] == '"'
			text := []byte(raw)
			if quoted {
				var v string
				if err := json.Unmarshal(raw, &v); err != nil {
					return s, err
				}
				if v == "" {
					s.clear(slot)
					continue
				}
				text = []byte(v)
			} else if raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
				return s, errors.New("not a number")
			}
			v, err := numberValue(text, quoted, slot)
			if err != nil {
				return s, err
			}
			s.setInt(slot.bit, v)
		}
		s.Fields |= slot.bit
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return s, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return s, errors.New("data after the object")
	}
	return s, nil
}
