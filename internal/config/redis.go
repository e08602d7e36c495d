package config

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/redis/go-redis/v9"
)

const redisExample = "like redis://:PASSWORD@redis:6379/0, rediss://… for TLS, or unix:///run/redis/redis.sock"

// redisURL reads a URL that go-redis's ParseURL accepts. A password may sit
// in any part of a Redis URL, the user information, the path (a password
// pasted where the database number goes) or the query, so a problem is
// described in words of our own and never repeats the value or go-redis's
// message, which quotes parts of it.
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
		r.fail(name, "is not a Redis URL go-redis accepts: %s; write it %s (the value is not shown: it may hold a password)", redisProblem(err), redisExample)
		return ""
	}
	return v
}

// redisOption finds the name of the option in go-redis's message about an
// option's value. The name is go-redis's own, one it looked up: an unknown
// key in the query never appears here.
var redisOption = regexp.MustCompile(`^redis: invalid ([a-z_]{1,40}) (number|duration|boolean)\b`)

// redisProblem says what go-redis found wrong with a URL without quoting
// the URL: go-redis's messages quote the path, the query's keys and its
// values.
func redisProblem(err error) string {
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "redis: invalid database number"):
		return "the database number (the path, or db= in the query) is not a whole number"
	case strings.HasPrefix(msg, "redis: invalid URL path"):
		return "the path must be one database number, like /0"
	case strings.HasPrefix(msg, "redis: empty unix socket path"):
		return "the unix socket path is empty"
	case strings.HasPrefix(msg, "redis: unexpected option"):
		return "the query has an option go-redis does not know"
	}
	if m := redisOption.FindStringSubmatch(msg); m != nil {
		kind := map[string]string{"number": "a whole number", "duration": "a duration like 3s", "boolean": "true or false"}[m[2]]
		return "the " + m[1] + " option must be " + kind
	}
	return "go-redis refused it"
}
