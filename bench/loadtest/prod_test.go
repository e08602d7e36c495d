package main

import (
	"slices"
	"testing"
	"time"
)

func TestProdBotsSet(t *testing.T) {
	tests := []struct {
		name, in string
		want     prodBot
		wantErr  bool
	}{
		{name: "label only", in: "main", want: prodBot{label: "main"}},
		{name: "binary", in: "after /tmp/bot-after", want: prodBot{label: "after", bin: "/tmp/bot-after"}},
		{name: "environment", in: "two GOMAXPROCS=2 GOGC=50", want: prodBot{label: "two", env: []string{"GOMAXPROCS=2", "GOGC=50"}}},
		{name: "binary and environment", in: " x  /tmp/b  GOMAXPROCS=2 ", want: prodBot{label: "x", bin: "/tmp/b", env: []string{"GOMAXPROCS=2"}}},
		{name: "empty", in: "  ", wantErr: true},
		{name: "no label", in: "GOMAXPROCS=2", wantErr: true},
		{name: "two binaries", in: "x /tmp/a /tmp/b", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var bs prodBots
			err := bs.Set(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Set(%q) = %+v, want an error", tt.in, bs)
				}
				return
			}
			if err != nil || len(bs) != 1 {
				t.Fatalf("Set(%q): %v, %+v", tt.in, err, bs)
			}
			got := bs[0]
			if got.label != tt.want.label || got.bin != tt.want.bin || !slices.Equal(got.env, tt.want.env) {
				t.Errorf("Set(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

// TestHopFloors checks the floors against the brief's definition: the
// reply is 2 Slack round trips and 1 Plivo round trip away from the
// envelope.
func TestHopFloors(t *testing.T) {
	p := prodParams{slack: 40 * time.Millisecond, plivo: 60 * time.Millisecond}
	want := map[string]time.Duration{
		"ack":           80 * time.Millisecond,
		"announcement":  80 * time.Millisecond,
		"Plivo request": 180 * time.Millisecond,
		"thread reply":  280 * time.Millisecond,
		"✅":             280 * time.Millisecond, // beside the reply: it needs Plivo's answer, not the reply
	}
	for _, h := range p.hops() {
		if h.floor != want[h.name] {
			t.Errorf("floor of %s = %v, want %v", h.name, h.floor, want[h.name])
		}
	}
}
