package expr

import (
	"fmt"
	"strings"
)

// Selectors of the other Gateway policy types (DNS and resolver, network,
// HTTP), which the egress builder does not take. A traffic expression copied
// from another policy type gets an error that names the policy type and,
// when there is one, the egress selector that means the same thing, instead
// of a "did you mean" guess.
//
// Built from Cloudflare's selector reference pages, as published on
// developers.cloudflare.com (retrieved 2026-09):
//   - DNS policies: /cloudflare-one/traffic-policies/dns-policies/#selectors
//     (resolver policies use the same dns.* fields);
//   - Network policies: /cloudflare-one/traffic-policies/network-policies/#selectors
//     (net.sni.*, net.protocol.detection — earlier net.detected_protocol,
//     still in Cloudflare's tutorials —, net.fqdn.security_category,
//     access.*, net.is_isolated, net.offramp.type);
//   - HTTP policies: /cloudflare-one/traffic-policies/http-policies/#selectors
//     (http.*, app.statuses, app.hosts_ids, app.supports_ids, dlp.profiles,
//     pkg.*, experimental.is_mcp);
//   - the egress policies page, /cloudflare-one/traffic-policies/egress-policies/#selectors,
//     for the egress selector to use instead.
//
// cloudflare-go v0's teams_rules_test.go also writes http.host and
// dns.domain, older spellings of HTTP and DNS selectors: both are here.

// otherField is a selector of another policy type.
type otherField struct {
	policy string // "DNS", "network", "HTTP", "network and HTTP"
	egress string // the egress selector to use instead ("" when none)
	note   string // optional: how to write it instead
}

var otherFields = map[string]otherField{
	// DNS (and resolver) policies.
	"dns.fqdn":                                  {policy: "DNS", egress: "net.fqdn.host"},
	"dns.domains":                               {policy: "DNS", egress: "net.fqdn.domains"},
	"dns.domain":                                {policy: "DNS", egress: "net.fqdn.domains"},
	"dns.content_category":                      {policy: "DNS", egress: "net.fqdn.content_category"},
	"dns.security_category":                     {policy: "DNS"},
	"dns.src_ip":                                {policy: "DNS", egress: "net.src.ip"},
	"dns.src_internal_ip":                       {policy: "DNS", egress: "net.src.internal_src_ip"},
	"dns.src.geo.country":                       {policy: "DNS", egress: "net.src.geo.country"},
	"dns.src.geo.continent":                     {policy: "DNS", egress: "net.src.geo.continent"},
	"dns.dst.geo.country":                       {policy: "DNS", egress: "net.dst.geo.country"},
	"dns.dst.geo.continent":                     {policy: "DNS", egress: "net.dst.geo.continent"},
	"dns.resolved_ips":                          {policy: "DNS", egress: "net.dst.ip"},
	"dns.resolved_ip":                           {policy: "DNS"},
	"dns.authoritative_ns_ips":                  {policy: "DNS"},
	"dns.location":                              {policy: "DNS"},
	"dns.query_rtype":                           {policy: "DNS"},
	"dns.doh_subdomain":                         {policy: "DNS"},
	"dns.indicator_feed":                        {policy: "DNS"},
	"dns.response.cname":                        {policy: "DNS"},
	"dns.response.mx":                           {policy: "DNS"},
	"dns.response.ptr":                          {policy: "DNS"},
	"dns.response.txt":                          {policy: "DNS"},
	"dns.categories_in_request_context_matches": {policy: "DNS"},

	// Network policies.
	"net.sni.host":               {policy: "network", egress: "net.fqdn.host"},
	"net.sni.domains":            {policy: "network", egress: "net.fqdn.domains"},
	"net.protocol.detection":     {policy: "network", note: "egress policies have no detected-protocol selector: select by net.dst.port and net.protocol"},
	"net.detected_protocol":      {policy: "network", note: "egress policies have no detected-protocol selector: select by net.dst.port and net.protocol"},
	"net.fqdn.security_category": {policy: "network"},
	"access.target":              {policy: "network and HTTP"},
	"access.private_app":         {policy: "network and HTTP"},
	"net.is_isolated":            {policy: "network and HTTP"},
	"net.offramp.type":           {policy: "network and HTTP"},
	"net.proxy_endpoint.ids":     {policy: "network", egress: "proxy.endpoint"},
	"app.type.ids":               {policy: "network and HTTP", note: "egress policies select applications by ID: any(app.ids[*] in {...})"},

	// HTTP policies.
	"http.request.host":                  {policy: "HTTP", egress: "net.fqdn.host"},
	"http.host":                          {policy: "HTTP", egress: "net.fqdn.host"},
	"http.request.domains":               {policy: "HTTP", egress: "net.fqdn.domains"},
	"http.request.uri.content_category":  {policy: "HTTP", egress: "net.fqdn.content_category"},
	"http.request.uri.security_category": {policy: "HTTP"},
	"http.request.uri":                   {policy: "HTTP"},
	"http.request.uri.path":              {policy: "HTTP"},
	"http.request.uri.query":             {policy: "HTTP"},
	"http.request.uri.path_and_query":    {policy: "HTTP"},
	"http.request.method":                {policy: "HTTP"},
	"http.response.status_code":          {policy: "HTTP"},
	"http.conn.dst_ip":                   {policy: "HTTP", egress: "net.dst.ip"},
	"http.conn.src_ip":                   {policy: "HTTP", egress: "net.src.ip"},
	"http.conn.internal_src_ip":          {policy: "HTTP", egress: "net.src.internal_src_ip"},
	"http.conn.vnet_id":                  {policy: "HTTP", egress: "net.vnet_id"},
	"http.dst_ip.geo.country":            {policy: "HTTP", egress: "net.dst.geo.country"},
	"http.dst_ip.geo.continent":          {policy: "HTTP", egress: "net.dst.geo.continent"},
	"http.src_ip.geo.country":            {policy: "HTTP", egress: "net.src.geo.country"},
	"http.src_ip.geo.continent":          {policy: "HTTP", egress: "net.src.geo.continent"},
	"http.body_phase":                    {policy: "HTTP"},
	"http.upload.file.size":              {policy: "HTTP"},
	"http.download.file.size":            {policy: "HTTP"},
	"http.upload.file.types":             {policy: "HTTP"},
	"http.download.file.types":           {policy: "HTTP"},
	"http.upload.mime":                   {policy: "HTTP"},
	"http.download.mime":                 {policy: "HTTP"},
	"app.statuses":                       {policy: "HTTP"},
	"app.hosts_ids":                      {policy: "HTTP", egress: "app.ids"},
	"app.supports_ids":                   {policy: "HTTP", egress: "app.ids"},
	"dlp.profiles":                       {policy: "HTTP"},
	"pkg.ecosystem":                      {policy: "HTTP"},
	"pkg.name":                           {policy: "HTTP"},
	"pkg.namespace":                      {policy: "HTTP"},
	"pkg.purl":                           {policy: "HTTP"},
	"pkg.version":                        {policy: "HTTP"},
	"experimental.is_mcp":                {policy: "HTTP"},
}

