package config_test

import (
	"strings"
	"testing"

	"github.com/coldtransfer/coldtransfer/internal/config"
)

func TestRedisURL(t *testing.T) {
	const pw = "s3cr3t-Redis-pw"
	tests := []struct {
		name    string
		url     string
		problem string // "" when valid; else the problem line
	}{
		{name: "unset", url: ""},
		{name: "plain", url: "redis://localhost:6379"},
		{name: "password and db", url: "redis://:" + pw + "@redis:6379/2"},
		{name: "user, TLS, options", url: "rediss://bot:" + pw + "@redis.example.com:6380/0?dial_timeout=3s"},
		{name: "unix socket", url: "unix:///run/redis/redis.sock?db=1"},
		{
			name: "http", url: "http://:" + pw + "@redis:6379",
			problem: "REDIS_URL: must be a redis://, rediss:// or unix:// URL, like redis://:PASSWORD@redis:6379/0, rediss://… for TLS, or unix:///run/redis/redis.sock (the value is not shown: it may hold a password)",
		},
		{
			name: "no scheme", url: pw + "@redis:6379",
			problem: "REDIS_URL: must be a redis://, rediss:// or unix:// URL, like redis://:PASSWORD@redis:6379/0, rediss://… for TLS, or unix:///run/redis/redis.sock (the value is not shown: it may hold a password)",
		},
		{
			name: "bad port", url: "redis://:" + pw + "@redis:port",
			problem: "REDIS_URL: must be a redis://, rediss:// or unix:// URL, like redis://:PASSWORD@redis:6379/0, rediss://… for TLS, or unix:///run/redis/redis.sock (the value is not shown: it may hold a password)",
		},
		{
			name: "bad db", url: "redis://:" + pw + "@redis:6379/zero",
			problem: `REDIS_URL: is not a Redis URL go-redis accepts (invalid database number: "zero"): write it like redis://:PASSWORD@redis:6379/0, rediss://… for TLS, or unix:///run/redis/redis.sock`,
		},
		{
			name: "the password pasted as the db too", url: "redis://:" + pw + "@redis:6379/" + pw,
			problem: `REDIS_URL: is not a Redis URL go-redis accepts (invalid database number: "xxxxx"): write it like redis://:PASSWORD@redis:6379/0, rediss://… for TLS, or unix:///run/redis/redis.sock`,
		},
		{
			name: "unknown option", url: "redis://:" + pw + "@redis:6379/0?pasword=" + pw,
			problem: `REDIS_URL: is not a Redis URL go-redis accepts (unexpected option: pasword): write it like redis://:PASSWORD@redis:6379/0, rediss://… for TLS, or unix:///run/redis/redis.sock`,
		},
		{
			name: "unix without a path", url: "unix://",
			problem: `REDIS_URL: is not a Redis URL go-redis accepts (empty unix socket path): write it like redis://:PASSWORD@redis:6379/0, rediss://… for TLS, or unix:///run/redis/redis.sock`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Load(lookup(with(map[string]string{"REDIS_URL": tt.url})))
			if tt.problem == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if cfg.RedisURL != tt.url {
					t.Errorf("RedisURL = %q, want %q", cfg.RedisURL, tt.url)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load accepted REDIS_URL=%s", tt.url)
			}
			if err.Error() != tt.problem {
				t.Errorf("problem:\n%s\nwant:\n%s", err, tt.problem)
			}
			if strings.Contains(err.Error(), pw) {
				t.Errorf("the problem echoes the password: %s", err)
			}
		})
	}
}
