package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// healthServer serves /healthz with status (and waits delay first) on a
// loopback port, and returns the port.
func healthServer(t *testing.T, status int, delay time.Duration) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(s.Close)
	_, port, _ := net.SplitHostPort(s.Listener.Addr().String())
	return port
}

// closedPort is a loopback port nobody listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	return port
}

func TestHealthcheck(t *testing.T) {
	ok := healthServer(t, http.StatusOK, 0)
	tests := []struct {
		name     string
		addr     string // HEALTH_ADDR in the environment
		envFile  string // HEALTH_ADDR in .env
		want     int
		wantText string
	}{
		{name: "healthy on loopback", addr: "127.0.0.1:" + ok, want: 0, wantText: "healthy: GET http://127.0.0.1:" + ok + "/healthz answered 200 OK"},
		{name: "every interface is asked on loopback", addr: "0.0.0.0:" + ok, want: 0, wantText: "http://127.0.0.1:" + ok + "/healthz answered 200"},
		{name: "empty host", addr: ":" + ok, want: 0, wantText: "http://127.0.0.1:" + ok + "/healthz answered 200"},
		{name: "from .env", envFile: "HEALTH_ADDR=0.0.0.0:" + ok + "\n", want: 0, wantText: "answered 200"},
		{name: "503", addr: "127.0.0.1:" + healthServer(t, http.StatusServiceUnavailable, 0), want: 1, wantText: "unhealthy: GET http://127.0.0.1:"},
		{name: "no answer within 2 s", addr: "127.0.0.1:" + healthServer(t, http.StatusOK, 3*time.Second), want: 1, wantText: "no answer within 2s"},
		{name: "nobody listening", addr: "127.0.0.1:" + closedPort(t), want: 1, wantText: "connection refused"},
		{name: "HEALTH_ADDR unset", want: 1, wantText: "HEALTH_ADDR is not set"},
		{name: "HEALTH_ADDR malformed", addr: "localhost", want: 1, wantText: "HEALTH_ADDR is not host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			envFile := "" // none
			if tt.envFile != "" {
				envFile = filepath.Join(t.TempDir(), ".env")
				if err := os.WriteFile(envFile, []byte(tt.envFile), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			env := map[string]string{}
			if tt.addr != "" {
				env["HEALTH_ADDR"] = tt.addr
			}
			var stderr bytes.Buffer
			start := time.Now()
			got := run(context.Background(), []string{"-healthcheck", "-env-file", envFile}, lookup(env), strings.NewReader(""), io.Discard, &stderr)
			if got != tt.want {
				t.Errorf("exit status %d, want %d; stderr: %s", got, tt.want, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantText) {
				t.Errorf("stderr %q, want it to say %q", stderr.String(), tt.wantText)
			}
			if lines := strings.Count(stderr.String(), "\n"); lines != 1 {
				t.Errorf("stderr has %d lines, want one: %q", lines, stderr.String())
			}
			if elapsed := time.Since(start); elapsed > 10*time.Second {
				t.Errorf("the health check took %v", elapsed)
			}
		})
	}
}
