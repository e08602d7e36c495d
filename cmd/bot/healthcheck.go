package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/config"
)

// healthTimeout bounds the whole health check.
const healthTimeout = 2 * time.Second

// checkHealth is the -healthcheck mode, for a container's health check
// (the image has no curl): GET /healthz of the bot running on this host, at
// the HEALTH_ADDR it reads like the bot (environment, then .env). A bot
// listening on every interface (0.0.0.0:P, [::]:P or :P) is asked on
// loopback. It returns 0 on a 200 within 2 s, and 1 otherwise, saying why
// on stderr.
func checkHealth(ctx context.Context, lookup config.Lookup, stderr io.Writer) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "coldtransfer -healthcheck: unhealthy: "+format+"\n", args...)
		return exitFailure
	}
	addr, _ := lookup("HEALTH_ADDR")
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return fail("HEALTH_ADDR is not set, so the bot serves no /healthz to check: set it, e.g. HEALTH_ADDR=0.0.0.0:8080")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || len(addr) > 64 {
		return fail("HEALTH_ADDR is not host:port, like 0.0.0.0:8080")
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	url := "http://" + net.JoinHostPort(host, port) + "/healthz"

	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fail("GET %s: %v", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fail("GET %s: no answer within %s", url, healthTimeout)
		}
		return fail("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fail("GET %s answered %s", url, resp.Status)
	}
	fmt.Fprintf(stderr, "coldtransfer -healthcheck: healthy: GET %s answered %s\n", url, resp.Status)
	return exitOK
}
