package cfapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
)

// cancelAfterAnswer is a transport that makes the request, reads the whole
// answer and then ends the caller's context: the answer arrived, the
// context ended before cloudflare-go looked at it.
type cancelAfterAnswer struct{ cancel context.CancelFunc }

func (c cancelAfterAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	c.cancel()
	return resp, nil
}

// TestWriteAnsweredAsTheContextEndsIsRecorded: a write Cloudflare answered
// with success just as the caller's context ended (an interrupted apply
// with several writes in flight) is a success with its answer, not
// "canceled: nothing was changed" (cloudflare-go returns ctx.Err() once the
// context has ended, discarding the answer). A refusal answered then is not
// turned into a success.
func TestWriteAnsweredAsTheContextEndsIsRecorded(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int, body []byte) {
		if bytes.Contains(body, []byte(`"refused"`)) {
			writeEnvelope(w, 400, nil, cfErr(1234, "no"))
			return
		}
		writeEnvelope(w, 200, apiRule("r1", "a", 1500, nil))
	})
	run := func(do func(ctx context.Context, a *API) error) error {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		a, _ := newTestAPI(t, f.URL, func(c *Config) { c.HTTPClient = &http.Client{Transport: cancelAfterAnswer{cancel}} })
		return do(ctx, a)
	}
	var got Rule
	if err := run(func(ctx context.Context, a *API) (err error) {
		got, err = a.CreateRule(ctx, testAccount, Rule{Name: "a", Precedence: 1500, Action: "egress"})
		return err
	}); err != nil || got.ID != "r1" || got.Precedence != 1500 {
		t.Errorf("create answered as the context ended: %+v, %v; want the created rule", got, err)
	}
	if err := run(func(ctx context.Context, a *API) (err error) {
		got, err = a.UpdateRule(ctx, testAccount, Rule{ID: "r1", Name: "a", Precedence: 1500, Action: "egress"})
		return err
	}); err != nil || got.ID != "r1" {
		t.Errorf("update answered as the context ended: %+v, %v; want the updated rule", got, err)
	}
	if err := run(func(ctx context.Context, a *API) error { return a.DeleteRule(ctx, testAccount, "r1") }); err != nil {
		t.Errorf("delete answered as the context ended: %v; want success", err)
	}
	if err := run(func(ctx context.Context, a *API) (err error) {
		_, err = a.CreateRule(ctx, testAccount, Rule{Name: "refused", Action: "egress"})
		return err
	}); err == nil {
		t.Error("a create refused as the context ended succeeded")
	}
	// A list answered then is the caller's cancellation (nothing to record).
	if err := run(func(ctx context.Context, a *API) error { _, err := a.ListRules(ctx, testAccount); return err }); KindOf(err) != KindCanceled {
		t.Errorf("list: %v, want canceled", err)
	}
}
