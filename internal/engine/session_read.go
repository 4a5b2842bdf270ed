package engine

// Reading Network Session Log records (the other half of session.go's
// renderer): one NDJSON line at a time, as Logpush writes the
// zero_trust_network_sessions dataset, streamed in constant memory.
//
// The parser is hand-written rather than encoding/json because replaying a
// month of logs is dominated by it: encoding/json decodes a full record (the
// dataset's 43 fields, ~1.3 KB) in about 30 microseconds of CPU, this parser
// in 1.5 to 3 (BenchmarkParseSession, -cpu 1). It is a strict JSON parser
// for one object per line (FuzzParseSession checks it against
// encoding/json); only the record's known fields are decoded, others are
// validated and skipped. What makes it fast, in order of what it saved:
// each key is first compared with the one the previous line had at the
// same position (Logpush writes every line's fields in one order), strings
// and integers are crossed eight bytes at a time (SWAR), skipped strings are
// not checked for UTF-8 (encoding/json accepts invalid UTF-8 too), and
// values with few distinct values are interned through small caches.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// SessionFields is the set of fields a record's line carried (not null), one
// bit per field the reader knows. A Logpush job writes only the fields of its
// output_options.field_names, so a missing field is "not logged", not "empty".
type SessionFields uint32

// The fields the reader knows.
const (
	FieldAccountID SessionFields = 1 << iota
	FieldBytesReceived
	FieldBytesSent
	FieldDeviceID
	FieldDeviceName
	FieldEgressColoName
	FieldEgressIP
	FieldEgressPort
	FieldEgressRuleID
	FieldEgressRuleName
	FieldEmail
	FieldIngressColoName
	FieldOfframp
	FieldOriginIP
	FieldOriginPort
	FieldProtocol
	FieldResolvedFQDN
	FieldSessionEndTime
	FieldSessionID
	FieldSessionStartTime
	FieldSourceIP
	FieldSourceInternalIP
	FieldSourcePort
	FieldUserID
	FieldVirtualNetworkID
	FieldCount
)

// LoggedSession is one record as read from a log: the record, which of its
// fields the line carried, and its weight.
type LoggedSession struct {
	SessionRecord
	Fields SessionFields
	// Count is the number of sessions the row stands for: 1, or the row's
	// "count" column when the records were aggregated upstream (a GROUP BY
	// in ClickHouse, BigQuery, R2 SQL, ...; "count", "Count", "count()" and
	// "count(*)" are accepted). 0 is allowed (the row weighs nothing).
	Count int64
}

// Has reports whether the line carried every field of f.
func (s *LoggedSession) Has(f SessionFields) bool { return s.Fields&f == f }

// SessionSyntaxError is a line that is not a record: Offset is the byte
// offset in the line (0-based), Field the record field it concerns ("" for
// JSON syntax).
type SessionSyntaxError struct {
	Offset int
	Field  string
	Msg    string
}

func (e *SessionSyntaxError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Msg)
	}
	return fmt.Sprintf("column %d: %s", e.Offset+1, e.Msg)
}

// SessionParser parses record lines. It interns the values of fields with few
// distinct values (colos, rule names and IDs, egress IPs, e-mails, ...), so a
// long log allocates little. Not safe for concurrent use: one per goroutine.
type SessionParser struct {
	// only, when not 0, is the set of fields decoded; the others are
	// validated as JSON and skipped like unknown fields (Only).
	only SessionFields
	// local and table are internField's caches (by field bit position,
	// then shared) of the values of fields with few distinct values.
	local [32][localSlots]string
	table []string
	// guesses are the keys of the previous line, by member position.
	guesses []keyGuess
	// arena holds the line's values of fields with many distinct values
	// (SessionID, OriginIP, SourceIP), which become one string.
	arena    []byte
	pending  [8]pendingString
	npending int
}

// NewSessionParser returns a parser.
func NewSessionParser() *SessionParser {
	return &SessionParser{}
}

// Only makes the parser decode only the fields of f (FieldCount is always
// decoded): a reader that needs a few fields skips the others' number and
// time parsing. Skipped fields are still checked to be JSON, not to have
// their type.
func (p *SessionParser) Only(f SessionFields) { p.only = f | FieldCount }

// ParseSession parses one line with a new parser (convenience for callers
// that parse a few records).
func ParseSession(line []byte) (LoggedSession, error) {
	var s LoggedSession
	err := NewSessionParser().Parse(line, &s)
	return s, err
}

type fieldKind uint8

const (
	kindUnknown fieldKind = iota
	kindString
	kindStringInterned
	kindInt
	kindPort
	kindTime
	kindCount
)

type fieldSlot struct {
	bit  SessionFields
	kind fieldKind
	name string
}

