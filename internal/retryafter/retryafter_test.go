package retryafter

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header string
		want   time.Duration
		wantOK bool
	}{
		{"absent", "", 0, false},
		{"zero", "0", 0, true},
		{"seconds", "3", 3 * time.Second, true},
		{"seconds with space", " 2 ", 2 * time.Second, true},
		{"HTTP date ahead", "Sat, 01 Mar 2025 12:00:05 GMT", 5 * time.Second, true},
		{"HTTP date passed", "Sat, 01 Mar 2025 11:59:00 GMT", 0, true},
		{"negative", "-1", 0, false},
		{"fraction", "1.5", 0, false},
		{"garbage", "soon", 0, false},
		{"huge", "99999999999999999999", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Parse(tc.header, now)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("Parse(%q) = %v, %v; want %v, %v", tc.header, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestAtLeastASecond(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for header, want := range map[string]time.Duration{"": time.Second, "0": time.Second, "soon": time.Second, "7": 7 * time.Second} {
		if got := AtLeastASecond(header, now); got != want {
			t.Errorf("AtLeastASecond(%q) = %v, want %v", header, got, want)
		}
	}
}
