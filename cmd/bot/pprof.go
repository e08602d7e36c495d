//go:build pprof

package main

// A build for profiling under the load test, never a release:
//
//	go build -tags pprof -o /tmp/bot-pprof ./cmd/bot
//	(cd bench && go run ./loadtest -bot /tmp/bot-pprof -only a -probes 3000) &
//	go tool pprof -seconds 5 http://127.0.0.1:6061/debug/pprof/profile
//	curl -o trace.out 'http://127.0.0.1:6061/debug/pprof/trace?seconds=2'
//
// The address is fixed because the load test passes the bot no environment
// of the caller's but the Go runtime's knobs.

import (
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on http.DefaultServeMux
)

func init() {
	go func() { _ = http.ListenAndServe("127.0.0.1:6061", nil) }()
}
