package fakeplivo

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestNewStartedByTLS checks that a fake started with StartTLS answers
// over TLS at an https:// URL, and that the start set its idle time-out.
func TestNewStartedByTLS(t *testing.T) {
	var hs *httptest.Server
	s := NewStartedBy("MA1", "tok", func(srv *httptest.Server) {
		hs = srv
		srv.Config.IdleTimeout = time.Minute
		srv.StartTLS()
	})
	defer s.Close()
	if !strings.HasPrefix(s.URL(), "https://") {
		t.Fatalf("URL() = %s under TLS, want https://", s.URL())
	}
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/v1/phlo/p/multi_party_call/n", strings.NewReader(`{"action":"cold_transfer"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("MA1", "tok")
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatalf("POST over TLS: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || resp.TLS == nil {
		t.Errorf("answer %d (TLS: %v), want 201 over TLS", resp.StatusCode, resp.TLS != nil)
	}
	if s.Count() != 1 {
		t.Errorf("%d requests recorded, want 1", s.Count())
	}
	if hs.Config.IdleTimeout != time.Minute {
		t.Errorf("IdleTimeout = %v, want the start's 1m", hs.Config.IdleTimeout)
	}
}
