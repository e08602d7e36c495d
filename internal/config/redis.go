package config

import (
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
)

const redisExample = "like redis://:PASSWORD@redis:6379/0, rediss://… for TLS, or unix:///run/redis/redis.sock"

// redisURL reads a URL that go-redis's ParseURL accepts. A Redis URL
// usually holds a password, so the value is never repeated: only what
// go-redis found wrong, with the password taken out.
func (r *reader) redisURL(name string) string {
	v := r.get(name)
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
		r.fail(name, "must be a redis://, rediss:// or unix:// URL, %s (the value is not shown: it may hold a password)", redisExample)
		return ""
	}
	if _, err := redis.ParseURL(v); err != nil {
		r.fail(name, "is not a Redis URL go-redis accepts (%s): write it %s", redactRedis(err.Error(), u), redisExample)
		return ""
	}
	return v
}

// redactRedis returns go-redis's message about u without u's password, in
// any spelling, on one line.
func redactRedis(msg string, u *url.URL) string {
	msg = strings.TrimPrefix(msg, "redis: ")
	if u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			for _, form := range []string{pw, url.PathEscape(pw), url.QueryEscape(pw), url.UserPassword("", pw).String()[1:]} {
				msg = strings.ReplaceAll(msg, form, "xxxxx")
			}
		}
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, msg)
}
