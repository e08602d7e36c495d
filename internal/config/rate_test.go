package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/config"
)

func TestLoadRatePerUser(t *testing.T) {
	tests := []struct {
		name    string
		value   string // unset when it is unset
		want    authz.RateLimit
		wantErr string // the one problem line, when the value is refused
	}{
		{name: "unset: 10/m", value: unset, want: authz.RateLimit{N: 10, Window: time.Minute}},
		{name: "empty: 10/m", value: "", want: authz.RateLimit{N: 10, Window: time.Minute}},
		{name: "blank: 10/m", value: " \t", want: authz.RateLimit{N: 10, Window: time.Minute}},
		{name: "off", value: "0", want: authz.RateLimit{}},
		{name: "off with spaces around", value: " 0 ", want: authz.RateLimit{}},
		{name: "per second", value: "5/s", want: authz.RateLimit{N: 5, Window: time.Second}},
		{name: "per minute", value: "10/m", want: authz.RateLimit{N: 10, Window: time.Minute}},
		{name: "per hour", value: "30/h", want: authz.RateLimit{N: 30, Window: time.Hour}},
		{name: "one", value: "1/m", want: authz.RateLimit{N: 1, Window: time.Minute}},
		{name: "largest", value: "1000000/h", want: authz.RateLimit{N: 1_000_000, Window: time.Hour}},
		{name: "leading zero", value: "010/m", want: authz.RateLimit{N: 10, Window: time.Minute}},
		{name: "spaces around", value: " 10/m\n", want: authz.RateLimit{N: 10, Window: time.Minute}},

		{name: "word unit", value: "10/min", wantErr: `TRANSFER_RATE_PER_USER: "10/min" is not N/s, N/m or N/h, like 10/m (0 turns the limit off)`},
		{name: "upper-case unit", value: "10/M", wantErr: `TRANSFER_RATE_PER_USER: "10/M" is not N/s, N/m or N/h, like 10/m (0 turns the limit off)`},
		{name: "day", value: "100/d", wantErr: `TRANSFER_RATE_PER_USER: "100/d" is not N/s, N/m or N/h, like 10/m (0 turns the limit off)`},
		{name: "no unit", value: "10", wantErr: `TRANSFER_RATE_PER_USER: "10" is not N/s, N/m or N/h, like 10/m (0 turns the limit off)`},
		{name: "no number", value: "/m", wantErr: `TRANSFER_RATE_PER_USER: "/m" is not N/s, N/m or N/h, like 10/m (0 turns the limit off)`},
		{name: "Go duration", value: "10/1m", wantErr: `TRANSFER_RATE_PER_USER: "10/1m" is not N/s, N/m or N/h, like 10/m (0 turns the limit off)`},
		{name: "negative", value: "-1/m", wantErr: `TRANSFER_RATE_PER_USER: "-1/m" is not N/s, N/m or N/h, like 10/m (0 turns the limit off)`},
		{name: "plus sign", value: "+5/m", wantErr: `TRANSFER_RATE_PER_USER: "+5/m" is not N/s, N/m or N/h, like 10/m (0 turns the limit off)`},
		{name: "fraction", value: "0.5/s", wantErr: `TRANSFER_RATE_PER_USER: "0.5/s" is not N/s, N/m or N/h, like 10/m (0 turns the limit off)`},
		{name: "spaces inside", value: "10 / m", wantErr: `TRANSFER_RATE_PER_USER: "10 / m" is not N/s, N/m or N/h, like 10/m (0 turns the limit off)`},
		{name: "off spelled out", value: "off", wantErr: `TRANSFER_RATE_PER_USER: "off" is not N/s, N/m or N/h, like 10/m (0 turns the limit off)`},
		{name: "double zero", value: "00", wantErr: `TRANSFER_RATE_PER_USER: "00" is not N/s, N/m or N/h, like 10/m (0 turns the limit off)`},
		{name: "zero per window", value: "0/m", wantErr: `TRANSFER_RATE_PER_USER: "0/m" allows no transfers at all: write 0 to turn the limit off, or a number from 1 to 1000000 per window`},
		{name: "too many", value: "1000001/h", wantErr: `TRANSFER_RATE_PER_USER: "1000001/h": the number of transfers must be from 1 to 1000000 per window`},
		{name: "overflows int", value: "99999999999999999999/s", wantErr: `TRANSFER_RATE_PER_USER: "99999999999999999999/s": the number of transfers must be from 1 to 1000000 per window`},
		{name: "token pasted", value: botToken, wantErr: `TRANSFER_RATE_PER_USER: a value of 42 characters (not shown: it may be a secret) is not N/s, N/m or N/h, like 10/m (0 turns the limit off)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Load(lookup(with(map[string]string{"TRANSFER_RATE_PER_USER": tt.value})))
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("Load(TRANSFER_RATE_PER_USER=%q): no error, want %q", tt.value, tt.wantErr)
				}
				if got := err.Error(); got != tt.wantErr {
					t.Errorf("Load(TRANSFER_RATE_PER_USER=%q) error:\n%s\nwant:\n%s", tt.value, got, tt.wantErr)
				}
				if strings.Contains(err.Error(), botToken[5:]) {
					t.Errorf("error echoes the bot token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load(TRANSFER_RATE_PER_USER=%q): %v", tt.value, err)
			}
			if cfg.RatePerUser != tt.want {
				t.Errorf("Load(TRANSFER_RATE_PER_USER=%q).RatePerUser = %+v, want %+v", tt.value, cfg.RatePerUser, tt.want)
			}
		})
	}
}

// TestRatePerUserOtherProblems checks that a bad rate is reported beside
// the other problems, not instead of them.
func TestRatePerUserOtherProblems(t *testing.T) {
	_, err := config.Load(lookup(with(map[string]string{
		"TRANSFER_RATE_PER_USER": "10/min",
		"LOG_LEVEL":              "verbose",
	})))
	want := []string{
		`LOG_LEVEL: must be one of debug, info, warn, error, not "verbose"`,
		`TRANSFER_RATE_PER_USER: "10/min" is not N/s, N/m or N/h, like 10/m (0 turns the limit off)`,
	}
	if err == nil {
		t.Fatalf("Load: no error, want:\n%s", strings.Join(want, "\n"))
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("Load error:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}
