package main

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
)

// TestRunWarnsOfInsecureSettings runs the bot with settings that work but
// are insecure: each is said once, at warn level, naming its variable, and
// the bot still starts. On loopback nothing is said.
func TestRunWarnsOfInsecureSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string // over the fakes' configuration
		want map[string]string // variable: a part of what is said
	}{
		{
			name: "loopback only: nothing said",
			env:  map[string]string{"HEALTH_ADDR": "127.0.0.1:0"},
		},
		{
			name: "plain http to Plivo, health on every interface",
			env: map[string]string{
				// Never dialled: no transfer is asked for.
				"PLIVO_PHLO_URL": "http://phlo.invalid",
				"HEALTH_ADDR":    "0.0.0.0:0",
			},
			want: map[string]string{
				"PLIVO_PHLO_URL": "http://phlo.invalid is not encrypted",
				"HEALTH_ADDR":    "reachable from other hosts; /metrics and /readyz are unauthenticated: bind to 127.0.0.1 unless a probe or scraper needs it",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakes(t)
			stderr := runUntilConnected(t, f, merge(f.env(), tt.env))

			said := map[string]string{}
			for line := range strings.Lines(stderr.String()) {
				var entry map[string]any
				if json.Unmarshal([]byte(line), &entry) != nil || entry["msg"] != "insecure setting" {
					continue
				}
				variable, _ := entry["variable"].(string)
				detail, _ := entry["detail"].(string)
				if entry["level"] != "warn" {
					t.Errorf("%s warning logged at level %v, want warn", variable, entry["level"])
				}
				if _, twice := said[variable]; twice {
					t.Errorf("%s warned of twice", variable)
				}
				said[variable] = detail
			}
			if got, want := slices.Sorted(maps.Keys(said)), slices.Sorted(maps.Keys(tt.want)); !slices.Equal(got, want) {
				t.Errorf("warnings for %v, want %v; stderr:\n%s", got, want, stderr)
			}
			for variable, part := range tt.want {
				if !strings.Contains(said[variable], part) {
					t.Errorf("%s warning %q, want it to say %q", variable, said[variable], part)
				}
			}
			assertNoSecrets(t, stderr.String())
		})
	}
}