// lookupField maps a key to its field. A switch on string(key) compiles to
// a jump table and does not allocate.
func lookupField(key []byte) fieldSlot {
	switch string(key) {
	case "AccountID":
		return fieldSlot{FieldAccountID, kindStringInterned, "AccountID"}
	case "BytesReceived":
		return fieldSlot{FieldBytesReceived, kindInt, "BytesReceived"}
	case "BytesSent":
		return fieldSlot{FieldBytesSent, kindInt, "BytesSent"}
	case "DeviceID":
		return fieldSlot{FieldDeviceID, kindStringInterned, "DeviceID"}
	case "DeviceName":
		return fieldSlot{FieldDeviceName, kindStringInterned, "DeviceName"}
	case "EgressColoName":
		return fieldSlot{FieldEgressColoName, kindStringInterned, "EgressColoName"}
	case "EgressIP":
		return fieldSlot{FieldEgressIP, kindStringInterned, "EgressIP"}
	case "EgressPort":
		return fieldSlot{FieldEgressPort, kindPort, "EgressPort"}
	case "EgressRuleID":
		return fieldSlot{FieldEgressRuleID, kindStringInterned, "EgressRuleID"}
	case "EgressRuleName":
		return fieldSlot{FieldEgressRuleName, kindStringInterned, "EgressRuleName"}
	case "Email":
		return fieldSlot{FieldEmail, kindStringInterned, "Email"}
	case "IngressColoName":
		return fieldSlot{FieldIngressColoName, kindStringInterned, "IngressColoName"}
	case "Offramp":
		return fieldSlot{FieldOfframp, kindStringInterned, "Offramp"}
	case "OriginIP":
		return fieldSlot{FieldOriginIP, kindString, "OriginIP"}
	case "OriginPort":
		return fieldSlot{FieldOriginPort, kindPort, "OriginPort"}
	case "Protocol":
		return fieldSlot{FieldProtocol, kindStringInterned, "Protocol"}
	case "ResolvedFQDN":
		return fieldSlot{FieldResolvedFQDN, kindStringInterned, "ResolvedFQDN"}
	case "SessionEndTime":
		return fieldSlot{FieldSessionEndTime, kindTime, "SessionEndTime"}
	case "SessionID":
		return fieldSlot{FieldSessionID, kindString, "SessionID"}
	case "SessionStartTime":
		return fieldSlot{FieldSessionStartTime, kindTime, "SessionStartTime"}
	case "SourceIP":
		return fieldSlot{FieldSourceIP, kindString, "SourceIP"}
	case "SourceInternalIP":
		return fieldSlot{FieldSourceInternalIP, kindStringInterned, "SourceInternalIP"}
	case "SourcePort":
		return fieldSlot{FieldSourcePort, kindPort, "SourcePort"}
	case "UserID":
		return fieldSlot{FieldUserID, kindStringInterned, "UserID"}
	case "VirtualNetworkID":
		return fieldSlot{FieldVirtualNetworkID, kindStringInterned, "VirtualNetworkID"}
	case "count", "Count", "COUNT", "count()", "count(*)", "COUNT(*)", "COUNT()":
		return fieldSlot{FieldCount, kindCount, "count"}
	}
	// Log Explorer's SQL API answers with lower-case column names
	// ("clientrequesthost" for ClientRequestHost,
	// https://developers.cloudflare.com/log-explorer/api/); Cloudflare's own
	// names start upper case, so only a lower-case first letter pays for the
	// second look-up.
	if len(key) > 0 && len(key) <= 32 && 'a' <= key[0] && key[0] <= 'z' {
		var buf [32]byte
		lower := buf[:len(key)]
		for i, c := range key {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			lower[i] = c
		}
		if s, ok := lowerFields[string(lower)]; ok {
			return lookupField([]byte(s))
		}
	}
	return fieldSlot{}
}

// lowerFields maps the lower-case form of each known field to its name.
var lowerFields = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{
		"AccountID", "BytesReceived", "BytesSent", "DeviceID", "DeviceName", "EgressColoName", "EgressIP", "EgressPort",
		"EgressRuleID", "EgressRuleName", "Email", "IngressColoName", "Offramp", "OriginIP", "OriginPort", "Protocol",
		"ResolvedFQDN", "SessionEndTime", "SessionID", "SessionStartTime", "SourceIP", "SourceInternalIP", "SourcePort",
		"UserID", "VirtualNetworkID",
	} {
		m[strings.ToLower(n)] = n
	}
	return m
}()

