// Package config reads and validates the bot's configuration from the
// environment, reporting every problem at once and never echoing a secret,
// and names the settings that work but are insecure (Config.Warnings).
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

// Defaults for the optional variables.
const (
	DefaultSlackAPIURL  = "https://slack.com/api/"
	DefaultPlivoPHLOURL = "https://phlorunner.plivo.com"
	DefaultPlivoTimeout = 10 * time.Second
	DefaultMaxInFlight  = 256

	maxPlivoTimeout = time.Minute
	maxMaxInFlight  = 10000
)

// defaultRatePerUser is TRANSFER_RATE_PER_USER when it is unset: 10
// transfers per requester per minute.
var defaultRatePerUser = authz.RateLimit{N: 10, Window: time.Minute}

// Config is the validated configuration of one bot process.
type Config struct {
	SlackBotToken string
	SlackAppToken string
	SlackAPIURL   string // always ends with "/"

	Plivo  plivo.Config
	Policy authz.Policy
	// RatePerUser is how many transfers one requester may start per window
	// (TRANSFER_RATE_PER_USER); the zero value is no limit.
	RatePerUser authz.RateLimit

	DryRun      bool
	HealthAddr  string // "" when the health server is off
	MaxInFlight int
	LogLevel    zapcore.Level
	LogFormat   string // "json" or "console"

	// DirectoryFile is the path of the floor directory, "" for none. Load
	// only reads the variable: cmd/bot loads the file.
	DirectoryFile string
	// RedisURL is the shared store of several replicas: any URL go-redis's
	// ParseURL accepts. "" keeps the state in memory.
	RedisURL string
	// AuditChannel is the id of a channel (C… or G…) where every audit
	// line is also posted (AUDIT_CHANNEL); "" for none.
	AuditChannel string
}

// Lookup returns the value of an environment variable and whether it is set,
// like os.LookupEnv.
type Lookup func(name string) (string, bool)

// Load reads the configuration through lookup. An unset variable and one set
// to the empty string are the same. The error, when not nil, joins one error
// per problem, each a single line that starts with the variable's name.
func Load(lookup Lookup) (Config, error) {
	r := reader{lookup: lookup}
	cfg := Config{
		SlackBotToken: r.token("SLACK_BOT_TOKEN", "xoxb-", "the Bot User OAuth Token (OAuth & Permissions)"),
		SlackAppToken: r.token("SLACK_APP_TOKEN", "xapp-", "an app-level token with connections:write (Basic Information)"),
		SlackAPIURL:   r.url("SLACK_API_URL", DefaultSlackAPIURL),
		Plivo: plivo.Config{
			BaseURL:      strings.TrimSuffix(r.url("PLIVO_PHLO_URL", DefaultPlivoPHLOURL), "/"),
			AuthID:       r.match("PLIVO_AUTH_ID", plivoAuthID, "is not a Plivo auth id: 20 upper-case letters and digits, like MAXXXXXXXXXXXXXXXXXX"),
			AuthToken:    r.secret("PLIVO_AUTH_TOKEN"),
			PhloID:       r.match("PLIVO_PHLO_ID", uuid, "is not a PHLO id: a UUID like 2f6e7c1a-8d7b-4f2e-9a51-0c3e5d7b9a12 (PHLO list in the Plivo console)"),
			NodeID:       r.match("PLIVO_NODE_ID", uuid, "is not a node id: the Multi-Party Call node's UUID (shown on the node in the PHLO editor)"),
			Timeout:      r.duration("PLIVO_TIMEOUT", DefaultPlivoTimeout, maxPlivoTimeout),
			NumberFormat: r.numberFormat("PLIVO_NUMBER_FORMAT"),
		},
		DryRun:       r.bool("DRY_RUN"),
		HealthAddr:   r.hostPort("HEALTH_ADDR"),
		MaxInFlight:  r.int("MAX_IN_FLIGHT", DefaultMaxInFlight, 1, maxMaxInFlight),
		LogLevel:     r.logLevel("LOG_LEVEL"),
		LogFormat:    r.oneOf("LOG_FORMAT", "json", "json", "console"),
		RatePerUser:  r.rate("TRANSFER_RATE_PER_USER", defaultRatePerUser),
		RedisURL:     r.redisURL("REDIS_URL"),
		AuditChannel: r.channelID("AUDIT_CHANNEL"),
	}

	cfg.DirectoryFile = r.get("DIRECTORY_FILE")

	policy, err := authz.ParsePolicy(
		r.get("TRANSFER_ALLOWED_USERS"),
		r.get("TRANSFER_ALLOWED_GROUPS"),
		r.get("TRANSFER_ALLOWED_CHANNELS"),
	)
	cfg.Policy = policy
	r.errs = append(r.errs, err)

	return cfg, errors.Join(r.errs...)
}

