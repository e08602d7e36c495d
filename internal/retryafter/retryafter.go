// Package retryafter reads HTTP's Retry-After header, the one way Slack
// and Plivo both say when to ask again.
package retryafter

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Parse reads a Retry-After value, whole seconds or an HTTP date (which is
// measured from now), and reports whether it was one. A date in the past
// is 0.
func Parse(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// AtLeastASecond is Parse for a server that counts in seconds (Slack): a
// missing, unreadable or zero value is taken as one second, so that a
// retry never comes at once.
func AtLeastASecond(v string, now time.Time) time.Duration {
	d, ok := Parse(v, now)
	if !ok || d < time.Second {
		return time.Second
	}
	return d
}