func (s *LoggedSession) setString(bit SessionFields, v string) {
	r := &s.SessionRecord
	switch bit {
	case FieldAccountID:
		r.AccountID = v
	case FieldDeviceID:
		r.DeviceID = v
	case FieldDeviceName:
		r.DeviceName = v
	case FieldEgressColoName:
		r.EgressColoName = v
	case FieldEgressIP:
		r.EgressIP = v
	case FieldEgressRuleID:
		r.EgressRuleID = v
	case FieldEgressRuleName:
		r.EgressRuleName = v
	case FieldEmail:
		r.Email = v
	case FieldIngressColoName:
		r.IngressColoName = v
	case FieldOfframp:
		r.Offramp = v
	case FieldOriginIP:
		r.OriginIP = v
	case FieldProtocol:
		r.Protocol = v
	case FieldResolvedFQDN:
		r.ResolvedFQDN = v
	case FieldSessionID:
		r.SessionID = v
	case FieldSourceIP:
		r.SourceIP = v
	case FieldSourceInternalIP:
		r.SourceInternalIP = v
	case FieldUserID:
		r.UserID = v
	case FieldVirtualNetworkID:
		r.VirtualNetworkID = v
	}
}

func (s *LoggedSession) clear(slot fieldSlot) {
	s.Fields &^= slot.bit
	switch slot.kind {
	case kindString, kindStringInterned:
		s.setString(slot.bit, "")
	case kindCount:
		s.Count = 1
	default:
		s.setInt(slot.bit, 0)
	}
}

func (s *LoggedSession) setInt(bit SessionFields, v int64) {
	r := &s.SessionRecord
	switch bit {
	case FieldBytesReceived:
		r.BytesReceived = v
	case FieldBytesSent:
		r.BytesSent = v
	case FieldEgressPort:
		r.EgressPort = int(v)
	case FieldOriginPort:
		r.OriginPort = int(v)
	case FieldSourcePort:
		r.SourcePort = int(v)
	case FieldSessionStartTime:
		r.SessionStartTime = v
	case FieldSessionEndTime:
		r.SessionEndTime = v
	case FieldCount:
		s.Count = v
	}
}

// Parse parses one NDJSON line (without its newline) into s. Unknown fields
// are ignored; a known field of the wrong type, or a line that is not one
// JSON object, is a *SessionSyntaxError. Value types accepted, beyond the
// dataset's own (string; int; "int or string" timestamps):
//   - integers may be JSON strings of digits ("1820"): BigQuery and other
//     warehouses export 64-bit integers as strings;
//   - SessionStartTime/SessionEndTime in any Logpush timestamp_format
//     (https://developers.cloudflare.com/logs/logpush/logpush-job/log-output-options/:
//     "unixnano (nanoseconds unit), unix (seconds unit), or rfc3339 (seconds
//     unit). Default unixnano"), stored as Unix nanoseconds. A number below
//     10^11 is read as seconds (10^11 s is the year 5138; 10^11 ns is 1970),
//     so unix and unixnano need no flag;
//   - null means the field was not logged.
func (p *SessionParser) Parse(line []byte, s *LoggedSession) error {
	*s = LoggedSession{Count: 1}
	p.arena, p.npending = p.arena[:0], 0
	i := skipWS(line, 0)
	if i >= len(line) || line[i] != '{' {
		return notAnObject(line, i)
	}
	i = skipWS(line, i+1)
	if i < len(line) && line[i] == '}' {
		i++
	} else {
		for member := 0; ; member++ {
			if i >= len(line) {
				return syntaxErr(line, i, truncated)
			}
			if line[i] != '"' {
				return syntaxErr(line, i, "expected a field name in double quotes")
			}
			var slot fieldSlot
			if g := p.guess(member); g != nil && g.matches(line, i) {
				// The key the previous line had here: `"Name":` at once.
				slot, i = g.slot, i+int(g.n)
			} else {
				kstart := i
				kend, esc, _, err := scanQuoted(line, i)
				if err != nil {
					return err
				}
				key := line[kstart+1 : kend-1]
				if esc {
					k, err := unquoteSlow(line[kstart:kend])
					if err != nil {
						return syntaxErr(line, kstart, err.Error())
					}
					key = []byte(k)
				}
				// A key that is not valid UTF-8 is decoded with U+FFFD by
				// encoding/json: it cannot be a known field (all ASCII)
				// either way, so it is not decoded here.
				slot = lookupField(key)
				if !esc && kend < len(line) && line[kend] == ':' {
					p.learn(member, line[kstart:kend+1], slot)
				}
				i = skipWS(line, kend)
				if i >= len(line) || line[i] != ':' {
					return syntaxErr(line, i, "expected ':' after a field name")
				}
				i++
			}
			i = skipWS(line, i)
			if p.only != 0 && p.only&slot.bit == 0 {
				slot = fieldSlot{}
			}
			var err error
			if slot.bit == 0 && i < len(line) && line[i] == '"' {
				i, err = skipString(line, i) // most skipped values: inline
			} else {
				i, err = p.value(line, i, slot, s)
			}
			if err != nil {
				return err
			}
			i = skipWS(line, i)
			if i >= len(line) {
				return syntaxErr(line, i, truncated)
			}
			if line[i] == ',' {
				i = skipWS(line, i+1)
				continue
			}
			if line[i] == '}' {
				i++
				break
			}
			return syntaxErr(line, i, "expected ',' or '}' after a value")
		}
	}
	if i = skipWS(line, i); i < len(line) {
		return syntaxErr(line, i, "unexpected data after the record's closing '}' (one JSON object per line)")
	}
	if p.npending > 0 {
		all := string(p.arena) // one allocation for the line's unique strings
		for _, ps := range p.pending[:p.npending] {
			s.setString(ps.bit, all[ps.start:ps.end])
		}
	}
	return nil
}