var (
	plivoAuthID = regexp.MustCompile(`^[A-Z0-9]{20}$`)
	uuid        = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// reader collects problems while it reads variables, so that Load reports
// all of them instead of stopping at the first.
type reader struct {
	lookup Lookup
	errs   []error
}

func (r *reader) get(name string) string {
	v, _ := r.lookup(name)
	return strings.TrimSpace(v)
}

func (r *reader) fail(name, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

func (r *reader) required(name string) (string, bool) {
	v := r.get(name)
	if v == "" {
		r.fail(name, "is required")
		return "", false
	}
	return v, true
}

// token reads a Slack token. Only a known prefix is ever repeated back, so a
// swapped bot and app token is easy to spot without echoing a secret.
func (r *reader) token(name, prefix, what string) string {
	v, ok := r.required(name)
	if !ok {
		return ""
	}
	if !strings.HasPrefix(v, prefix) {
		if got := knownTokenPrefix(v); got != "" {
			r.fail(name, "starts with %s but must start with %s: use %s", got, prefix, what)
		} else {
			r.fail(name, "must start with %s: use %s", prefix, what)
		}
		return ""
	}
	if !printableASCII(v) || len(v) <= len(prefix) {
		r.fail(name, "is not a valid token (it must be %s… with no spaces or other characters): copy it again", prefix)
		return ""
	}
	return v
}

func knownTokenPrefix(v string) string {
	for _, p := range []string{"xoxb-", "xapp-", "xoxp-", "xoxe-", "xoxa-"} {
		if strings.HasPrefix(v, p) {
			return p
		}
	}
	return ""
}

func (r *reader) secret(name string) string {
	v, ok := r.required(name)
	if !ok {
		return ""
	}
	if !printableASCII(v) || len(v) < 16 || len(v) > 128 {
		r.fail(name, "is not a valid auth token (16 to 128 printable characters, no spaces): copy it again from the Plivo console")
		return ""
	}
	return v
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func (r *reader) match(name string, re *regexp.Regexp, problem string) string {
	v, ok := r.required(name)
	if !ok {
		return ""
	}
	if !re.MatchString(v) {
		r.fail(name, "%s", problem)
		return ""
	}
	return v
}

// url reads an absolute http(s) URL with no credentials, query or fragment,
// and returns it with a trailing slash.
func (r *reader) url(name, def string) string {
	v := r.get(name)
	if v == "" {
		return def
	}
	u, err := url.Parse(v)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		r.fail(name, "must be an absolute http or https URL, like %s", def)
		return ""
	case u.User != nil:
		r.fail(name, "must not contain credentials")
		return ""
	case strings.ContainsAny(v, "?#"):
		// Not u.RawQuery or u.Fragment: they are empty for a bare "?" or "#",
		// and the slash added below would land in the query or fragment.
		r.fail(name, "must not have a query or fragment")
		return ""
	}
	if !strings.HasSuffix(v, "/") {
		v += "/"
	}
	return v
}

func (r *reader) duration(name string, def, max time.Duration) time.Duration {
	v := r.get(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.fail(name, "%s is not a duration: write it like 10s or 1500ms", shown(v))
		return 0
	}
	if d <= 0 || d > max {
		r.fail(name, "must be more than 0 and at most %s, not %s", max, d)
		return 0
	}
	return d
}

func (r *reader) int(name string, def, min, max int) int {
	v := r.get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		r.fail(name, "must be a whole number from %d to %d, not %s", min, max, shown(v))
		return 0
	}
	return n
}

func (r *reader) bool(name string) bool {
	v := r.get(name)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(name, "must be true or false, not %s", shown(v))
		return false
	}
	return b
}

func (r *reader) hostPort(name string) string {
	v := r.get(name)
	if v == "" {
		return ""
	}
	_, port, err := net.SplitHostPort(v)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		r.fail(name, "must be host:port, like 127.0.0.1:8080, not %s", shown(v))
		return ""
	}
	return v
}

func (r *reader) oneOf(name, def string, allowed ...string) string {
	v := r.get(name)
	if v == "" {
		return def
	}
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.fail(name, "must be one of %s, not %s", strings.Join(allowed, ", "), shown(v))
	return def
}

func (r *reader) logLevel(name string) zapcore.Level {
	switch r.oneOf(name, "info", "debug", "info", "warn", "error") {
	case "debug":
		return zapcore.DebugLevel
	case "warn":
		return zapcore.WarnLevel
	case "error":
		return zapcore.ErrorLevel
	default:
		return zapcore.InfoLevel
	}
}

func (r *reader) numberFormat(name string) plivo.NumberFormat {
	v := r.get(name)
	if v == "" {
		return plivo.FormatE164
	}
	f, err := plivo.ParseNumberFormat(v)
	if err != nil {
		// Not err's text: it would echo more of a misplaced secret than shown.
		r.fail(name, "must be %q or %q, not %s", plivo.FormatE164, plivo.FormatDigits, shown(v))
	}
	return f
}

// channelIDRe is a channel's id as Slack writes it: C (public, or private
// since 2021) or G (older private channels), then upper-case letters and
// digits.
var channelIDRe = regexp.MustCompile(`^[CG][A-Z0-9]{2,30}$`)

// channelID reads the id of a channel the bot posts in. A channel's name is
// not accepted: names change, and a renamed channel would silently take
// the posts elsewhere.
func (r *reader) channelID(name string) string {
	v := r.get(name)
	if v == "" {
		return ""
	}
	if !channelIDRe.MatchString(v) {
		r.fail(name, "%s is not a channel id: C… or G… in capitals, as the channel's details show it (About, at the bottom)", shown(v))
		return ""
	}
	return v
}

// maxShown is the longest value an error message repeats: room for what an
// operator types by hand (a log level, a duration, host:port), too little for
// a Plivo auth token (40 characters).
const maxShown = 32

// shown renders the value of a variable that is not a secret for an error
// message, quoted, unless it looks like a secret pasted on the wrong line (a
// Slack token, or longer than maxShown): start-up errors never echo a secret.
func shown(v string) string {
	if len(v) > maxShown || knownTokenPrefix(v) != "" {
		return fmt.Sprintf("a value of %d characters (not shown: it may be a secret)", len(v))
	}
	return strconv.Quote(v)
}
