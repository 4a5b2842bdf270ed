package provider

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflogtest"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
	"github.com/cfegress/terraform-provider-cfegress/internal/reconcile"
)

// TestTokenNeverLogged drives the provider's API client (as configured by
// the provider, logs wired to tflog) through a wrong token, a successful
// apply and a failing request, with every log line captured: the token is
// in none of them and in no error.
func TestTokenNeverLogged(t *testing.T) {
	const good = "cfegress-secret-token-GOOD-6f1c2d"
	const bad = "cfegress-secret-token-BAD-9a8b7c"
	emu := emulator.New(emulator.Config{Token: good, RateLimit: -1})
	url, err := emu.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := emu.Close(); err != nil {
			t.Error(err)
		}
	}()
	var logs bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &logs)
	account := emulator.DefaultAccountID

	var errs []string
	for _, tok := range []string{bad, good} {
		d := configureData(ctx, providerModel{
			APIToken: types.StringValue(tok), AccountID: types.StringValue(account), BaseURL: types.StringValue(url),
			MaxRetries: types.Int64Value(1), RequestsPerSecond: types.Int64Value(100),
		}, func(string) string { return "" })
		c, err := d.needClient()
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ListRules(ctx, account)
		if tok == bad {
			if err == nil {
				t.Fatal("a wrong token was accepted")
			}
			errs = append(errs, err.Error())
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		r := &egressPoliciesResource{data: d}
		_, err = reconcile.Apply(ctx, c, account, []reconcile.Desired{{Name: "all", Enabled: true, Traffic: "net.dst.ip != 0.0.0.0"}}, r.applyOptions(ctx))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.UpdateRule(ctx, account, cfapi.Rule{ID: "00000000-0000-0000-0000-000000000000", Name: "x", Action: "egress", Filters: []string{"egress"}})
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	if logs.Len() == 0 {
		t.Fatal("no logs captured: the test would prove nothing")
	}
	for _, tok := range []string{good, bad} {
		if strings.Contains(logs.String(), tok) {
			t.Errorf("a log line contains the token %q", tok)
		}
		for _, e := range errs {
			if strings.Contains(e, tok) {
				t.Errorf("error %q contains the token", e)
			}
		}
	}
	if len(errs) < 2 {
		t.Errorf("expected the wrong-token and not-found errors, got %q", errs)
	}
}
