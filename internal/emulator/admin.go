package emulator

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// serveAdmin answers the /__emulator endpoints: no auth, no faults, not
// counted in Stats. Answers use the same envelope as the API.
func (e *Emulator) serveAdmin(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/__emulator")
	ok200 := func(v any) {
		writeJSON(w, 200, envelope{Success: true, Errors: []respInfo{}, Messages: []respInfo{}, Result: v})
	}
	switch {
	case p == "/stats":
		if r.Method != http.MethodGet {
			writeErr(w, &apiError{Status: 405, Code: CodeMethod, Message: "use GET /__emulator/stats"})
			return
		}
		// The stats object itself at the top level, for easy assertions.
		writeJSON(w, 200, e.Stats())
		return
	case p == "/reset":
		if r.Method != http.MethodPost {
			writeErr(w, &apiError{Status: 405, Code: CodeMethod, Message: "use POST /__emulator/reset"})
			return
		}
		e.Reset()
		ok200(map[string]any{})
		return
	case strings.HasPrefix(p, "/accounts/"):
		parts := strings.Split(strings.Trim(p, "/"), "/")
		if len(parts) != 3 {
			break
		}
		account := parts[1]
		if !e.accounts[account] {
			writeErr(w, &apiError{Status: 404, Code: CodeNotFound, Message: fmt.Sprintf("the emulator has no account %q", account)})
			return
		}
		switch parts[2] {
		case "rules":
			if r.Method != http.MethodGet {
				writeErr(w, &apiError{Status: 405, Code: CodeMethod, Message: "use GET"})
				return
			}
			ok200(e.Rules(account))
			return
		case "sessions":
			if r.Method != http.MethodPost {
				writeErr(w, &apiError{Status: 405, Code: CodeMethod, Message: "use POST with a JSON list of flows"})
				return
			}
			body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
			if err != nil {
				writeErr(w, &apiError{Status: 400, Code: CodeBadJSON, Message: "could not read the request body"})
				return
			}
			var flows []FlowJSON
			if err := json.Unmarshal(body, &flows); err != nil {
				writeErr(w, &apiError{Status: 400, Code: CodeBadJSON, Message: fmt.Sprintf("body must be a JSON list of flows: %v", err)})
				return
			}
			recs, aerr := e.sessionsJSON(account, flows)
			if aerr != nil {
				writeErr(w, aerr)
				return
			}
			ok200(recs)
			return
		}
	}
	writeErr(w, &apiError{Status: 404, Code: CodeNotFound, Message: "unknown emulator endpoint: use GET /__emulator/stats, POST /__emulator/reset, GET /__emulator/accounts/{account_id}/rules or POST /__emulator/accounts/{account_id}/sessions"})
}
