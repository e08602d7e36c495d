package config_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/coldtransfer/coldtransfer/internal/config"
)

func TestWarnings(t *testing.T) {
	const (
		slackHTTP = "SLACK_API_URL: http://slack.internal:8080 is not encrypted: the bot token crosses the network in clear text, " +
			"and anyone on the way can read or change what Slack answers; use https://, or http:// only to this machine (localhost)."
		plivoHTTP = "PLIVO_PHLO_URL: http://phlo.internal is not encrypted: every transfer sends PLIVO_AUTH_ID and PLIVO_AUTH_TOKEN " +
			"and the caller's number in clear text; use https://, or http:// only to this machine (localhost)."
		redisPlain = "REDIS_URL: redis://redis:6379 is not encrypted: the Redis password and the state the replicas share " +
			"cross the network in clear text; use rediss:// (TLS), or redis:// only to this machine (localhost) or a unix:// socket."
		redisSkip = "REDIS_URL: rediss://redis.example.com:6380 has skip_verify: TLS without checking the server's certificate " +
			"lets anyone on the way pose as Redis and take the password; remove skip_verify and trust the server's CA instead."
		healthAll = " listens on every interface, so it is reachable from other hosts; " +
			"/metrics and /readyz are unauthenticated: bind to 127.0.0.1 unless a probe or scraper needs it."
	)
	tests := []struct {
		name string
		env  map[string]string // over validEnv
		want []string
	}{
		{name: "defaults: none", env: map[string]string{}},
		{name: "https anywhere", env: map[string]string{"SLACK_API_URL": "https://slack.internal/api/", "PLIVO_PHLO_URL": "https://10.1.2.3"}},

		{name: "Slack over http", env: map[string]string{"SLACK_API_URL": "http://slack.internal:8080/api/"}, want: []string{slackHTTP}},
		{name: "Slack over http to localhost", env: map[string]string{"SLACK_API_URL": "http://localhost:8080/api/"}},
		{name: "Slack over http to LOCALHOST.", env: map[string]string{"SLACK_API_URL": "http://LOCALHOST.:8080/api/"}},
		{name: "Slack over http to 127.0.0.1", env: map[string]string{"SLACK_API_URL": "http://127.0.0.1:8080/api/"}},
		{name: "Slack over http to 127.8.9.10", env: map[string]string{"SLACK_API_URL": "http://127.8.9.10/api/"}},
		{name: "Slack over http to ::1", env: map[string]string{"SLACK_API_URL": "http://[::1]:8080/api/"}},
		{name: "Slack over http to a name like localhost", env: map[string]string{"SLACK_API_URL": "http://localhost.evil.example/api/"},
			want: []string{strings.Replace(slackHTTP, "slack.internal:8080", "localhost.evil.example", 1)}},
		{name: "Slack over http to 128.0.0.1", env: map[string]string{"SLACK_API_URL": "http://128.0.0.1/api/"},
			want: []string{strings.Replace(slackHTTP, "slack.internal:8080", "128.0.0.1", 1)}},

		{name: "Plivo over http", env: map[string]string{"PLIVO_PHLO_URL": "http://phlo.internal/"}, want: []string{plivoHTTP}},
		{name: "Plivo over http to loopback", env: map[string]string{"PLIVO_PHLO_URL": "http://127.0.0.1:9090"}},

		{name: "health on :8080", env: map[string]string{"HEALTH_ADDR": ":8080"}, want: []string{`HEALTH_ADDR: ":8080"` + healthAll}},
		{name: "health on 0.0.0.0", env: map[string]string{"HEALTH_ADDR": "0.0.0.0:8080"}, want: []string{`HEALTH_ADDR: "0.0.0.0:8080"` + healthAll}},
		{name: "health on [::]", env: map[string]string{"HEALTH_ADDR": "[::]:8080"}, want: []string{`HEALTH_ADDR: "[::]:8080"` + healthAll}},
		{name: "health on loopback", env: map[string]string{"HEALTH_ADDR": "127.0.0.1:8080"}},
		{name: "health on localhost", env: map[string]string{"HEALTH_ADDR": "localhost:8080"}},
		{name: "health on [::1]", env: map[string]string{"HEALTH_ADDR": "[::1]:8080"}},
		{name: "health off", env: map[string]string{"HEALTH_ADDR": ""}},

		{name: "Redis without TLS", env: map[string]string{"REDIS_URL": "redis://:" + urlSecret + "@redis:6379/0"}, want: []string{redisPlain}},
		{name: "Redis without TLS, no port", env: map[string]string{"REDIS_URL": "redis://bot:" + urlSecret + "@redis"},
			want: []string{strings.Replace(redisPlain, "redis:6379", "redis", 1)}},
		{name: "Redis with TLS", env: map[string]string{"REDIS_URL": "rediss://:" + urlSecret + "@redis.example.com:6380/0"}},
		{name: "Redis with TLS, certificate unchecked", env: map[string]string{"REDIS_URL": "rediss://:" + urlSecret + "@redis.example.com:6380/0?skip_verify=true"},
			want: []string{redisSkip}},
		{name: "Redis with TLS, skip_verify off", env: map[string]string{"REDIS_URL": "rediss://redis.example.com:6380?skip_verify=false"}},
		{name: "Redis on localhost", env: map[string]string{"REDIS_URL": "redis://:" + urlSecret + "@localhost:6379"}},
		{name: "Redis on 127.0.0.1", env: map[string]string{"REDIS_URL": "redis://127.0.0.1:6379/1"}},
		{name: "Redis on ::1", env: map[string]string{"REDIS_URL": "redis://[::1]:6379"}},
		{name: "Redis with no host: localhost", env: map[string]string{"REDIS_URL": "redis:///2"}},
		{name: "Redis on a unix socket", env: map[string]string{"REDIS_URL": "unix://:" + urlSecret + "@/run/redis/redis.sock?db=1"}},

		{
			name: "all at once, in the order of the variables",
			env: map[string]string{
				"REDIS_URL":      "redis://:" + urlSecret + "@redis:6379/0",
				"HEALTH_ADDR":    "0.0.0.0:8080",
				"PLIVO_PHLO_URL": "http://phlo.internal",
				"SLACK_API_URL":  "http://slack.internal:8080/api",
			},
			want: []string{slackHTTP, plivoHTTP, `HEALTH_ADDR: "0.0.0.0:8080"` + healthAll, redisPlain},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := with(tt.env)
			cfg, err := config.Load(lookup(env))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			var got []string
			for _, w := range cfg.Warnings() {
				if !strings.HasPrefix(w.String(), w.Variable+": ") {
					t.Errorf("warning %q does not start with its variable %s", w, w.Variable)
				}
				got = append(got, w.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Warnings():\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for _, w := range got {
				for _, s := range secrets(env) {
					if strings.Contains(w, s) {
						t.Errorf("warning %q repeats the secret %q", w, s)
					}
				}
			}
		})
	}
}
