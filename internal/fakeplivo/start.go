package fakeplivo

import "net/http/httptest"

// NewStartedBy is New with the server started by start instead of
// httptest's Start, for a Plivo that is not a plain loopback one: start may
// wrap the Listener (a distant network), set Config.IdleTimeout, and call
// StartTLS, after which URL is https://. A nil start is New.
func NewStartedBy(authID, authToken string, start func(*httptest.Server)) *Server {
	return newServer(authID, authToken, start)
}
