package fakeslack

import (
	"net/http"
	"net/http/httptest"
)

// startServer starts h on an httptest server, with start (Options.Start)
// or, when it is nil, as a plain loopback HTTP server. The server's URL,
// set by the start, is where every URL the fake hands out begins: https://
// and wss:// under StartTLS.
func startServer(h http.Handler, start func(*httptest.Server)) *httptest.Server {
	hs := httptest.NewUnstartedServer(h)
	if start == nil {
		start = (*httptest.Server).Start
	}
	start(hs)
	return hs
}
