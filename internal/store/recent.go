package store

import (
	"container/list"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// Recent is one transfer as its requester's Home tab lists it. Every field
// is a short string the bot wrote (an id, a number or a directory name, a
// mark): never a secret, since any replica, and anyone who can read the
// shared store, sees it.
type Recent struct {
	At          time.Time // when the transfer was asked for
	Channel     string    // Slack channel id of the thread
	ThreadTS    string    // ts of the transfer's thread parent, for its link
	Destination string    // where the call went: a number or a directory name
	Agent       string    // the agent on the call (trigger source)
	Outcome     string    // the mark the thread got (✅, ❌, …)
	Action      string    // cold, warm, abort…
}

// MaxRecentField is the most bytes a Recent's string field keeps: longer
// values are cut (at a character boundary), so that one entry stays small
// in memory and on Redis.
const MaxRecentField = 128

// MaxRecentKeep is the most transfers a user's list keeps, whatever the
// caller's keep.
const MaxRecentKeep = 100

var (
	errBadRecentUser = errors.New("store: recent transfers are kept per Slack user id (U…/W…)")
	errBadRecentKeep = errors.New("store: recent transfers need a keep of 1 or more and a TTL longer than 0")
)

// checkRemember validates Remember's arguments and returns the entry as
// every store keeps it, with keep bounded by MaxRecentKeep. A zero At
// becomes now.
func checkRemember(now time.Time, userID string, t Recent, keep int, ttl time.Duration) (Recent, int, error) {
	if !isUserID(userID) {
		return Recent{}, 0, errBadRecentUser
	}
	if keep < 1 || ttl <= 0 {
		return Recent{}, 0, errBadRecentKeep
	}
	if t.At.IsZero() {
		t.At = now
	}
	return t.normal(), min(keep, MaxRecentKeep), nil
}

// normal is r as every store returns it: At to the millisecond in local
// time (what the Redis encoding keeps), each string cut to MaxRecentField.
func (r Recent) normal() Recent {
	r.At = time.UnixMilli(r.At.UnixMilli())
	for _, f := range []*string{&r.Channel, &r.ThreadTS, &r.Destination, &r.Agent, &r.Outcome, &r.Action} {
		*f = clipField(*f)
	}
	return r
}

// clipField cuts s to MaxRecentField bytes without splitting a character.
func clipField(s string) string {
	if len(s) <= MaxRecentField {
		return s
	}
	s = s[:MaxRecentField]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// isUserID reports whether s is a Slack user id: U or W, then upper-case
// letters and digits. It is part of a Redis key, so nothing else may be.
func isUserID(s string) bool {
	return len(s) > 1 && strings.ContainsRune("UW", rune(s[0])) && isWord(s[1:], "", true)
}

// recentWire is a Recent as the Redis store keeps it: one JSON value per
// transfer, with short names, the time in Unix milliseconds.
type recentWire struct {
	At          int64  `json:"at"`
	Channel     string `json:"ch,omitempty"`
	ThreadTS    string `json:"ts,omitempty"`
	Destination string `json:"to,omitempty"`
	Agent       string `json:"ag,omitempty"`
	Outcome     string `json:"out,omitempty"`
	Action      string `json:"act,omitempty"`
}

func encodeRecent(r Recent) (string, error) {
	b, err := json.Marshal(recentWire{
		At: r.At.UnixMilli(), Channel: r.Channel, ThreadTS: r.ThreadTS,
		Destination: r.Destination, Agent: r.Agent, Outcome: r.Outcome, Action: r.Action,
	})
	return string(b), err
}

// decodeRecent reads a value encodeRecent wrote; ok is false for anything
// else (another program's value, a truncated one), which the reader skips.
func decodeRecent(v string) (r Recent, ok bool) {
	var w recentWire
	if json.Unmarshal([]byte(v), &w) != nil || w.At <= 0 {
		return Recent{}, false
	}
	return Recent{
		At: time.UnixMilli(w.At), Channel: w.Channel, ThreadTS: w.ThreadTS,
		Destination: w.Destination, Agent: w.Agent, Outcome: w.Outcome, Action: w.Action,
	}.normal(), true
}

// recentLRU keeps the recent transfers of at most max users: past it, the
// user least recently written or read goes first, whatever the TTL of
// their list. Not safe for concurrent use.
type recentLRU struct {
	max   int
	order *list.List               // of *recentList, most recently used first
	users map[string]*list.Element // user id → its element in order
}

type recentList struct {
	user    string
	entries []Recent // newest first
	exp     time.Time
}

func newRecentLRU(max int) recentLRU {
	return recentLRU{max: max, order: list.New(), users: make(map[string]*list.Element)}
}

// push puts r first in user's list, keeps keep entries, and makes the
// whole list expire ttl from now.
func (l *recentLRU) push(now time.Time, user string, r Recent, keep int, ttl time.Duration) {
	var rl *recentList
	if el, ok := l.users[user]; ok {
		rl = el.Value.(*recentList)
		if !now.Before(rl.exp) {
			rl.entries = rl.entries[:0]
		}
		l.order.MoveToFront(el)
	} else {
		rl = &recentList{user: user}
		l.users[user] = l.order.PushFront(rl)
	}
	n := min(len(rl.entries)+1, keep)
	entries := make([]Recent, n)
	entries[0] = r
	copy(entries[1:], rl.entries)
	rl.entries, rl.exp = entries, now.Add(ttl)
	for l.order.Len() > l.max {
		l.remove(l.order.Back())
	}
}

// get returns up to n of user's live entries, newest first.
func (l *recentLRU) get(now time.Time, user string, n int) []Recent {
	el, ok := l.users[user]
	if !ok {
		return nil
	}
	rl := el.Value.(*recentList)
	if !now.Before(rl.exp) {
		l.remove(el)
		return nil
	}
	l.order.MoveToFront(el)
	return append([]Recent(nil), rl.entries[:min(n, len(rl.entries))]...)
}

func (l *recentLRU) remove(el *list.Element) {
	delete(l.users, el.Value.(*recentList).user)
	l.order.Remove(el)
}
