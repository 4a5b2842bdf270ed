package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
)

// apiConfig is the provider's API client configuration.
type apiConfig struct {
	token   string
	baseURL string
	// requestsPer5Minutes is the budget (0: cfapi's default).
	requestsPer5Minutes int
	// requestsPerSecond is the optional extra cap (0: none).
	requestsPerSecond float64
	// maxRetries is the user's max_retries: 0 disables retries.
	maxRetries int
}

// newAPIClient builds the Cloudflare API client. Its request and retry logs
// go to tflog (the API layer never passes the token to them).
func newAPIClient(_ context.Context, c apiConfig) (cfapi.Client, error) {
	retries := c.maxRetries
	if retries == 0 {
		retries = -1 // cfapi: 0 is "default", negative disables retries
	}
	return cfapi.New(cfapi.Config{
		APIToken:            c.token,
		BaseURL:             c.baseURL,
		RequestsPer5Minutes: c.requestsPer5Minutes,
		RequestsPerSecond:   c.requestsPerSecond,
		MaxRetries:          retries,
		Logf:                apiLog,
	})
}

// apiLog sends the API layer's log lines to tflog: lines it marks as info
// (a rate-limit lockout and its progress) at INFO, the others at DEBUG.
func apiLog(ctx context.Context, msg string, fields map[string]any) {
	if fields[cfapi.LogLevelKey] == "info" {
		rest := make(map[string]any, len(fields))
		for k, v := range fields {
			if k != cfapi.LogLevelKey {
				rest[k] = v
			}
		}
		tflog.Info(ctx, msg, rest)
		return
	}
	tflog.Debug(ctx, msg, fields)
}

// expressionsEquivalent reports whether two expressions mean the same.
func expressionsEquivalent(a, b string) bool { return expr.Equivalent(a, b) }
