package health

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestProbes(t *testing.T) {
	var ready atomic.Bool
	srv, err := Start(Config{Addr: "127.0.0.1:0"}, ready.Load, nil)
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + srv.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	cases := []struct {
		name, path string
		ready      bool
		want       int
	}{
		{"alive while disconnected", "/healthz", false, 200},
		{"not ready while disconnected", "/readyz", false, 503},
		{"alive while connected", "/healthz", true, 200},
		{"ready while connected", "/readyz", true, 200},
		{"no metrics when there are none", "/metrics", true, 404},
		{"unknown path", "/debug/pprof/", true, 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ready.Store(tc.ready)
			if got, body := get(tc.path); got != tc.want {
				t.Errorf("GET %s = %d %q, want %d", tc.path, got, body, tc.want)
			}
		})
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := http.Get("http://" + srv.Addr() + "/healthz"); err == nil {
		t.Error("server still answers after Shutdown")
	}
}

func TestMetricsBesideProbes(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "coldtransfer_in_flight 0\n")
	})
	srv := httptest.NewServer(Handler(func() bool { return false }, metrics))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "coldtransfer_in_flight 0\n" {
		t.Errorf("GET /metrics = %d %q, want the metrics handler's answer", resp.StatusCode, body)
	}
	resp, err = http.Post(srv.URL+"/metrics", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics = %d, want 405", resp.StatusCode)
	}
}