// keyGuess is the key a line had at one member position, with the ':'
// after it: Logpush writes every line's fields in the same order, so the
// next line's key is compared with it at once instead of being scanned and
// looked up.
type keyGuess struct {
	n    uint8 // len(`"Name":`), 0 for no guess
	lit  [maxGuessKey]byte
	slot fieldSlot
}

// matches reports whether line[i:] starts with g's key.
func (g *keyGuess) matches(line []byte, i int) bool {
	n := int(g.n)
	return len(line)-i >= n && string(line[i:i+n]) == string(g.lit[:n])
}

const (
	maxGuesses  = 64 // member positions remembered (the dataset has 43 fields)
	maxGuessKey = 48 // the longest `"Name":` remembered
)

func (p *SessionParser) guess(member int) *keyGuess {
	if member < len(p.guesses) && p.guesses[member].n > 0 {
		return &p.guesses[member]
	}
	return nil
}

// learn remembers lit (`"Name":`, no escapes) as the key at member.
func (p *SessionParser) learn(member int, lit []byte, slot fieldSlot) {
	if member >= maxGuesses || len(lit) > maxGuessKey {
		return
	}
	if p.guesses == nil {
		p.guesses = make([]keyGuess, maxGuesses)
	}
	g := &p.guesses[member]
	g.n = uint8(copy(g.lit[:], lit))
	g.slot = slot
}

// pendingString is a string field whose bytes are in the parser's arena.
type pendingString struct {
	bit        SessionFields
	start, end int
}

func (p *SessionParser) dropPending(bit SessionFields) {
	for k := 0; k < p.npending; k++ {
		if p.pending[k].bit == bit {
			copy(p.pending[k:], p.pending[k+1:p.npending])
			p.npending--
			return
		}
	}
}

// value parses the value at line[i:] for slot and returns the offset after it.
func (p *SessionParser) value(line []byte, i int, slot fieldSlot, s *LoggedSession) (int, error) {
	if i >= len(line) {
		return i, syntaxErr(line, i, truncated)
	}
	if line[i] == 'n' {
		// null: the field was not logged.
		if !bytes.HasPrefix(line[i:], []byte("null")) {
			return i, syntaxErr(line, i, "invalid literal (expected null)")
		}
		if slot.bit != 0 { // a repeated key: the last value wins, as in encoding/json
			p.dropPending(slot.bit)
			s.clear(slot)
		}
		return i + 4, nil
	}
	switch slot.kind {
	case kindUnknown:
		switch c := line[i]; {
		case c == '"':
			return skipString(line, i)
		case c == '-' || '0' <= c && c <= '9':
			return scanNumber(line, i)
		}
		return skipValue(line, i)
	case kindString, kindStringInterned:
		if line[i] != '"' {
			return i, fieldErr(line, i, slot.name, "expected a string")
		}
		end, esc, err := scanString(line, i)
		if err != nil {
			return i, err
		}
		var v string
		if s.Fields&slot.bit != 0 {
			p.dropPending(slot.bit) // a repeated key: the last value wins
		}
		switch {
		case esc:
			if v, err = unquoteSlow(line[i:end]); err != nil {
				return i, syntaxErr(line, i, err.Error())
			}
		case slot.kind == kindStringInterned:
			v = p.internField(slot.bit, line[i+1:end-1])
		case end-i > 2 && p.npending < len(p.pending):
			// Copied to the line's arena: one string for all of them (Parse).
			p.pending[p.npending] = pendingString{slot.bit, len(p.arena), len(p.arena) + end - i - 2}
			p.npending++
			p.arena = append(p.arena, line[i+1:end-1]...)
			s.Fields |= slot.bit
			return end, nil
		default:
			v = string(line[i+1 : end-1])
		}
		s.Fields |= slot.bit
		s.setString(slot.bit, v)
		return end, nil
	default:
		v, end, err := p.number(line, i, slot)
		if err == errNotLogged {
			s.clear(slot)
			return end, nil
		}
		if err != nil {
			return i, err
		}
		s.Fields |= slot.bit
		s.setInt(slot.bit, v)
		return end, nil
	}
}

