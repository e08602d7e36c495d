package config_test

import (
	"strings"
	"testing"

	"github.com/coldtransfer/coldtransfer/internal/config"
)

// redisPassword is the password of the REDIS_URL tests: no problem line
// may repeat it, wherever it sits in the URL.
const redisPassword = "s3cr3t-Redis-pw"

func TestRedisURL(t *testing.T) {
	const (
		pw        = redisPassword
		notAURL   = "REDIS_URL: must be a redis://, rediss:// or unix:// URL, like redis://:PASSWORD@redis:6379/0, rediss://… for TLS, or unix:///run/redis/redis.sock (the value is not shown: it may hold a password)"
		refused   = "REDIS_URL: is not a Redis URL go-redis accepts: "
		writeLike = "; write it like redis://:PASSWORD@redis:6379/0, rediss://… for TLS, or unix:///run/redis/redis.sock (the value is not shown: it may hold a password)"
	)
	tests := []struct {
		name    string
		url     string
		problem string   // "" when valid; else the problem line
		hidden  []string // parts of the URL the problem must not repeat, besides pw
	}{
		{name: "unset", url: ""},
		{name: "plain", url: "redis://localhost:6379"},
		{name: "password and db", url: "redis://:" + pw + "@redis:6379/2"},
		{name: "user, TLS, options", url: "rediss://bot:" + pw + "@redis.example.com:6380/0?dial_timeout=3s"},
		{name: "unix socket", url: "unix:///run/redis/redis.sock?db=1"},
		{name: "http", url: "http://:" + pw + "@redis:6379", problem: notAURL},
		{name: "no scheme", url: pw + "@redis:6379", problem: notAURL},
		{name: "bad port", url: "redis://:" + pw + "@redis:port", problem: notAURL, hidden: []string{"port"}},

		{
			name: "password in the user information, bad db", url: "redis://:" + pw + "@redis:6379/zero",
			problem: refused + "the database number (the path, or db= in the query) is not a whole number" + writeLike,
			hidden:  []string{"zero"},
		},
		{
			name: "password in the path", url: "redis://redis:6379/" + pw,
			problem: refused + "the database number (the path, or db= in the query) is not a whole number" + writeLike,
		},
		{
			name: "password in the path and the user information", url: "redis://:" + pw + "@redis:6379/" + pw,
			problem: refused + "the database number (the path, or db= in the query) is not a whole number" + writeLike,
		},
		{
			name: "password as a second path segment", url: "redis://redis:6379/0/" + pw,
			problem: refused + "the path must be one database number, like /0" + writeLike,
		},
		{
			name: "password as db= in the query", url: "redis://redis:6379?db=" + pw,
			problem: refused + "the database number (the path, or db= in the query) is not a whole number" + writeLike,
		},
		{
			name: "password as the value of an unknown option", url: "redis://redis:6379/0?pasword=" + pw,
			problem: refused + "the query has an option go-redis does not know" + writeLike,
			hidden:  []string{"pasword"},
		},
		{
			name: "password as an option's name", url: "redis://redis:6379/0?" + pw,
			problem: refused + "the query has an option go-redis does not know" + writeLike,
		},
		{
			name: "password as a duration", url: "redis://redis:6379/0?dial_timeout=" + pw,
			problem: refused + "the dial_timeout option must be a duration like 3s" + writeLike,
		},
		{
			name: "password as a number", url: "rediss://redis:6379/0?pool_size=" + pw,
			problem: refused + "the pool_size option must be a whole number" + writeLike,
		},
		{
			name: "password as a boolean", url: "rediss://redis:6379/0?skip_verify=" + pw,
			problem: refused + "the skip_verify option must be true or false" + writeLike,
		},
		{
			name: "password in the query of a unix socket", url: "unix:///run/redis/redis.sock?password2=" + pw,
			problem: refused + "the query has an option go-redis does not know" + writeLike,
			hidden:  []string{"password2", "/run/redis/redis.sock?"},
		},
		{
			name: "unix without a path", url: "unix://",
			problem: refused + "the unix socket path is empty" + writeLike,
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
			for _, s := range append([]string{pw}, tt.hidden...) {
				if strings.Contains(err.Error(), s) {
					t.Errorf("the problem repeats %q of the URL: %s", s, err)
				}
			}
		})
	}
}

// FuzzRedisURL puts the password in the user information, the path and the
// query of a REDIS_URL around an arbitrary value: whatever go-redis makes of
// it, the problem is one line naming REDIS_URL and never shows the password.
func FuzzRedisURL(f *testing.F) {
	for _, v := range []string{"", "0", "zero", "0/1", "db", "dial_timeout", "pool_size", "skip_verify", "%zz", " ", "?", "#", "@", ":"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		pw := redisPassword
		for _, u := range []string{
			"redis://:" + pw + "@redis:6379/" + v,
			"redis://redis:6379/" + pw + v,
			"rediss://redis:6379/0?" + v + "=" + pw,
			"redis://redis:6379/0?" + v + pw + "=1",
			"unix:///run/redis.sock?" + v + "=" + pw,
		} {
			_, err := config.Load(lookup(with(map[string]string{"REDIS_URL": u})))
			if err == nil {
				continue
			}
			if strings.Contains(err.Error(), pw) {
				t.Errorf("REDIS_URL=%q: the problem shows the password: %s", u, err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "REDIS_URL: ") {
					t.Errorf("REDIS_URL=%q: line %q does not name REDIS_URL", u, line)
				}
			}
		}
	})
}
