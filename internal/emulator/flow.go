package emulator

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
)

// FlowJSON is one flow of POST /__emulator/accounts/{account_id}/sessions.
// Omitted fields mean "the flow does not carry this field" (see
// engine.Flow). ingress_colo and destination_ip are required.
//
//	{
//	  "source_ip": "198.51.100.7", "source_port": 50000,
//	  "source_country": "JP", "source_continent": "AS",
//	  "ingress_colo": "KIX",
//	  "destination_ip": "192.0.2.1", "destination_port": 443,
//	  "proxied": false, "protocol": "tcp",
//	  "dns": false, "private_network": false,
//	  "dst_country": "US", "dst_continent": "NA",
//	  "internal_source_ip": "10.0.0.2", "virtual_network_id": "...",
//	  "proxy_endpoint": "...", "fqdn_host": "example.com",
//	  "fqdn_domains": ["example.com"], "content_categories": [7], "app_ids": [12],
//	  "email": "a@example.com", "name": "A",
//	  "groups": [{"id": "g1", "name": "eng", "email": "eng@example.com"}],
//	  "saml_attributes": {"dept": ["eng"]},
//	  "posture_checks": ["check-uuid"],
//	  "colos_down": ["NRT"]
//	}
//
// colos_down is the set of colos that are down for this flow's decision.
type FlowJSON struct {
	SourceIP        string `json:"source_ip,omitempty"`
	SourcePort      uint16 `json:"source_port,omitempty"`
	SourceCountry   string `json:"source_country,omitempty"`
	SourceContinent string `json:"source_continent,omitempty"`
	IngressColo     string `json:"ingress_colo"`

	DestinationIP   string `json:"destination_ip"`
	DestinationPort uint16 `json:"destination_port,omitempty"`
	Proxied         bool   `json:"proxied,omitempty"`
	Protocol        string `json:"protocol,omitempty"`
	DNS             bool   `json:"dns,omitempty"`
	PrivateNetwork  bool   `json:"private_network,omitempty"`

	DstCountry        string   `json:"dst_country,omitempty"`
	DstContinent      string   `json:"dst_continent,omitempty"`
	InternalSourceIP  string   `json:"internal_source_ip,omitempty"`
	VirtualNetworkID  string   `json:"virtual_network_id,omitempty"`
	ProxyEndpoint     string   `json:"proxy_endpoint,omitempty"`
	FQDNHost          string   `json:"fqdn_host,omitempty"`
	FQDNDomains       []string `json:"fqdn_domains,omitempty"`
	ContentCategories []int64  `json:"content_categories,omitempty"`
	AppIDs            []int64  `json:"app_ids,omitempty"`

	Email          string              `json:"email,omitempty"`
	Name           string              `json:"name,omitempty"`
	Groups         []GroupJSON         `json:"groups,omitempty"`
	SAMLAttributes map[string][]string `json:"saml_attributes,omitempty"`
	PostureChecks  []string            `json:"posture_checks,omitempty"`

	ColosDown []string `json:"colos_down,omitempty"`
}

// GroupJSON is an identity group of a FlowJSON.
type GroupJSON struct {
	ID    string `json:"id,omitempty"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// ToFlow converts the JSON flow to the engine's Flow and the colos that are
// down. Errors name the field.
func (j FlowJSON) ToFlow() (engine.Flow, engine.ColoSet, error) {
	var f engine.Flow
	var err error
	parse := func(field, s string) (netip.Addr, error) {
		if s == "" {
			return netip.Addr{}, nil
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("%s: %q is not an IP address", field, s)
		}
		return a.Unmap(), nil
	}
	if f.SourceIP, err = parse("source_ip", j.SourceIP); err != nil {
		return f, nil, err
	}
	if j.DestinationIP == "" {
		return f, nil, fmt.Errorf("destination_ip: required")
	}
	if f.DestinationIP, err = parse("destination_ip", j.DestinationIP); err != nil {
		return f, nil, err
	}
	if f.InternalSourceIP, err = parse("internal_source_ip", j.InternalSourceIP); err != nil {
		return f, nil, err
	}
	if j.IngressColo == "" {
		return f, nil, fmt.Errorf("ingress_colo: required (the IATA code of the colo the user is connected to)")
	}
	f.SourcePort = j.SourcePort
	f.SourceCountry = strings.ToUpper(j.SourceCountry)
	f.SourceContinent = strings.ToUpper(j.SourceContinent)
	f.IngressColo = strings.ToUpper(j.IngressColo)
	f.DestinationPort = j.DestinationPort
	f.Proxied = j.Proxied
	f.Protocol = strings.ToLower(j.Protocol)
	f.DNS = j.DNS
	f.PrivateNetwork = j.PrivateNetwork
	f.DstCountry = strings.ToUpper(j.DstCountry)
	f.DstContinent = strings.ToUpper(j.DstContinent)
	f.VirtualNetworkID = j.VirtualNetworkID
	f.ProxyEndpoint = j.ProxyEndpoint
	f.FQDNHost = j.FQDNHost
	f.FQDNDomains = j.FQDNDomains
	f.ContentCategories = j.ContentCategories
	f.AppIDs = j.AppIDs
	f.Email = j.Email
	f.Name = j.Name
	for _, g := range j.Groups {
		f.Groups = append(f.Groups, engine.Group{ID: g.ID, Name: g.Name, Email: g.Email})
	}
	f.SAMLAttributes = j.SAMLAttributes
	f.PostureChecks = j.PostureChecks
	var down engine.ColoSet
	for _, c := range j.ColosDown {
		if down == nil {
			down = engine.ColoSet{}
		}
		down[strings.ToUpper(c)] = true
	}
	return f, down, nil
}

// policiesFromRules turns the account's egress rules (precedence order)
// into engine policies (without matchers). Legacy rules without
// ipv4_fallback get the zero fallback ("no fallback").
func policiesFromRules(rules []Rule) ([]engine.Policy, error) {
	var ps []engine.Policy
	for _, r := range rules {
		if !r.IsEgress() {
			continue
		}
		p := engine.Policy{
			ID: r.ID, Name: r.Name, Description: r.Description, Enabled: r.Enabled,
			Traffic: r.Traffic, Identity: r.Identity, DevicePosture: r.DevicePosture,
			Egress: engine.Egress{Method: engine.MethodDefault},
		}
		if eg := r.RuleSettings.Egress; eg != nil {
			p.Egress.Method = engine.MethodDedicated
			var err error
			if p.Egress.IPv4, err = netip.ParseAddr(eg.IPv4); err != nil {
				return nil, fmt.Errorf("rule %s (%q): rule_settings.egress.ipv4 %q: %v", r.ID, r.Name, eg.IPv4, err)
			}
			if p.Egress.IPv6, err = netip.ParsePrefix(eg.IPv6); err != nil {
				return nil, fmt.Errorf("rule %s (%q): rule_settings.egress.ipv6 %q: %v", r.ID, r.Name, eg.IPv6, err)
			}
			p.Egress.IPv6 = p.Egress.IPv6.Masked()
			if eg.IPv4Fallback != "" {
				if p.Egress.IPv4Fallback, err = netip.ParseAddr(eg.IPv4Fallback); err != nil {
					return nil, fmt.Errorf("rule %s (%q): rule_settings.egress.ipv4_fallback %q: %v", r.ID, r.Name, eg.IPv4Fallback, err)
				}
			}
		}
		ps = append(ps, p)
	}
	return ps, nil
}
