package main

import (
	"encoding/json"
	"testing"
)

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		want    int64
		wantErr bool
	}{
		{"plain", "1234 (bot) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 37 0 0 20 0 9 0 100 0 0", 287, false},
		{"name with spaces and parens", "99 (a (b) c) R 1 99 99 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 5 0 0", 10, false},
		{"no name", "99 a R 1", 0, true},
		{"too short", "99 (bot) S 1 2 3", 0, true},
		{"not a number", "99 (bot) S 1 1 1 0 -1 0 0 0 0 0 x 3 0 0", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tt.stat))
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseStatCPU(%q) error = %v, want error %v", tt.stat, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseStatCPU(%q) = %d ticks, want %d (utime+stime)", tt.stat, got, tt.want)
			}
		})
	}
}

func TestAnsweredInAck(t *testing.T) {
	tests := []struct {
		payload string
		want    bool
	}{
		{"", false},
		{"null", false},
		{"{}", false}, // Bolt's plain ack
		{" {} ", false},
		{`{"response_type":"ephemeral","text":"busy"}`, true},
	}
	for _, tt := range tests {
		var p json.RawMessage
		if tt.payload != "" {
			p = json.RawMessage(tt.payload)
		}
		if got := answeredInAck(p); got != tt.want {
			t.Errorf("answeredInAck(%q) = %v, want %v", tt.payload, got, tt.want)
		}
	}
}

func TestMedianAndSpread(t *testing.T) {
	tests := []struct {
		vs         []float64
		med        float64
		spreadText string
	}{
		{[]float64{3}, 3, "3.00"},
		{[]float64{3, 1, 2}, 2, "2.00 (1.00–3.00)"},
		{[]float64{4, 1, 3, 2}, 2, "2.00 (1.00–4.00)"},
		{[]float64{0.5, 120, 12}, 12, "12.0 (0.500–120)"},
	}
	for _, tt := range tests {
		if got := median(tt.vs); got != tt.med {
			t.Errorf("median(%v) = %v, want %v", tt.vs, got, tt.med)
		}
		if got := spread(tt.vs); got != tt.spreadText {
			t.Errorf("spread(%v) = %q, want %q", tt.vs, got, tt.spreadText)
		}
	}
}
