package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/cfegress/terraform-provider-cfegress/internal/cfapi"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
)

// apiConfig is the provider's API client configuration.
type apiConfig struct {
	token             string
	baseURL           string
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
		APIToken:          c.token,
		BaseURL:           c.baseURL,
		RequestsPerSecond: c.requestsPerSecond,
		MaxRetries:        retries,
		Logf: func(ctx context.Context, msg string, fields map[string]any) {
			tflog.Debug(ctx, msg, fields)
		},
	})
}

// expressionsEquivalent reports whether two expressions mean the same.
func expressionsEquivalent(a, b string) bool { return expr.Equivalent(a, b) }