// number parses an integer-valued field (a JSON number, or a string holding
// one; timestamps also RFC 3339 strings).
func (p *SessionParser) number(line []byte, i int, slot fieldSlot) (int64, int, error) {
	var text []byte
	var end int
	quoted := false
	switch c := line[i]; {
	case c == '"':
		e, esc, err := scanString(line, i)
		if err != nil {
			return 0, i, err
		}
		end, quoted = e, true
		text = line[i+1 : e-1]
		if esc {
			u, err := unquoteSlow(line[i:e])
			if err != nil {
				return 0, i, syntaxErr(line, i, err.Error())
			}
			text = []byte(u)
		}
	case c == '-' || '0' <= c && c <= '9':
		e, err := scanNumber(line, i)
		if err != nil {
			return 0, i, err
		}
		end, text = e, line[i:e]
	default:
		what := "an integer"
		if slot.kind == kindTime {
			what = "a timestamp (Unix nanoseconds or seconds, or an RFC 3339 string)"
		}
		return 0, i, fieldErr(line, i, slot.name, "expected "+what)
	}
	if quoted && len(text) == 0 {
		return 0, end, errNotLogged // "": as good as null
	}
	v, err := numberValue(text, quoted, slot)
	if err != nil {
		return 0, i, fieldErr(line, i, slot.name, err.Error())
	}
	return v, end, nil
}

func numberValue(text []byte, quoted bool, slot fieldSlot) (int64, error) {
	if slot.kind == kindTime && quoted && len(text) > 0 && !isNumberText(text) {
		for _, layout := range timeLayouts {
			if t, err := time.Parse(layout, string(text)); err == nil {
				return t.UnixNano(), nil
			}
		}
		return 0, fmt.Errorf("%q is not a Unix timestamp or an RFC 3339 time", text)
	}
	if !isNumberText(text) {
		return 0, fmt.Errorf("%q is not a number", text)
	}
	v, ok := parseIntFast(text)
	if !ok && slot.kind == kindTime {
		v, ok = parseSecondsFraction(text)
	}
	if !ok {
		f, err := strconv.ParseFloat(string(text), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, fmt.Errorf("%s is out of range", text)
		}
		switch {
		case slot.kind == kindTime && math.Abs(f) < 1e11:
			// unix seconds with a fraction (1795654800.5)
			return int64(math.Round(f * 1e9)), nil
		case f != math.Trunc(f) || math.Abs(f) >= 1<<63:
			return 0, fmt.Errorf("%s is not an integer", text)
		}
		v = int64(f)
	}
	switch slot.kind {
	case kindPort:
		if v < 0 || v > 65535 {
			return 0, fmt.Errorf("%d is not a port (0-65535)", v)
		}
	case kindCount, kindInt:
		if v < 0 {
			return 0, fmt.Errorf("%d is negative", v)
		}
	case kindTime:
		if v > -1e11 && v < 1e11 {
			v *= 1e9 // timestamp_format unix: seconds
		}
	}
	return v, nil
}

// truncated is the error of a line that ends inside the record.
const truncated = "the line ends before the object is closed (a truncated record?)"

// errNotLogged: an integer field holding "" (some exports write a missing
// value so); the field counts as not logged.
var errNotLogged = errors.New("not logged")

// timeLayouts are the textual timestamps read: Logpush's rfc3339, and the
// forms warehouses export (ClickHouse "2006-01-02 15:04:05.000", BigQuery
// "2006-01-02 15:04:05 UTC"); without a zone, UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999 MST",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
}

// isNumberText reports whether b is a JSON number.
func isNumberText(b []byte) bool {
	e, err := scanNumber(b, 0)
	return err == nil && e == len(b)
}

// parseIntFast parses an optionally negative decimal integer without
// fraction or exponent; ok is false for anything else or on overflow.
func parseIntFast(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg, b = true, b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var v uint64 // 19 digits cannot overflow a uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	switch {
	case neg && v <= 1<<63:
		return -int64(v), true
	case !neg && v <= math.MaxInt64:
		return int64(v), true
	}
	return 0, false
}

// parseSecondsFraction reads Unix seconds with a decimal fraction
// ("1795654800.25") exactly, as nanoseconds.
func parseSecondsFraction(b []byte) (int64, bool) {
	dot := bytes.IndexByte(b, '.')
	if dot < 0 || len(b)-dot-1 > 9 {
		return 0, false
	}
	sec, ok := parseIntFast(b[:dot])
	if !ok || sec <= -1e11 || sec >= 1e11 {
		return 0, false
	}
	var frac int64
	digits := b[dot+1:]
	for k := 0; k < 9; k++ {
		frac *= 10
		if k < len(digits) {
			if digits[k] < '0' || digits[k] > '9' {
				return 0, false
			}
			frac += int64(digits[k] - '0')
		}
	}
	if b[0] == '-' {
		return sec*1e9 - frac, true
	}
	return sec*1e9 + frac, true
}

