// Package store holds what several replicas of the bot must agree on
// (SPEC §14): the requests already taken (so a redelivery runs nothing
// twice), the calls being transferred (one transfer per call, §13.2) and
// how many transfers each requester started (§13.3).
//
// Memory is the single-replica store; Redis shares the state between
// replicas. Every operation is atomic on its own.
package store

import (
	"context"
	"time"
)

// Store is the state shared by every replica of the bot.
type Store interface {
	// FirstSeen records key for ttl and reports whether it is new: false
	// means another request (on any replica) recorded it first.
	FirstSeen(ctx context.Context, key string, ttl time.Duration) (bool, error)

	// Claim takes key for holder for ttl, unless another holder has it. It
	// returns the holder in force afterwards: holder itself when ok.
	Claim(ctx context.Context, key string, holder Holder, ttl time.Duration) (current Holder, ok bool, err error)

	// Release gives up holder's claim on key after the delay keep (0: at
	// once). A claim that holder no longer holds is left alone.
	Release(ctx context.Context, key string, holder Holder, keep time.Duration) error

	// Take counts one event against key in the fixed window of length
	// window that holds now. Past limit events it counts nothing, says no
	// and how long until the window ends.
	Take(ctx context.Context, key string, limit int, window time.Duration) (ok bool, retryAfter time.Duration, err error)

	// Untake gives back an event that Take counted in the current window,
	// for a request refused by a later check.
	Untake(ctx context.Context, key string, window time.Duration) error
}

// Holder is who holds a claim: a request, by a token unique to it, and
// where it came from, to tell a second requester.
type Holder struct {
	Token   string // unique per request; only it may release the claim
	User    string // Slack user id of the requester
	Channel string // Slack channel id where the transfer was asked for
}
