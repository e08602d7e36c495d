package config

import (
	"net"
	"net/url"
	"strings"
)

// Warning is a setting that works but is insecure. It is said out loud at
// start rather than refused: a test rig, or a network the operator trusts,
// may mean it.
type Warning struct {
	Variable string // the variable, like "REDIS_URL"
	Text     string // what is insecure and what to do, without any secret
}

// String returns the warning as one line that starts with the variable's
// name, like a configuration problem.
func (w Warning) String() string { return w.Variable + ": " + w.Text }

// Warnings returns the insecure settings of a Config that Load returned, in
// the order Load reads the variables: plain http:// to Slack or Plivo, the
// health server on every interface, and Redis without TLS or without its
// certificate checked. A host on this machine (localhost, 127.0.0.0/8, ::1,
// a unix socket) is never warned about: nothing crosses a network. No
// warning repeats a secret: a URL is shown as its scheme and host:port.
func (c Config) Warnings() []Warning {
	var ws []Warning
	add := func(variable, text string) { ws = append(ws, Warning{variable, text}) }
	if host, ok := plainHTTP(c.SlackAPIURL); ok {
		add("SLACK_API_URL", "http://"+host+" is not encrypted: the bot token crosses the network in clear text, "+
			"and anyone on the way can read or change what Slack answers; use https://, or http:// only to this machine (localhost).")
	}
	if host, ok := plainHTTP(c.Plivo.BaseURL); ok {
		add("PLIVO_PHLO_URL", "http://"+host+" is not encrypted: every transfer sends PLIVO_AUTH_ID and PLIVO_AUTH_TOKEN "+
			"and the caller's number in clear text; use https://, or http:// only to this machine (localhost).")
	}
	if allInterfaces(c.HealthAddr) {
		add("HEALTH_ADDR", shown(c.HealthAddr)+" listens on every interface, so it is reachable from other hosts; "+
			"/metrics and /readyz are unauthenticated: bind to 127.0.0.1 unless a probe or scraper needs it.")
	}
	if u, err := url.Parse(c.RedisURL); c.RedisURL != "" && err == nil {
		switch {
		case u.Scheme == "redis" && !isLoopback(u.Hostname()):
			add("REDIS_URL", "redis://"+u.Host+" is not encrypted: the Redis password and the state the replicas share "+
				"cross the network in clear text; use rediss:// (TLS), or redis:// only to this machine (localhost) or a unix:// socket.")
		case u.Scheme == "rediss" && skipsVerify(u):
			add("REDIS_URL", "rediss://"+u.Host+" has skip_verify: TLS without checking the server's certificate "+
				"lets anyone on the way pose as Redis and take the password; remove skip_verify and trust the server's CA instead.")
		}
	}
	return ws
}

// skipsVerify reports whether a rediss:// URL turns off the check of the
// server's certificate, as go-redis reads skip_verify: its last value.
func skipsVerify(u *url.URL) bool {
	vs := u.Query()["skip_verify"]
	return len(vs) > 0 && (vs[len(vs)-1] == "true" || vs[len(vs)-1] == "1")
}

// plainHTTP returns the host:port of raw when it is an http:// URL to
// another machine.
func plainHTTP(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || isLoopback(u.Hostname()) {
		return "", false
	}
	return u.Host, true
}

// isLoopback reports whether host is this machine: localhost, an address
// of 127.0.0.0/8 or ::1, or no host at all, which go-redis reads as
// localhost.
func isLoopback(host string) bool {
	if host == "" || strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// allInterfaces reports whether addr, a host:port HEALTH_ADDR, listens on
// every interface: ":8080", "0.0.0.0:8080" or "[::]:8080".
func allInterfaces(addr string) bool {
	if addr == "" {
		return false
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "" || (ip != nil && ip.IsUnspecified())
}