// internField returns b as a string, the same string for the same bytes
// while it stays in the parser's caches, so a long log allocates little
// and memory stays bounded: a value that misses (many distinct values
// competing for a slot) is only allocated again. Two direct-mapped caches
// by a hash of the bytes: each field's own small one (a few KB in all, hot
// in the processor's cache: colos, the protocol, rule names, users), then
// one shared table of internSlots strings. Strings are compared whole, so
// a poor hash costs allocations, never a wrong value.
func (p *SessionParser) internField(bit SessionFields, b []byte) string {
	n := len(b)
	if n == 0 {
		return ""
	}
	h := internHash(b)
	local := &p.local[bits.TrailingZeros32(uint32(bit))&31][h&(localSlots-1)]
	if *local == string(b) {
		return *local
	}
	if p.table == nil {
		p.table = make([]string, internSlots)
	}
	e := &p.table[h>>(64-internBits)]
	if *e != string(b) {
		v := string(b)
		if n > maxInternLen {
			return v
		}
		*e = v
	}
	*local = *e
	return *e
}

// internHash mixes b's length and three of its words (start, middle, end).
func internHash(b []byte) uint64 {
	n := len(b)
	var h uint64
	if n >= 8 {
		h = binary.LittleEndian.Uint64(b) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(b[n-8:]), 29) ^
			bits.RotateLeft64(binary.LittleEndian.Uint64(b[(n-8)/2:]), 47)
	} else {
		for _, c := range b {
			h = h<<8 | uint64(c)
		}
	}
	h = (h ^ uint64(n)) * 0x9e3779b97f4a7c15
	return h ^ h>>29
}

const (
	localSlots   = 16 // per field
	internBits   = 14
	internSlots  = 1 << internBits // 256 KB of string headers per parser
	maxInternLen = 128
)

func skipWS(b []byte, i int) int {
	if i < len(b) && b[i] > ' ' { // the usual case: no whitespace at all
		return i
	}
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString scans the JSON string starting at b[i] == '"' and returns the
// offset after its closing quote and whether it needs unquoteSlow (escapes,
// or bytes that are not valid UTF-8).
func scanString(b []byte, i int) (end int, slow bool, err error) {
	end, esc, hi, err := scanQuoted(b, i)
	if err != nil {
		return 0, false, err
	}
	return end, esc || hi && !utf8.Valid(b[i+1:end-1]), nil
}

// skipString skips the JSON string at b[i] == '"' and returns the offset
// after its closing quote. It checks what makes a string invalid JSON
// (control characters, bad escapes, no closing quote) but not its UTF-8:
// encoding/json accepts invalid UTF-8 (it decodes it as U+FFFD), and a
// skipped value is never decoded.
func skipString(b []byte, i int) (int, error) {
	j := i + 1
	for j+8 <= len(b) {
		if m := quoteMask(binary.LittleEndian.Uint64(b[j:])); m != 0 {
			if j += bits.TrailingZeros64(m) >> 3; b[j] == '"' {
				return j + 1, nil
			}
			break // an escape or a control character: the full scan
		}
		j += 8
	}
	end, _, _, err := scanQuoted(b, i)
	return end, err
}

// scanQuoted is scanString's loop: esc reports a backslash escape, hi a
// byte >= 0x80 (possibly not UTF-8).
//
// Bytes are read eight at a time (SWAR: SIMD within a register): quoteMask
// flags the quote, the backslash and control characters, and the lowest
// flag is the first such byte, so plain text is crossed a word at a time
// and the scan stops exactly on the byte that matters.
func scanQuoted(b []byte, i int) (end int, esc, hi bool, err error) {
	start := i
	i++
	var acc uint64 // the OR of the string's bytes: bit 7 set when one is >= 0x80
	for {
		for i+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[i:])
			if m := quoteMask(x); m != 0 {
				k := bits.TrailingZeros64(m) >> 3
				acc |= x & (1<<(8*k) - 1)
				i += k
				goto special
			}
			acc |= x
			i += 8
		}
		for i < len(b) && !strSpecial[b[i]] {
			acc |= uint64(b[i])
			i++
		}
		if i >= len(b) {
			return 0, false, false, syntaxErr(b, start, "unterminated string")
		}
	special:
		switch c := b[i]; c {
		case '"':
			return i + 1, esc, acc&0x8080808080808080 != 0, nil
		case '\\':
			esc = true
			if i+1 >= len(b) {
				return 0, false, false, syntaxErr(b, i, "unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex4(b[i+2:i+6]) {
					return 0, false, false, syntaxErr(b, i, `invalid \u escape in string`)
				}
				i += 6
			default:
				return 0, false, false, syntaxErr(b, i, fmt.Sprintf("invalid escape \\%c in string", b[i+1]))
			}
		default: // c < 0x20
			return 0, false, false, syntaxErr(b, i, "control character in string (escape it)")
		}
	}
}

