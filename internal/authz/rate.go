package authz

import (
	"context"
	"fmt"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/store"
)

// RateLimit is how many transfers one requester may start per window
// (TRANSFER_RATE_PER_USER). The zero value is no limit.
type RateLimit struct {
	N      int           // transfers per window; 0: no limit
	Window time.Duration // a second, a minute or an hour
}

// Off reports whether r limits nothing.
func (r RateLimit) Off() bool { return r.N <= 0 || r.Window <= 0 }

// String returns r as TRANSFER_RATE_PER_USER spells it: "10/m", "5/s",
// "30/h", "0" when off, or N per a Go duration for another window.
func (r RateLimit) String() string {
	if r.Off() {
		return "0"
	}
	switch r.Window {
	case time.Second:
		return fmt.Sprintf("%d/s", r.N)
	case time.Minute:
		return fmt.Sprintf("%d/m", r.N)
	case time.Hour:
		return fmt.Sprintf("%d/h", r.N)
	}
	return fmt.Sprintf("%d/%s", r.N, r.Window)
}

// rateTimeout bounds one store operation of a Limiter: the rate is a brake,
// and a slow store must not hold a transfer for long.
const rateTimeout = 2 * time.Second

// Limiter counts the transfers each requester starts, in fixed windows, in
// the store shared by every replica, under the key
// "rate:<user id>". It is safe for concurrent use.
//
// A Limiter fails open: when the store cannot answer, the transfer goes
// ahead uncounted, and the caller logs RateDecision.Err. The call claim
// (one transfer per call) is the safety check that must hold; the rate only brakes a
// requester who acts too often, and a broken store must not stop every
// transfer on the floor.
type Limiter struct {
	store store.Store
	rate  RateLimit
}

// NewLimiter returns a Limiter that allows each requester r.N transfers per
// r.Window, counted in s. When r is off, it allows everything and never
// uses s, which may then be nil.
func NewLimiter(s store.Store, r RateLimit) *Limiter {
	return &Limiter{store: s, rate: r}
}

// RateDecision is the answer of Limiter.Take.
type RateDecision struct {
	Allowed bool

	// Counted reports whether the transfer was counted in the store, and
	// so whether Untake must give it back if a later check refuses the
	// transfer. It is false when the limit is off or the store failed.
	Counted bool

	// RetryAfter is, when !Allowed, how long until the requester's window
	// ends and a transfer may start again.
	RetryAfter time.Duration

	// Reason is a stable sentence for the log, e.g. "user U1 within 10/m",
	// "user U1 past 10/m, retry in 42s", "rate limit off" or "rate not
	// checked: store: <error>".
	Reason string

	// Err is the store failure that let the transfer through without
	// counting it (fail open), for the log at error level; nil when the
	// store answered or the limit is off. It never means refused.
	Err error
}

// Take counts one transfer by userID and reports whether it may start. Call
// it only once every other check has passed, since a counted transfer
// stays counted unless given back with Untake. Take never refuses because
// the store failed: see Limiter.
func (l *Limiter) Take(ctx context.Context, userID string) RateDecision {
	if l.rate.Off() {
		return RateDecision{Allowed: true, Reason: "rate limit off"}
	}
	ctx, cancel := context.WithTimeout(ctx, rateTimeout)
	defer cancel()
	ok, retryAfter, err := l.store.Take(ctx, rateKey(userID), l.rate.N, l.rate.Window)
	switch {
	case err != nil:
		err = fmt.Errorf("rate of user %s: %w", userID, err)
		return RateDecision{Allowed: true, Reason: "rate not checked: " + err.Error(), Err: err}
	case !ok:
		retryAfter = max(retryAfter, 0)
		return RateDecision{
			RetryAfter: retryAfter,
			Reason:     fmt.Sprintf("user %s past %s, retry in %s", userID, l.rate, retryAfter.Round(time.Millisecond)),
		}
	}
	return RateDecision{Allowed: true, Counted: true, Reason: fmt.Sprintf("user %s within %s", userID, l.rate)}
}

// Untake gives back a transfer that Take counted (RateDecision.Counted)
// for userID, when a later check refused it: only transfers that passed
// every check count. Its error is for the log; the count then
// stays until its window ends.
func (l *Limiter) Untake(ctx context.Context, userID string) error {
	if l.rate.Off() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, rateTimeout)
	defer cancel()
	if err := l.store.Untake(ctx, rateKey(userID), l.rate.Window); err != nil {
		return fmt.Errorf("give back the rate of user %s: %w", userID, err)
	}
	return nil
}

// rateKey is the store key of userID's count; the store adds its own
// "coldtransfer:" prefix.
func rateKey(userID string) string { return "rate:" + userID }
