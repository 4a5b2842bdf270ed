package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
)

// dashboard is a second writer of the account, as a colleague in the
// Cloudflare dashboard would be: it talks to the Gateway rules API over
// HTTP with its own client (not the provider's API layer), so its writes go
// through the emulator's validation and history like anyone's.
type dashboard struct {
	base, token, account string
	c                    *http.Client
}

func (w *tf) dashboard() *dashboard {
	return &dashboard{base: w.url, token: w.tok, account: w.acct, c: &http.Client{Timeout: 30 * time.Second}}
}

type apiEnvelope struct {
	Success bool `json:"success"`
	Errors  []struct {
		Code    int
		Message string
	} `json:"errors"`
	Result json.RawMessage `json:"result"`
}

func (d *dashboard) do(method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, d.base+"/accounts/"+d.account+"/gateway/rules"+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.c.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var env apiEnvelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("%s %s: HTTP %d, not an envelope: %s", method, path, resp.StatusCode, raw)
	}
	if !env.Success || resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d: %+v", method, path, resp.StatusCode, env.Errors)
	}
	if out != nil {
		return json.Unmarshal(env.Result, out)
	}
	return nil
}

// list returns every Gateway rule of the account.
func (d *dashboard) list() ([]emulator.Rule, error) {
	var rs []emulator.Rule
	err := d.do(http.MethodGet, "", nil, &rs)
	return rs, err
}

// create adds a rule (precedence 0: Cloudflare picks one above the rest).
func (d *dashboard) create(r emulator.Rule) (emulator.Rule, error) {
	var out emulator.Rule
	err := d.do(http.MethodPost, "", r, &out)
	return out, err
}

// update replaces a rule (PUT).
func (d *dashboard) update(r emulator.Rule) (emulator.Rule, error) {
	var out emulator.Rule
	err := d.do(http.MethodPut, "/"+r.ID, r, &out)
	return out, err
}

func (d *dashboard) delete(id string) error {
	return d.do(http.MethodDelete, "/"+id, nil, nil)
}

// colleagueEgress is an egress rule as a dashboard user would add it.
func colleagueEgress(name string, port int) emulator.Rule {
	return emulator.Rule{Name: name, Enabled: true, Action: "egress", Filters: []string{"egress"},
		Traffic: fmt.Sprintf("net.dst.port == %d", port),
		RuleSettings: emulator.RuleSettings{Egress: &emulator.EgressSettings{
			IPv4: "203.0.113.20", IPv6: "2001:db8:20::/64", IPv4Fallback: "203.0.113.10"}}}
}