// strSpecial marks the bytes that end a run of plain string bytes: the
// quote, the backslash and control characters.
var strSpecial = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// quoteMask flags, in bit 7 of its byte, the bytes of x (little endian)
// that are '"', '\\' or below 0x20. The lowest flag is exact; flags above
// it may be spurious (a borrow), which the caller never looks at.
func quoteMask(x uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := x ^ (lo * '"')
	bs := x ^ (lo * '\\')
	return ((x-lo*0x20)&^x | (q-lo)&^q | (bs-lo)&^bs) & hi
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}

// unquoteSlow decodes a quoted JSON string with escapes or invalid UTF-8
// exactly as encoding/json does (invalid bytes become U+FFFD). Rare: it is
// allowed to be slow.
func unquoteSlow(q []byte) (string, error) {
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return "", err
	}
	return s, nil
}

// scanNumber scans a JSON number at b[i] and returns the offset after it.
// Integers (every number of the dataset) cross their digits eight at a
// time; a fraction or an exponent takes the full scan.
func scanNumber(b []byte, i int) (int, error) {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	if j < len(b) && '0' <= b[j] && b[j] <= '9' {
		if b[j] == '0' {
			j++
		} else {
			j++
			for j+8 <= len(b) {
				if m := nonDigitMask(binary.LittleEndian.Uint64(b[j:])); m != 0 {
					j += bits.TrailingZeros64(m) >> 3
					goto digitsEnd
				}
				j += 8
			}
			for j < len(b) && '0' <= b[j] && b[j] <= '9' {
				j++
			}
		}
	digitsEnd:
		if j >= len(b) || b[j] != '.' && b[j] != 'e' && b[j] != 'E' {
			return j, nil
		}
	}
	return scanNumberFull(b, i)
}

// nonDigitMask flags, in bit 7 of its byte, the bytes of x (little endian)
// that are not ASCII digits; the lowest flag is exact (the bytes below it
// are digits, which carry nothing into it).
func nonDigitMask(x uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	ge0 := x + lo*(0x80-'0')     // bit 7 set when >= '0' (for ASCII bytes)
	gt9 := x + lo*(0x80-('9'+1)) // bit 7 set when > '9'
	return (^ge0 | gt9 | x) & hi // x: bytes >= 0x80 are not digits
}

