// Package authz decides who may transfer calls, and where.
//
// Transferring a live call is a privileged act, so the answer must hold when
// Slack is slow or failing: a user allowed by id never waits on Slack, and a
// user who could only be allowed through a group that cannot be looked up is
// refused (fail closed). Group members are cached for at most 60 seconds.
package authz

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// GroupSource lists the members (user ids) of a Slack user group, as
// usergroups.users.list does. It must honour ctx.
type GroupSource interface {
	GroupMembers(ctx context.Context, groupID string) ([]string, error)
}

const (
	// maxTTL is how long group members may be used after Slack was asked:
	// a user removed from a group loses the right within a minute.
	maxTTL = 60 * time.Second

	// lookupTimeout bounds one shared group lookup. The lookup outlives the
	// callers waiting on it, so it needs a deadline of its own.
	lookupTimeout = 10 * time.Second

	// forgetAfter is how long a group nobody asked about stays refreshed
	// ahead (see Run).
	forgetAfter = 10 * time.Minute

	// maxRefreshed bounds the groups Run keeps fresh: the policy's and the
	// directory's who lists name a few dozen at most.
	maxRefreshed = 256
)

// Authorizer decides requests against a Policy. It is safe for concurrent
// use.
type Authorizer struct {
	users    set
	groups   []string // in policy order
	channels set      // nil: any channel
	source   GroupSource
	now      func() time.Time
	ttl      time.Duration

	// cacheOnly: answer from the cache, never ask Slack (see CacheOnly).
	cacheOnly bool
	// cache is shared by an Authorizer and its CacheOnly view.
	cache *groupCache
}

// groupCache holds the groups' members, the lookups in flight, and when
// each group was last asked about, for Run.
type groupCache struct {
	mu       sync.Mutex
	members  map[string]cachedMembers // by group id; only successful lookups
	inflight map[string]*lookup       // by group id
	used     map[string]time.Time     // by group id: last asked about
}

// CacheOnly returns a view of a that answers from what it knows now and
// never asks Slack: a group not cached counts as not having the user, and
// a refusal that only a lookup could change says so (DeniedLookup). It is
// for answers that must not wait on the network: a slash command's ack, a
// form that must open within Slack's 3 s. It shares a's cache.
func (a *Authorizer) CacheOnly() *Authorizer {
	v := *a
	v.cacheOnly = true
	return &v
}

// set is a set of Slack ids.
type set map[string]struct{}

func setOf(ids []string) set {
	s := make(set, len(ids))
	for _, id := range ids {
		s[id] = struct{}{}
	}
	return s
}

func (s set) has(id string) bool {
	_, ok := s[id]
	return ok
}

// cachedMembers is a group's member set and when it was asked for.
type cachedMembers struct {
	set     set
	fetched time.Time
}

// lookup is one group lookup in flight, shared by every caller that wants
// the group before it completes. set and err are written before done is
// closed, and only read after.
type lookup struct {
	done chan struct{}
	set  set
	err  error
}

// Option configures an Authorizer in New.
type Option func(*Authorizer)

// WithClock makes the Authorizer read the time from now instead of
// time.Now, for tests. now must be safe for concurrent use.
func WithClock(now func() time.Time) Option {
	return func(a *Authorizer) { a.now = now }
}

// WithTTL sets how long a group's members are cached. The default, and the
// maximum, is 60 seconds: larger values are capped. Zero or less
// disables the cache, though concurrent decisions still share one lookup.
func WithTTL(d time.Duration) Option {
	return func(a *Authorizer) { a.ttl = min(max(d, 0), maxTTL) }
}

