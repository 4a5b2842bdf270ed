package expr

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

func TestCheckErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{`net.dst.prot == 80`, `1:1: unknown field "net.dst.prot": did you mean "net.dst.port"?`},
		{`net.dst.port == 80 and identity.emial == "a"`, `1:24: unknown field "identity.emial": did you mean "identity.email"?`},
		{`net.src.geo.countri == "JP"`, `1:1: unknown field "net.src.geo.countri": did you mean "net.src.geo.country"?`},
		{`zzzzzzzzzzzzzzzzzzzzzzzzzz == 1`, `1:1: unknown field "zzzzzzzzzzzzzzzzzzzzzzzzzz"`},
		{`net.dst.port == "abc"`, `1:17: net.dst.port is a number: "abc" is not a number`},
		{`net.dst.ip == 80`, `1:15: net.dst.ip is an IP address: 80 is not an IP address or CIDR`},
		{`net.dst.ip == "example.com"`, `1:15: net.dst.ip is an IP address: "example.com" is not an IP address or CIDR`},
		{`net.dst.port == 10.0.0.1`, `1:17: net.dst.port is a number: 10.0.0.1 is not a number`},
		{`net.dst.port == 65536`, `1:17: net.dst.port: 65536 is not a port (0..65535)`},
		{`net.dst.port in {80 70000}`, `1:21: net.dst.port: 70000 is not a port (0..65535)`},
		{`net.dst.port in {9000..8000}`, `1:18: net.dst.port: range 9000..8000 is empty: write 8000..9000`},
		{`net.dst.port in {1..65536}`, `1:18: net.dst.port: 65536 is not a port (0..65535)`},
		{`net.dst.port == 8000..8999`, `1:17: net.dst.port: a range 8000..8999 goes inside a set: net.dst.port in {8000..8999}`},
		{`net.dst.ip < 10.0.0.0/8`, `1:14: net.dst.ip: a CIDR needs ==, != or in {...}`},
		{`net.protocol == tcp`, `1:17: string values must be quoted: write "tcp"`},
		{`net.protocol == "tpc"`, `1:17: unknown protocol: use "tcp" or "udp" (egress policies apply to TCP and UDP), found "tpc"`},
		{`net.protocol in {"tcp" "sctp"}`, `1:24: unknown protocol: use "tcp" or "udp" (egress policies apply to TCP and UDP), found "sctp"`},
		{`net.vnet_id == 5`, `1:16: net.vnet_id is a string: quote the value: "5"`},
		{`identity.email < "b"`, `1:1: identity.email is a string: < applies to numbers and IP addresses; use ==, in or matches`},
		{`net.dst.port matches "8.*"`, `1:1: net.dst.port is a number: matches applies to strings; use == or in`},
		{`net.dst.ip matches "10.*"`, `1:1: net.dst.ip is an IP address: matches applies to strings; use == or in`},
		{`identity.email matches "(unclosed"`, "1:1: invalid regular expression \"(unclosed\": missing closing ): `(unclosed`"},
		{`identity.email matches "(?=x)"`, "1:1: invalid regular expression \"(?=x)\": invalid or unsupported Perl syntax: `(?=`"},
		{`app.ids == 505`, `1:1: app.ids is an array: use app.ids in {...} or any(app.ids[*] == ...)`},
		{`identity.groups.name == "x"`, `1:1: identity.groups.name is an array: use identity.groups.name in {...} or any(identity.groups[*].name == ...)`},
		{`net.fqdn.domains matches "x"`, `1:1: net.fqdn.domains is an array: use net.fqdn.domains in {...} or any(net.fqdn.domains[*] == ...)`},
		{`any(app.ids in {1})`, `1:5: any(...) iterates an array: write app.ids[*] inside it`},
		{`any(identity.groups.name == "x")`, `1:5: any(...) iterates an array: write identity.groups[*].name inside it`},
		{`net.dst.ip`, `1:1: net.dst.ip is an IP address, not a condition: compare it, e.g. net.dst.ip in {192.0.2.0/24}`},
		{`net.dst.port and net.protocol == "tcp"`, `1:1: net.dst.port is a number, not a condition: compare it, e.g. net.dst.port == 443`},
		{`net.dst.ip["k"] == 1.1.1.1`, `1:1: net.dst.ip takes no ["key"]: only identity.saml_attributes is indexed by name`},
		{`identity.saml_attributes == "novalue"`, `1:29: identity.saml_attributes without a ["name"] key needs "name=value"; or write identity.saml_attributes["name"] == "value", found "novalue"`},
		{`identity.saml_attributes in {"a=b" "c"}`, `1:36: identity.saml_attributes without a ["name"] key needs "name=value" elements, found "c"`},
		{`identity.saml_attributes matches "x"`, "1:1: " + keylessSAML},
		{`identity.saml_attributes in $0b6e0b50-28a3-4bd1-a4a2-4d8ee5c6d2a4`, "1:1: " + keylessSAML},
		{`identity.saml_attributes < "a=b"`, "1:1: " + keylessSAML},
		{`not(net.dst.port == "x")`, `1:21: net.dst.port is a number: "x" is not a number`},
		{`any(net.fqdn.content_category[*] in {"abc"})`, `1:38: net.fqdn.content_category is a number: "abc" is not a number`},
	}
	for _, tc := range cases {
		n, err := Parse(tc.src)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.src, err)
			continue
		}
		err = Check(n)
		if err == nil {
			t.Errorf("Check(%q) = nil; want %s", tc.src, tc.want)
			continue
		}
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("Check(%q): %T is not *Error", tc.src, err)
		}
		if err.Error() != tc.want {
			t.Errorf("Check(%q)\n got %s\nwant %s", tc.src, err, tc.want)
		}
	}
}