// otherPolicyPrefixes name the policy type of fields the table above does
// not list one by one: every dns.* field is a DNS (or resolver) policy
// selector, every http.* field an HTTP one, net.sni.* a network one.
var otherPolicyPrefixes = []struct{ prefix, policy string }{
	{"dns.", "DNS"},
	{"http.", "HTTP"},
	{"net.sni.", "network"},
	{"pkg.", "HTTP"},
	{"dlp.", "HTTP"},
}

// OtherPolicyField reports whether name is a selector of another Gateway
// policy type, which one ("DNS", "network", "HTTP", "network and HTTP"),
// and the egress selector to use instead ("" when there is none).
func OtherPolicyField(name string) (policy, egress string, ok bool) {
	if of, found := otherFields[name]; found {
		return of.policy, of.egress, true
	}
	for _, p := range otherPolicyPrefixes {
		if strings.HasPrefix(name, p.prefix) {
			return p.policy, "", true
		}
	}
	return "", "", false
}

// otherPolicyMessage is the error for a selector of another policy type.
func otherPolicyMessage(name string) (string, bool) {
	policy, egress, ok := OtherPolicyField(name)
	if !ok {
		return "", false
	}
	article := "a"
	if policy == "HTTP" {
		article = "an"
	}
	msg := fmt.Sprintf("%s is %s %s policy selector, not an egress one", name, article, policy)
	switch of := otherFields[name]; {
	case egress != "":
		msg = fmt.Sprintf("%s is %s %s policy selector: egress policies take %s instead", name, article, policy, egress)
	case of.note != "":
		msg += ": " + of.note
	default:
		msg += ": egress policies have no equivalent (their selectors are listed at developers.cloudflare.com/cloudflare-one/traffic-policies/egress-policies/#selectors)"
	}
	return msg, true
}