// New returns an Authorizer for p that looks up group members with groups.
// It copies p, so later changes to p do not affect it. When groups is nil,
// every group lookup fails, and only users allowed by id are allowed.
func New(p Policy, groups GroupSource, opts ...Option) *Authorizer {
	if groups == nil {
		groups = noGroupSource{}
	}
	a := &Authorizer{
		users:  setOf(p.Users),
		groups: slices.Clone(p.Groups),
		source: groups,
		now:    time.Now,
		ttl:    maxTTL,
		cache: &groupCache{
			members:  make(map[string]cachedMembers),
			inflight: make(map[string]*lookup),
			used:     make(map[string]time.Time),
		},
	}
	if len(p.Channels) > 0 {
		a.channels = setOf(p.Channels)
	}
	for _, opt := range opts {
		opt(a)
	}
	return a
}

// Decision is the answer to one request, with its reason for the audit log.
type Decision struct {
	Allowed bool
	Denial  Denial // why not, when !Allowed
	// Reason is a stable sentence for the log, e.g. "user U123 allowed by
	// id", "user U123 in group S456", "channel C9 not allowed", "user U123
	// not allowed by id or in any allowed group" or "group lookup failed:
	// S456: <error>".
	Reason string
	// Destination is which rule of the destination policy refused the
	// request, when Denial is DeniedDestination; nil otherwise. A pointer
	// keeps Decision comparable with ==.
	Destination *DestinationRefusal
}

// Denial is why a request was refused.
type Denial int

// The reasons for a refusal.
const (
	NotDenied     Denial = iota // the request is allowed
	DeniedChannel               // the channel is not in TRANSFER_ALLOWED_CHANNELS
	DeniedUser                  // not allowed by id, and not a member of any allowed group
	DeniedLookup                // not allowed by id, and at least one group could not be checked (fail closed)
)

// String returns d for logs: "", "channel", "user" or "lookup_failed".
func (d Denial) String() string {
	switch d {
	case NotDenied:
		return ""
	case DeniedChannel:
		return "channel"
	case DeniedUser:
		return "user"
	case DeniedLookup:
		return "lookup_failed"
	case DeniedDestination:
		return "destination"
	}
	return fmt.Sprintf("Denial(%d)", int(d))
}

// Decide reports whether userID may transfer in channelID.
//
// The channel is checked first, then the user's id, which needs no call to
// Slack, then the allowed groups in policy order, stopping at the first that
// has the user. Decide never returns an error: a group that cannot be looked
// up, including because ctx ended first, counts as not having the user, and
// a user no other rule allows is then refused with DeniedLookup and the
// failure in the reason.
//
// Lookups of the same group are shared: while one is in flight, other
// decisions wait for it instead of asking Slack again. A caller that stops
// waiting does not cancel the lookup for the others; it runs for at most 10
// seconds.
func (a *Authorizer) Decide(ctx context.Context, userID, channelID string) Decision {
	if a.channels != nil && !a.channels.has(channelID) {
		return denied(DeniedChannel, "channel %s not allowed", channelID)
	}
	if a.users.has(userID) {
		return Decision{Allowed: true, Reason: fmt.Sprintf("user %s allowed by id", userID)}
	}
	var failed []string
	for _, group := range a.groups {
		m, err := a.members(ctx, group)
		if err != nil {
			failed = append(failed, group+": "+err.Error())
			continue
		}
		if m.has(userID) {
			return Decision{Allowed: true, Reason: fmt.Sprintf("user %s in group %s", userID, group)}
		}
	}
	if len(failed) > 0 {
		return denied(DeniedLookup, "group lookup failed: %s", strings.Join(failed, "; "))
	}
	return denied(DeniedUser, "user %s not allowed by id or in any allowed group", userID)
}

func denied(d Denial, format string, args ...any) Decision {
	return Decision{Denial: d, Reason: fmt.Sprintf(format, args...)}
}

// errNotCached is a group's lookup that a CacheOnly view did not make.
var errNotCached = errors.New("not looked up yet")

