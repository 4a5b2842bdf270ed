package cfapi

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// CheckBaseURL reports whether base is an API root the token may be sent
// to: an https:// URL, or an http:// URL whose host is a loopback address
// (127.0.0.0/8, ::1, localhost or a name under .localhost, RFC 6761), such
// as a local cfegress-emulator. Plain http:// to any other host would send
// the API token unencrypted. The error names base_url and the fix. The
// provider calls it at plan time; New calls it too.
func CheckBaseURL(base string) error {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("base_url %q is not an http(s) URL like %s", base, DefaultBaseURL)
	}
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		return fmt.Errorf("base_url %q uses plain http:// to %s, which is not a loopback address: the API token would cross the network unencrypted. Use https:// (Cloudflare's API is %s); plain http:// is only accepted for a local emulator on 127.0.0.1, [::1] or localhost",
			base, u.Hostname(), DefaultBaseURL)
	}
	return nil
}

// isLoopbackHost: a loopback IP literal, "localhost" or a name under
// ".localhost" (RFC 6761 §6.3: always the loopback interface). No DNS
// lookup: what a name resolves to can change between check and use.
func isLoopbackHost(h string) bool {
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Unmap().IsLoopback()
}

// errRedirectRefused marks a redirect that was not followed.
type errRedirectRefused struct{ from, to string }

func (e *errRedirectRefused) Error() string {
	return fmt.Sprintf("refused to follow a redirect from %s to %s: the API token is only sent to the host of base_url; check base_url", e.from, e.to)
}

// sameOrigin: same scheme, host and port. Go's client would keep the
// Authorization header for another port or scheme of the same host name;
// this client does not follow such redirects at all.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host)
}

// checkRedirect follows a redirect only to the origin of the first request
// (at most 10 hops), then asks next (the caller's CheckRedirect), if any.
func checkRedirect(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		first := via[0].URL
		if !sameOrigin(first, req.URL) {
			return &errRedirectRefused{from: first.Scheme + "://" + first.Host, to: req.URL.Scheme + "://" + req.URL.Host}
		}
		if len(via) >= 10 {
			return fmt.Errorf("stopped after %d redirects", len(via))
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
}
