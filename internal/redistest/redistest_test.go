package redistest

import (
	"context"
	"testing"
)

func TestStartStopRestart(t *testing.T) {
	s := StartT(t)
	if err := s.ping(); err != nil {
		t.Fatalf("started, but PING: %v", err)
	}
	s.Stop()
	if err := s.ping(); err == nil {
		t.Fatal("stopped, but PING answered")
	}
	if err := s.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.ping(); err != nil {
		t.Fatalf("restarted, but PING: %v", err)
	}
}