// members returns the member set of group, from the cache while it is
// fresh, else from the lookup in flight, else from a new lookup. It stops
// waiting when ctx ends. A CacheOnly view answers from the cache alone and
// starts no lookup.
func (a *Authorizer) members(ctx context.Context, group string) (set, error) {
	now := a.now()
	c := a.cache

	c.mu.Lock()
	c.used[group] = now
	if m, ok := c.members[group]; ok && fresh(m.fetched, now, a.ttl) {
		c.mu.Unlock()
		return m.set, nil
	}
	if a.cacheOnly {
		// Not even a lookup in the background: a cache-only answer is
		// made on the ack path, where no Web API call may come first.
		c.mu.Unlock()
		return nil, errNotCached
	}
	l, ok := c.inflight[group]
	if !ok {
		if err := ctx.Err(); err != nil {
			// Nobody would wait for the answer.
			c.mu.Unlock()
			return nil, err
		}
		l = a.startLookupLocked(ctx, group, now)
	}
	c.mu.Unlock()

	select {
	case <-l.done:
		return l.set, l.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// startLookupLocked starts the shared lookup of group; c.mu is held.
func (a *Authorizer) startLookupLocked(ctx context.Context, group string, now time.Time) *lookup {
	l := &lookup{done: make(chan struct{})}
	a.cache.inflight[group] = l
	// The lookup is shared, so one caller giving up must not cancel it
	// for the others; it keeps ctx's values, and gets its own deadline.
	go a.fetch(context.WithoutCancel(ctx), group, now, l)
	return l
}

// fetch runs l, the lookup of group started at the time started, caches
// its result when it succeeds, and wakes its waiters.
func (a *Authorizer) fetch(ctx context.Context, group string, started time.Time, l *lookup) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()

	ids, err := a.source.GroupMembers(ctx, group)
	if err != nil {
		l.err = err
	} else {
		l.set = setOf(ids)
	}

	c := a.cache
	c.mu.Lock()
	delete(c.inflight, group)
	// Failures are not cached: the last good answer stays, within its
	// TTL, and the next decision past it asks Slack again.
	if err == nil {
		// The members are as old as the request for them, not its answer,
		// so they are never served for longer than the TTL after Slack
		// was asked.
		c.members[group] = cachedMembers{set: l.set, fetched: started}
	}
	c.mu.Unlock()
	close(l.done)
}

// Run keeps the members of every group asked about in the last 10 minutes
// fresh ahead of their expiry, so that no request waits on
// usergroups.users.list once a group has been seen: every refreshEvery it
// looks up, one at a time, each such group whose members are older than
// half their TTL (at most 256 groups). A lookup that fails leaves the last
// good members in use until their TTL runs out, then requests fail closed
// as without Run. It returns when ctx ends.
func (a *Authorizer) Run(ctx context.Context, refreshEvery time.Duration) {
	t := time.NewTicker(refreshEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, group := range a.dueForRefresh() {
			c := a.cache
			c.mu.Lock()
			l, busy := c.inflight[group]
			if !busy {
				l = a.startLookupLocked(context.Background(), group, a.now())
			}
			c.mu.Unlock()
			select {
			case <-l.done:
			case <-ctx.Done():
				return
			}
		}
	}
}

// dueForRefresh returns the groups asked about lately whose members are
// older than half their TTL, and forgets the groups nobody asked about.
func (a *Authorizer) dueForRefresh() []string {
	now := a.now()
	c := a.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	var due []string
	for group, used := range c.used {
		switch m, ok := c.members[group]; {
		case now.Sub(used) > forgetAfter:
			delete(c.used, group)
		case len(due) < maxRefreshed && !(ok && fresh(m.fetched, now, a.ttl/2)):
			due = append(due, group)
		}
	}
	return due
}

// fresh reports whether members fetched at the time fetched may still be
// used at the time now. A clock that went backwards makes them stale rather
// than fresh for longer than ttl.
func fresh(fetched, now time.Time, ttl time.Duration) bool {
	age := now.Sub(fetched)
	return age >= 0 && age < ttl
}

// noGroupSource is the GroupSource of an Authorizer made without one.
type noGroupSource struct{}

func (noGroupSource) GroupMembers(context.Context, string) ([]string, error) {
	return nil, errors.New("no group source configured")
}
