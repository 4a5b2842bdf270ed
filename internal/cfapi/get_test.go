package cfapi

import (
	"context"
	"errors"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
)

func TestGetRule(t *testing.T) {
	emu := emulator.New(emulator.Config{Token: testToken, RateLimit: -1})
	url, err := emu.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	api, err := New(Config{APIToken: testToken, BaseURL: url, RequestsPerSecond: 1000, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	want := Rule{Name: "tokyo", Precedence: 1000, Enabled: true, Action: "egress", Filters: []string{"egress"},
		Traffic: "net.dst.port == 443",
		Egress:  &EgressSettings{IPv4: "203.0.113.10", IPv6: "2001:db8:10::/64", IPv4Fallback: "203.0.113.20"}}
	created, err := api.CreateRule(ctx, testAccount, want)
	if err != nil {
		t.Fatal(err)
	}
	before := emu.Stats().Requests
	got, err := api.GetRule(ctx, testAccount, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := emu.Stats().Requests - before; n != 1 {
		t.Errorf("GetRule made %d requests, want 1", n)
	}
	if got.ID != created.ID || got.Name != want.Name || got.Precedence != want.Precedence || !IsEgress(got) ||
		got.Egress == nil || *got.Egress != *want.Egress {
		t.Errorf("GetRule = %+v, want %+v with id %s", got, want, created.ID)
	}

	_, err = api.GetRule(ctx, testAccount, "00000000-0000-4000-8000-000000000000")
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindNotFound {
		t.Errorf("GetRule of an unknown id: %v, want a not_found error", err)
	}
	if _, err := api.GetRule(ctx, testAccount, "a/b"); !errors.As(err, &e) || e.Kind != KindValidation {
		t.Errorf("GetRule of an id with '/': %v, want a validation error before any request", err)
	}
}