func TestCheckConverts(t *testing.T) {
	cases := []struct {
		src  string
		want Value
	}{
		{`net.dst.port == "2222"`, Value{Kind: VInt, Int: 2222}},
		{`net.dst.port == " 2222 "`, Value{Kind: VInt, Int: 2222}},
		{`net.src.internal_src_ip == "192.168.86.0/27"`, Value{Kind: VCIDR, Prefix: netip.MustParsePrefix("192.168.86.0/27")}},
		{`net.dst.ip == "2001:DB8::1"`, Value{Kind: VIP, IP: netip.MustParseAddr("2001:db8::1")}},
		{`net.dst.ip == 10.0.0.0/8`, Value{Kind: VCIDR, Prefix: netip.MustParsePrefix("10.0.0.0/8")}},
		{`net.dst.ip == "::ffff:10.0.0.0/104"`, Value{Kind: VCIDR, Prefix: netip.MustParsePrefix("10.0.0.0/8")}},
	}
	for _, tc := range cases {
		n, err := ParseAndCheck(tc.src)
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		c, ok := n.(*Compare)
		if !ok {
			t.Errorf("%s: parsed to %T, want *Compare", tc.src, n)
			continue
		}
		got := c.Value
		got.P, got.Str = Pos{}, ""
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: value %+v, want %+v", tc.src, got, tc.want)
		}
	}
}

func TestCheckAcceptsEveryField(t *testing.T) {
	for _, name := range FieldNames() {
		fi, _ := LookupField(name)
		src := example(fi)
		if fi.Map {
			src = `identity.saml_attributes["k"] == "v"`
		} else if fi.Pairs {
			src = "any(" + wildcardName(name) + ` == "k=v")`
		} else if fi.Array {
			switch fi.Type {
			case TInt:
				src = "any(" + wildcardName(name) + " in {1 2..5})"
			default:
				src = "any(" + wildcardName(name) + ` == "v")`
			}
		}
		if _, err := ParseAndCheck(src); err != nil {
			t.Errorf("field %s: %s: %v", name, src, err)
		}
	}
}

func TestCheckNil(t *testing.T) {
	if err := Check(nil); err != nil {
		t.Fatal(err)
	}
}

func TestFieldsAndHostSelector(t *testing.T) {
	cases := []struct {
		src    string
		fields []string
		host   bool
	}{
		{`net.dst.port in {443 80}`, []string{"net.dst.port"}, false},
		{`net.dst.ip != 0.0.0.0 and not(identity.email == "a") or any(app.ids[*] in {1})`, []string{"app.ids", "identity.email", "net.dst.ip"}, true},
		{`any(identity.saml_attributes["k"] in {"v"}) and net.fqdn.host == "x"`, []string{"identity.saml_attributes", "net.fqdn.host"}, true},
		{`any(net.fqdn.domains[*] in $0b6e0b50-28a3-4bd1-a4a2-4d8ee5c6d2a4)`, []string{"net.fqdn.domains"}, true},
		{``, []string{}, false},
	}
	for _, tc := range cases {
		n, err := ParseAndCheck(tc.src)
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		if got := Fields(n); !reflect.DeepEqual(got, tc.fields) {
			t.Errorf("Fields(%s) = %v, want %v", tc.src, got, tc.fields)
		}
		if got := UsesHostSelector(n); got != tc.host {
			t.Errorf("UsesHostSelector(%s) = %v", tc.src, got)
		}
	}
}
