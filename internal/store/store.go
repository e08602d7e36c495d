// Package store holds what several replicas of the bot must agree on: the
// requests already taken (so a redelivery runs nothing twice), the calls
// being transferred (one transfer per call), how many transfers each
// requester started, and each requester's last transfers (their Home tab).
//
// Memory is the single-replica store; Redis shares the state between
// replicas; Fallback uses Redis while it answers and memory otherwise.
// Every operation is atomic on its own. The same contract test runs against
// each of them (contract_test.go).
package store

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// Store is the state shared by every replica of the bot.
type Store interface {
	// FirstSeen records key for ttl and reports whether it is new: false
	// means another request (on any replica) recorded it first.
	FirstSeen(ctx context.Context, key string, ttl time.Duration) (bool, error)

	// Claim takes key for holder for ttl, unless another holder has it; a
	// holder claiming again renews its claim for ttl. It returns the holder
	// in force afterwards: holder itself when ok. holder must be well
	// formed (a token, a Slack user id, a channel id); a value of the
	// shared store that is not, or that never expires, is stale and taken
	// over.
	Claim(ctx context.Context, key string, holder Holder, ttl time.Duration) (current Holder, ok bool, err error)

	// Release gives up holder's claim on key after the delay keep (0: at
	// once). A claim another holder took is left alone; one that lapsed
	// (nobody holds key) is taken again for keep, since the transfer it
	// guarded may have moved the call.
	Release(ctx context.Context, key string, holder Holder, keep time.Duration) error

	// Take counts one event against key in the fixed window of length
	// window that holds now. Past limit events it counts nothing, says no
	// and how long until the window ends. Windows are aligned on the Unix
	// epoch (a 1-minute window starts on the minute). A limit of 0 or less
	// refuses everything: a caller turns a rate off by not calling Take.
	Take(ctx context.Context, key string, limit int, window time.Duration) (ok bool, retryAfter time.Duration, err error)

	// Untake gives back an event that Take counted in the current window,
	// for a request refused by a later check. It never takes a count below
	// zero; call it right after the refusal, since in a new window it would
	// give back an event of that window instead.
	Untake(ctx context.Context, key string, window time.Duration) error

	// Remember puts t first in the recent transfers of userID (a Slack user
	// id), keeps the keep newest (at most MaxRecentKeep) and makes the
	// whole list expire ttl after this write. Strings longer than
	// MaxRecentField are cut; a zero At is now. The list is a record for
	// people to read, not a lock: while Redis fails, the Fallback store
	// keeps it in memory.
	Remember(ctx context.Context, userID string, t Recent, keep int, ttl time.Duration) error

	// Recent returns up to n of the recent transfers of userID, newest
	// first; none once the list expired. An entry that cannot be read (a
	// value another program wrote) is skipped, never an error for the
	// whole list.
	Recent(ctx context.Context, userID string, n int) ([]Recent, error)
}

// Holder is who holds a claim: a request, by a token unique to it, and
// where it came from, to tell a second requester.
type Holder struct {
	Token   string // unique per request; only it may release the claim
	User    string // Slack user id of the requester
	Channel string // Slack channel id where the transfer was asked for
}

// fixedWindow returns the start and end of the window of length window
// that holds now. Windows are aligned on the Unix epoch, so that every
// replica agrees on them (up to their clocks' skew).
func fixedWindow(now time.Time, window time.Duration) (start, end time.Time) {
	start = now.Truncate(window)
	return start, start.Add(window)
}

// windowKey is the counter of key in the window that starts at start.
func windowKey(key string, start time.Time) string {
	return key + "@" + strconv.FormatInt(start.UnixMilli(), 10)
}

var errBadWindow = errors.New("store: a rate window must be longer than 0")
