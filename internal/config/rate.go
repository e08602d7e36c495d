package config

import (
	"regexp"
	"strconv"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/authz"
)

// maxRate is the largest N of a rate: more than anyone can type in a window,
// small enough for any store's counter.
const maxRate = 1_000_000

// rateForm is N/s, N/m or N/h with N digits, as TRANSFER_RATE_PER_USER has it.
var rateForm = regexp.MustCompile(`^([0-9]+)/([smh])$`)

var rateWindows = map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}

// rate reads a per-requester rate: N/s, N/m or N/h with N from 1 to
// maxRate, or 0 to turn the limit off (the zero RateLimit).
//
// "0/m" is refused rather than read as off or as "no transfers at all": it
// could mean either, and an operator who wants the limit off writes 0.
func (r *reader) rate(name string, def authz.RateLimit) authz.RateLimit {
	v := r.get(name)
	switch v {
	case "":
		return def
	case "0":
		return authz.RateLimit{}
	}
	m := rateForm.FindStringSubmatch(v)
	if m == nil {
		r.fail(name, "%s is not N/s, N/m or N/h, like 10/m (0 turns the limit off)", shown(v))
		return def
	}
	n, err := strconv.Atoi(m[1])
	switch {
	case err == nil && n == 0:
		r.fail(name, "%s allows no transfers at all: write 0 to turn the limit off, or a number from 1 to %d per window", shown(v), maxRate)
		return def
	case err != nil || n > maxRate:
		r.fail(name, "%s: the number of transfers must be from 1 to %d per window", shown(v), maxRate)
		return def
	}
	return authz.RateLimit{N: n, Window: rateWindows[m[2]]}
}
