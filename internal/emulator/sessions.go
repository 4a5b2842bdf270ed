package emulator

import "net/http"

// sessionsJSON computes one Network Session Log record per flow.
// TODO(emulator): wire to engine.Compile / Decide / RenderSession once the
// engine lands.
func (e *Emulator) sessionsJSON(account string, flows []FlowJSON) (any, *apiError) {
	return nil, &apiError{Status: http.StatusNotImplemented, Code: CodeServer, Message: "session simulation is not wired to the engine yet"}
}