// scanNumberFull is scanNumber for any JSON number.
func scanNumberFull(b []byte, i int) (int, error) {
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		return start, syntaxErr(b, i, "invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return start, syntaxErr(b, i, "invalid number (digits expected after '.')")
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return start, syntaxErr(b, i, "invalid number (digits expected in the exponent)")
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	return i, nil
}

// maxDepth bounds the nesting of skipped values.
const maxDepth = 1000

// skipValue validates and skips any JSON value at b[i] (fields the record
// does not use may hold objects or arrays).
func skipValue(b []byte, i int) (int, error) {
	depth := 0
	var small [32]byte
	stack := small[:] // '{' or '[' per open container; grows past 32 levels
	for {
		i = skipWS(b, i)
		if i >= len(b) {
			return i, syntaxErr(b, i, "expected a value")
		}
		// A value.
		switch c := b[i]; {
		case c == '"':
			e, err := skipString(b, i)
			if err != nil {
				return i, err
			}
			i = e
		case c == '-' || '0' <= c && c <= '9':
			e, err := scanNumber(b, i)
			if err != nil {
				return i, err
			}
			i = e
		case c == 't' && bytes.HasPrefix(b[i:], []byte("true")):
			i += 4
		case c == 'f' && bytes.HasPrefix(b[i:], []byte("false")):
			i += 5
		case c == 'n' && bytes.HasPrefix(b[i:], []byte("null")):
			i += 4
		case c == '{' || c == '[':
			if depth == maxDepth {
				return i, syntaxErr(b, i, "nested too deeply")
			}
			if depth == len(stack) {
				stack = append(stack, make([]byte, len(stack))...)
			}
			stack[depth] = c
			depth++
			i = skipWS(b, i+1)
			closer := byte('}')
			if c == '[' {
				closer = ']'
			}
			if i < len(b) && b[i] == closer {
				depth--
				i++
				break
			}
			if c == '{' {
				var err error
				if i, err = objectKey(b, i); err != nil {
					return i, err
				}
			}
			continue
		default:
			return i, syntaxErr(b, i, "expected a value")
		}
		// After a value: close containers or move to the next element.
		for {
			if depth == 0 {
				return i, nil
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return i, syntaxErr(b, i, "unexpected end of line inside a value")
			}
			top := stack[depth-1]
			closer := byte('}')
			if top == '[' {
				closer = ']'
			}
			if b[i] == closer {
				depth--
				i++
				continue
			}
			if b[i] != ',' {
				return i, syntaxErr(b, i, fmt.Sprintf("expected ',' or '%c'", closer))
			}
			i = skipWS(b, i+1)
			if top == '{' {
				var err error
				if i, err = objectKey(b, i); err != nil {
					return i, err
				}
			}
			break
		}
	}
}

// objectKey scans `"key" :` at b[i] and returns the offset after ':'.
func objectKey(b []byte, i int) (int, error) {
	if i >= len(b) || b[i] != '"' {
		return i, syntaxErr(b, i, "expected a field name in double quotes")
	}
	e, err := skipString(b, i)
	if err != nil {
		return i, err
	}
	i = skipWS(b, e)
	if i >= len(b) || b[i] != ':' {
		return i, syntaxErr(b, i, "expected ':' after a field name")
	}
	return i + 1, nil
}

func syntaxErr(_ []byte, i int, msg string) error {
	return &SessionSyntaxError{Offset: i, Msg: msg}
}

func fieldErr(_ []byte, i int, field, msg string) error {
	return &SessionSyntaxError{Offset: i, Field: field, Msg: msg}
}

// notAnObject explains a line that does not start with '{' in terms of the
// Logpush output options that produce it.
func notAnObject(line []byte, i int) error {
	msg := "expected a JSON object ({...}): records are read as NDJSON, one object per line (Logpush's default output_type ndjson)"
	if i < len(line) {
		switch line[i] {
		case '[':
			msg = "a JSON array: records are read as NDJSON, one object per line (Logpush's default output_type ndjson, without batch_prefix/batch_suffix)"
		case '"':
			msg = "a CSV line, not JSON: records are read as NDJSON, one object per line (set the Logpush job's output_type to ndjson)"
		}
	} else {
		msg = "empty line"
	}
	return &SessionSyntaxError{Offset: i, Msg: msg}
}

// SessionLineReader splits a log into lines: NDJSON, gzip-compressed or not
// (detected by the gzip magic bytes, so stdin works too; concatenated gzip
// members, as Logpush files may be, are read in order). Memory is constant:
// one buffer of at most MaxSessionLine bytes.
type SessionLineReader struct {
	br   *bufio.Reader
	gz   *gzip.Reader
	line int
	err  error
	long []byte // scratch for a line split across buffer refills
}

// MaxSessionLine is the longest line read; a longer one is reported as
// malformed and skipped. Logpush records are a few kilobytes at most.
const MaxSessionLine = 1 << 20

// NewSessionLineReader returns a line reader over r.
func NewSessionLineReader(r io.Reader) (*SessionLineReader, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	l := &SessionLineReader{}
	magic, err := br.Peek(2)
	if err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("reading gzip: %w", err)
		}
		l.gz = gz
		br = bufio.NewReaderSize(gz, 256<<10)
	}
	l.br = br
	return l, nil
}

// ErrSessionLineTooLong is the line error of a line over MaxSessionLine.
var ErrSessionLineTooLong = fmt.Errorf("line longer than %d bytes: not a session record", MaxSessionLine)

// Next returns the next non-blank line (without its line terminator), valid
// until the next call, and its 1-based line number (Line). lineErr is set
// for a line that cannot be returned (ErrSessionLineTooLong); ok is false
// at the end of the input or on a read error (Err).
func (l *SessionLineReader) Next() (line []byte, lineErr error, ok bool) {
	for {
		if l.stopped() {
			return nil, nil, false
		}
		b, err := l.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			l.long = append(l.long[:0], b...)
			tooLong := false
			for errors.Is(err, bufio.ErrBufferFull) {
				b, err = l.br.ReadSlice('\n')
				if !tooLong {
					if len(l.long)+len(b) > MaxSessionLine {
						tooLong = true
						l.long = l.long[:0]
					} else {
						l.long = append(l.long, b...)
					}
				}
			}
			if err != nil && err != io.EOF {
				l.err = err
				return nil, nil, false
			}
			l.line++
			if err == io.EOF {
				l.err = io.EOF
			}
			if tooLong {
				return nil, ErrSessionLineTooLong, true
			}
			b = l.long
		} else {
			if err != nil {
				if err != io.EOF {
					l.err = err
					return nil, nil, false
				}
				l.err = io.EOF
				if len(b) == 0 {
					return nil, nil, false
				}
			}
			l.line++
		}
		for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
			b = b[:len(b)-1]
		}
		if l.line == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		return b, nil, true
	}
}

func (l *SessionLineReader) stopped() bool { return l.err != nil }

// Line is the 1-based number of the line Next returned last.
func (l *SessionLineReader) Line() int { return l.line }

// Err is the read error that stopped Next (nil at a clean end of input).
func (l *SessionLineReader) Err() error {
	if l.err == io.EOF {
		return nil
	}
	if l.err != nil {
		if l.gz != nil {
			return fmt.Errorf("reading gzip, line %d: %w", l.line+1, l.err)
		}
		return fmt.Errorf("line %d: %w", l.line+1, l.err)
	}
	return nil
}
