package authz_test

import (
	"context"
	"errors"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/authz"
)

var parsePolicyTests = []struct {
	name                    string
	users, groups, channels string
	want                    authz.Policy
	wantErrs                []string // one line per problem, in order
}{
	// Valid.
	{
		name:  "users only",
		users: "U123ABC",
		want:  authz.Policy{Users: []string{"U123ABC"}},
	},
	{
		name:  "enterprise user id",
		users: "W0123456789",
		want:  authz.Policy{Users: []string{"W0123456789"}},
	},
	{
		name:   "groups only",
		groups: "S0614TZR7",
		want:   authz.Policy{Groups: []string{"S0614TZR7"}},
	},
	{
		name:   "users and groups",
		users:  "U123ABC,W456DEF",
		groups: "S0614TZR7,S0AB",
		want:   authz.Policy{Users: []string{"U123ABC", "W456DEF"}, Groups: []string{"S0614TZR7", "S0AB"}},
	},
	{
		name:     "public, private and direct channels",
		users:    "U123ABC",
		channels: "C0123,G0456,D0789",
		want:     authz.Policy{Users: []string{"U123ABC"}, Channels: []string{"C0123", "G0456", "D0789"}},
	},
	{
		name:     "whitespace around items",
		users:    " U123ABC ,\tW456DEF ",
		groups:   "  S0AB",
		channels: "C0123 , G0456\n",
		want:     authz.Policy{Users: []string{"U123ABC", "W456DEF"}, Groups: []string{"S0AB"}, Channels: []string{"C0123", "G0456"}},
	},
	{
		name:     "only whitespace is unset",
		users:    " ",
		groups:   "S0AB",
		channels: "\t",
		want:     authz.Policy{Groups: []string{"S0AB"}},
	},
	{
		name:     "duplicates dropped, first kept",
		users:    "U2BB,U1AA,U2BB, U1AA",
		groups:   "S0AB,S0AB",
		channels: "C0123,C0123",
		want:     authz.Policy{Users: []string{"U2BB", "U1AA"}, Groups: []string{"S0AB"}, Channels: []string{"C0123"}},
	},
	{
		name:  "shortest and longest ids",
		users: "U12,U" + strings.Repeat("9", 30),
		want:  authz.Policy{Users: []string{"U12", "U" + strings.Repeat("9", 30)}},
	},

	// One problem.
	{
		name:     "empty item",
		users:    "U1AA,,U2BB",
		wantErrs: []string{"TRANSFER_ALLOWED_USERS: item 2 is empty"},
	},
	{
		name:     "trailing comma",
		groups:   "S0AB,",
		wantErrs: []string{"TRANSFER_ALLOWED_GROUPS: item 2 is empty"},
	},
	{
		name:     "leading comma in channels",
		users:    "U1AA",
		channels: ",C0123",
		wantErrs: []string{"TRANSFER_ALLOWED_CHANNELS: item 1 is empty"},
	},
	{
		name:     "blank item between commas",
		users:    "U1AA, ,U2BB",
		wantErrs: []string{"TRANSFER_ALLOWED_USERS: item 2 is empty"},
	},
	{
		name:     "group id as a user",
		users:    "S0614TZR7",
		wantErrs: []string{`TRANSFER_ALLOWED_USERS: "S0614TZR7" is not a user id (U… or W…)`},
	},
	{
		name:     "user id as a group",
		groups:   "U123ABC",
		wantErrs: []string{`TRANSFER_ALLOWED_GROUPS: "U123ABC" is not a user-group id (S…)`},
	},
	{
		name:     "user id as a channel",
		users:    "U123ABC",
		channels: "U123ABC",
		wantErrs: []string{`TRANSFER_ALLOWED_CHANNELS: "U123ABC" is not a channel id (C…, G… or D…)`},
	},
	{
		name:     "name instead of id",
		users:    "alice",
		wantErrs: []string{`TRANSFER_ALLOWED_USERS: "alice" is not a user id (U… or W…)`},
	},
	{
		name:     "name that starts like an id",
		users:    "william",
		wantErrs: []string{`TRANSFER_ALLOWED_USERS: "william" is not a user id (U… or W…)`},
	},
	{
		name:     "mention instead of id",
		users:    "<@U123ABC>",
		wantErrs: []string{`TRANSFER_ALLOWED_USERS: "<@U123ABC>" is not a user id (U… or W…)`},
	},
	{
		name:     "channel name instead of id",
		users:    "U123ABC",
		channels: "#support",
		wantErrs: []string{`TRANSFER_ALLOWED_CHANNELS: "#support" is not a channel id (C…, G… or D…)`},
	},
	{
		name:     "lower-case user",
		users:    "u123abc",
		wantErrs: []string{`TRANSFER_ALLOWED_USERS: "u123abc" has lower-case letters: Slack ids are upper-case ("U123ABC")`},
	},
	{
		name:     "mixed-case group",
		groups:   "S06abC",
		wantErrs: []string{`TRANSFER_ALLOWED_GROUPS: "S06abC" has lower-case letters: Slack ids are upper-case ("S06ABC")`},
	},
	{
		name:     "lower-case channel",
		users:    "U123ABC",
		channels: "c0123",
		wantErrs: []string{`TRANSFER_ALLOWED_CHANNELS: "c0123" has lower-case letters: Slack ids are upper-case ("C0123")`},
	},
	{
		name:     "too short",
		users:    "U1",
		wantErrs: []string{`TRANSFER_ALLOWED_USERS: "U1" is too short: Slack ids have 3 to 31 characters`},
	},
	{
		name:     "too long",
		groups:   "S" + strings.Repeat("0", 31),
		wantErrs: []string{"TRANSFER_ALLOWED_GROUPS: item 1 is too long (32 characters): Slack ids have 3 to 31 characters"},
	},
	{
		name:     "punctuation",
		users:    "U123-ABC",
		wantErrs: []string{`TRANSFER_ALLOWED_USERS: "U123-ABC" contains '-': Slack ids have only letters A–Z and digits`},
	},
	{
		name:     "non-ASCII letter",
		users:    "U123ÄBC",
		wantErrs: []string{`TRANSFER_ALLOWED_USERS: "U123ÄBC" contains 'Ä': Slack ids have only letters A–Z and digits`},
	},
	{
		// A long item is named by its position: it may be a secret.
		name:     "token pasted on the wrong line",
		users:    "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx",
		wantErrs: []string{"TRANSFER_ALLOWED_USERS: item 1 is not a user id (U… or W…)"},
	},
	{
		name:     "neither users nor groups",
		channels: "C0123",
		wantErrs: []string{"TRANSFER_ALLOWED_USERS or TRANSFER_ALLOWED_GROUPS must be set: the bot never starts open to everyone"},
	},
	{
		name:     "nothing set",
		wantErrs: []string{"TRANSFER_ALLOWED_USERS or TRANSFER_ALLOWED_GROUPS must be set: the bot never starts open to everyone"},
	},
	{
		// Users is set, though wrong: the one error says what is wrong with it.
		name:     "invalid users, groups unset",
		users:    "alice",
		wantErrs: []string{`TRANSFER_ALLOWED_USERS: "alice" is not a user id (U… or W…)`},
	},

	// Several problems.
	{
		name:  "only commas",
		users: ",",
		wantErrs: []string{
			"TRANSFER_ALLOWED_USERS: item 1 is empty",
			"TRANSFER_ALLOWED_USERS: item 2 is empty",
		},
	},
	{
		name:     "every variable wrong",
		users:    "u1aa,,S0AB,U123ABC",
		groups:   "U123ABC,",
		channels: "C0123,X0456",
		wantErrs: []string{
			`TRANSFER_ALLOWED_USERS: "u1aa" has lower-case letters: Slack ids are upper-case ("U1AA")`,
			"TRANSFER_ALLOWED_USERS: item 2 is empty",
			`TRANSFER_ALLOWED_USERS: "S0AB" is not a user id (U… or W…)`,
			`TRANSFER_ALLOWED_GROUPS: "U123ABC" is not a user-group id (S…)`,
			"TRANSFER_ALLOWED_GROUPS: item 2 is empty",
			`TRANSFER_ALLOWED_CHANNELS: "X0456" is not a channel id (C…, G… or D…)`,
		},
	},
	{
		name:     "bad channels and nothing allowed",
		channels: "C0123,,general",
		wantErrs: []string{
			"TRANSFER_ALLOWED_CHANNELS: item 2 is empty",
			`TRANSFER_ALLOWED_CHANNELS: "general" is not a channel id (C…, G… or D…)`,
			"TRANSFER_ALLOWED_USERS or TRANSFER_ALLOWED_GROUPS must be set: the bot never starts open to everyone",
		},
	},
}

func TestParsePolicy(t *testing.T) {
	for _, tt := range parsePolicyTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := authz.ParsePolicy(tt.users, tt.groups, tt.channels)
			if gotErrs := errorLines(t, err); !slices.Equal(gotErrs, tt.wantErrs) {
				t.Errorf("ParsePolicy(%q, %q, %q) errors:\n  %s\nwant:\n  %s",
					tt.users, tt.groups, tt.channels, strings.Join(gotErrs, "\n  "), strings.Join(tt.wantErrs, "\n  "))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParsePolicy(%q, %q, %q) = %#v, want %#v", tt.users, tt.groups, tt.channels, got, tt.want)
			}
		})
	}
}

// errorLines returns the messages of the errors joined in err, failing the
// test when err is not an errors.Join: each problem must be its own error.
func errorLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %q is not an errors.Join of one error per problem", err)
	}
	var lines []string
	for _, e := range joined.Unwrap() {
		lines = append(lines, e.Error())
	}
	return lines
}

var (
	userID    = regexp.MustCompile(`^[UW][A-Z0-9]{2,30}$`)
	groupID   = regexp.MustCompile(`^S[A-Z0-9]{2,30}$`)
	channelID = regexp.MustCompile(`^[CGD][A-Z0-9]{2,30}$`)
)

func FuzzParsePolicy(f *testing.F) {
	for _, tt := range parsePolicyTests {
		f.Add(tt.users, tt.groups, tt.channels)
	}
	f.Fuzz(func(t *testing.T, users, groups, channels string) {
		p, err := authz.ParsePolicy(users, groups, channels)
		if err != nil {
			if !reflect.DeepEqual(p, authz.Policy{}) {
				t.Errorf("ParsePolicy returned %#v with an error, want the zero Policy", p)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "TRANSFER_ALLOWED_") {
					t.Errorf("error line %q does not name its variable", line)
				}
			}
			// Anything longer than a Slack id may be a secret on the wrong
			// line: it is named by its position, never quoted.
			for _, item := range strings.Split(users+","+groups+","+channels, ",") {
				if item = strings.TrimSpace(item); len(item) > 31 && strings.Contains(err.Error(), strconv.Quote(item)) {
					t.Errorf("error %q echoes the %d-character item %q", err, len(item), item)
				}
			}
			return
		}
		if len(p.Users) == 0 && len(p.Groups) == 0 {
			t.Errorf("ParsePolicy(%q, %q, %q) = %#v: allows nobody, yet no error", users, groups, channels, p)
		}
		for _, v := range []struct {
			name string
			ids  []string
			re   *regexp.Regexp
		}{
			{"Users", p.Users, userID},
			{"Groups", p.Groups, groupID},
			{"Channels", p.Channels, channelID},
		} {
			seen := map[string]bool{}
			for _, id := range v.ids {
				if !v.re.MatchString(id) {
					t.Errorf("%s has %q, which does not match %s", v.name, id, v.re)
				}
				if seen[id] {
					t.Errorf("%s has %q twice", v.name, id)
				}
				seen[id] = true
			}
		}
		again, err := authz.ParsePolicy(strings.Join(p.Users, ","), strings.Join(p.Groups, ","), strings.Join(p.Channels, ","))
		if err != nil || !reflect.DeepEqual(again, p) {
			t.Errorf("parsing %#v again = %#v, %v; want the same policy", p, again, err)
		}
	})
}

func TestDenialString(t *testing.T) {
	tests := []struct {
		name string
		d    authz.Denial
		want string
	}{
		{"not denied", authz.NotDenied, ""},
		{"channel", authz.DeniedChannel, "channel"},
		{"user", authz.DeniedUser, "user"},
		{"lookup", authz.DeniedLookup, "lookup_failed"},
		{"unknown", authz.Denial(42), "Denial(42)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.String(); got != tt.want {
				t.Errorf("Denial(%d).String() = %q, want %q", int(tt.d), got, tt.want)
			}
		})
	}
}

// fakeGroups is a GroupSource with members per group. It counts its calls
// per group, fails the groups it is told to, and, once blocked, holds every
// call until released or until the call's context ends.
type fakeGroups struct {
	mu      sync.Mutex
	members map[string][]string
	errs    map[string]error
	calls   map[string]int
	ctxs    []context.Context // of every call, in order
	entered chan string       // receives the group of every call
	release chan struct{}     // when not nil, calls wait until it is closed
}

func newFakeGroups(members map[string][]string) *fakeGroups {
	return &fakeGroups{
		members: members,
		errs:    make(map[string]error),
		calls:   make(map[string]int),
		entered: make(chan string, 1000),
	}
}

func (f *fakeGroups) GroupMembers(ctx context.Context, group string) ([]string, error) {
	f.mu.Lock()
	f.calls[group]++
	f.ctxs = append(f.ctxs, ctx)
	release := f.release
	f.mu.Unlock()

	f.entered <- group
	if release != nil {
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.errs[group]; err != nil {
		return nil, err
	}
	return slices.Clone(f.members[group]), nil
}

// block makes calls wait until the returned function is called.
func (f *fakeGroups) block() (release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.release = make(chan struct{})
	return sync.OnceFunc(func() { close(f.release) })
}

// fail makes calls for group return err, or succeed again when err is nil.
func (f *fakeGroups) fail(group string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[group] = err
}

func (f *fakeGroups) setMembers(group string, ids ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.members[group] = ids
}

func (f *fakeGroups) callsTo(group string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[group]
}

func (f *fakeGroups) allCalls() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.calls)
}

func (f *fakeGroups) lastContext() context.Context {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ctxs[len(f.ctxs)-1]
}

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 11, 25, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var (
	errRateLimited = errors.New("slack: ratelimited")
	errInternal    = errors.New("slack: internal_error")
)

// newTestGroups returns the groups of the Decide tests: S1 has U1 and U2, S2
// has U3, and SFAIL and SFAIL2 cannot be looked up.
func newTestGroups() *fakeGroups {
	f := newFakeGroups(map[string][]string{
		"S1": {"U1", "U2"},
		"S2": {"U3"},
	})
	f.fail("SFAIL", errRateLimited)
	f.fail("SFAIL2", errInternal)
	return f
}

func TestDecide(t *testing.T) {
	tests := []struct {
		name      string
		policy    authz.Policy
		noSource  bool // New gets a nil GroupSource
		cancelled bool // Decide gets a cancelled context
		user      string
		channel   string
		want      authz.Decision
		wantCalls map[string]int // GroupMembers calls per group
	}{
		{
			name:    "allowed by id",
			policy:  authz.Policy{Users: []string{"U9", "U8"}, Groups: []string{"S1"}},
			user:    "U8",
			channel: "C1",
			want:    authz.Decision{Allowed: true, Reason: "user U8 allowed by id"},
		},
		{
			name:      "allowed by group",
			policy:    authz.Policy{Users: []string{"U9"}, Groups: []string{"S1"}},
			user:      "U2",
			channel:   "C1",
			want:      authz.Decision{Allowed: true, Reason: "user U2 in group S1"},
			wantCalls: map[string]int{"S1": 1},
		},
		{
			name:      "first group that has the user allows, later groups are not asked",
			policy:    authz.Policy{Groups: []string{"S1", "S2"}},
			user:      "U1",
			channel:   "C1",
			want:      authz.Decision{Allowed: true, Reason: "user U1 in group S1"},
			wantCalls: map[string]int{"S1": 1},
		},
		{
			name:      "allowed by a later group",
			policy:    authz.Policy{Groups: []string{"S1", "S2"}},
			user:      "U3",
			channel:   "C1",
			want:      authz.Decision{Allowed: true, Reason: "user U3 in group S2"},
			wantCalls: map[string]int{"S1": 1, "S2": 1},
		},
		{
			name:    "allowed by id while groups fail, without asking Slack",
			policy:  authz.Policy{Users: []string{"U9"}, Groups: []string{"SFAIL"}},
			user:    "U9",
			channel: "C1",
			want:    authz.Decision{Allowed: true, Reason: "user U9 allowed by id"},
		},
		{
			name:      "not allowed by id or in any group",
			policy:    authz.Policy{Users: []string{"U9"}, Groups: []string{"S1", "S2"}},
			user:      "U7",
			channel:   "C1",
			want:      authz.Decision{Denial: authz.DeniedUser, Reason: "user U7 not allowed by id or in any allowed group"},
			wantCalls: map[string]int{"S1": 1, "S2": 1},
		},
		{
			name:    "no groups in the policy",
			policy:  authz.Policy{Users: []string{"U9"}},
			user:    "U1",
			channel: "C1",
			want:    authz.Decision{Denial: authz.DeniedUser, Reason: "user U1 not allowed by id or in any allowed group"},
		},
		{
			name:      "group lookup fails",
			policy:    authz.Policy{Users: []string{"U9"}, Groups: []string{"SFAIL"}},
			user:      "U1",
			channel:   "C1",
			want:      authz.Decision{Denial: authz.DeniedLookup, Reason: "group lookup failed: SFAIL: slack: ratelimited"},
			wantCalls: map[string]int{"SFAIL": 1},
		},
		{
			name:      "every failure in the reason",
			policy:    authz.Policy{Groups: []string{"SFAIL", "S1", "SFAIL2"}},
			user:      "U7",
			channel:   "C1",
			want:      authz.Decision{Denial: authz.DeniedLookup, Reason: "group lookup failed: SFAIL: slack: ratelimited; SFAIL2: slack: internal_error"},
			wantCalls: map[string]int{"SFAIL": 1, "S1": 1, "SFAIL2": 1},
		},
		{
			name:      "one group fails, user in the other",
			policy:    authz.Policy{Groups: []string{"SFAIL", "S2"}},
			user:      "U3",
			channel:   "C1",
			want:      authz.Decision{Allowed: true, Reason: "user U3 in group S2"},
			wantCalls: map[string]int{"SFAIL": 1, "S2": 1},
		},
		{
			name:      "one group fails, user in neither",
			policy:    authz.Policy{Groups: []string{"S2", "SFAIL"}},
			user:      "U1",
			channel:   "C1",
			want:      authz.Decision{Denial: authz.DeniedLookup, Reason: "group lookup failed: SFAIL: slack: ratelimited"},
			wantCalls: map[string]int{"S2": 1, "SFAIL": 1},
		},
		{
			name:    "channel not allowed, even for a user allowed by id",
			policy:  authz.Policy{Users: []string{"U9"}, Groups: []string{"S1"}, Channels: []string{"C1", "G2"}},
			user:    "U9",
			channel: "C3",
			want:    authz.Decision{Denial: authz.DeniedChannel, Reason: "channel C3 not allowed"},
		},
		{
			name:    "channel not allowed, before any group lookup",
			policy:  authz.Policy{Groups: []string{"S1"}, Channels: []string{"C1"}},
			user:    "U1",
			channel: "D4",
			want:    authz.Decision{Denial: authz.DeniedChannel, Reason: "channel D4 not allowed"},
		},
		{
			name:      "channel allowed",
			policy:    authz.Policy{Groups: []string{"S1"}, Channels: []string{"C1", "G2"}},
			user:      "U1",
			channel:   "G2",
			want:      authz.Decision{Allowed: true, Reason: "user U1 in group S1"},
			wantCalls: map[string]int{"S1": 1},
		},
		{
			name:    "any channel when none is listed",
			policy:  authz.Policy{Users: []string{"U9"}},
			user:    "U9",
			channel: "D0DIRECT",
			want:    authz.Decision{Allowed: true, Reason: "user U9 allowed by id"},
		},
		{
			name:      "cancelled context: allowed by id",
			policy:    authz.Policy{Users: []string{"U9"}, Groups: []string{"S1"}},
			cancelled: true,
			user:      "U9",
			channel:   "C1",
			want:      authz.Decision{Allowed: true, Reason: "user U9 allowed by id"},
		},
		{
			name:      "cancelled context: no lookup started, refused",
			policy:    authz.Policy{Groups: []string{"S1"}},
			cancelled: true,
			user:      "U1",
			channel:   "C1",
			want:      authz.Decision{Denial: authz.DeniedLookup, Reason: "group lookup failed: S1: context canceled"},
		},
		{
			name:     "no group source: allowed by id",
			policy:   authz.Policy{Users: []string{"U9"}, Groups: []string{"S1"}},
			noSource: true,
			user:     "U9",
			channel:  "C1",
			want:     authz.Decision{Allowed: true, Reason: "user U9 allowed by id"},
		},
		{
			name:     "no group source: groups fail closed",
			policy:   authz.Policy{Users: []string{"U9"}, Groups: []string{"S1"}},
			noSource: true,
			user:     "U1",
			channel:  "C1",
			want:     authz.Decision{Denial: authz.DeniedLookup, Reason: "group lookup failed: S1: no group source configured"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// In a bubble, so that synctest.Wait lets a lookup left running
			// in the background reach the fake before its calls are counted.
			synctest.Test(t, func(t *testing.T) {
				f := newTestGroups()
				var a *authz.Authorizer
				if tt.noSource {
					a = authz.New(tt.policy, nil)
				} else {
					a = authz.New(tt.policy, f)
				}
				ctx := t.Context()
				if tt.cancelled {
					c, cancel := context.WithCancel(ctx)
					cancel()
					ctx = c
				}

				if got := a.Decide(ctx, tt.user, tt.channel); got != tt.want {
					t.Errorf("Decide(%s, %s) = %+v, want %+v", tt.user, tt.channel, got, tt.want)
				}
				synctest.Wait()
				if got := f.allCalls(); !maps.Equal(got, tt.wantCalls) {
					t.Errorf("group lookups = %v, want %v", got, tt.wantCalls)
				}
			})
		})
	}
}

func TestNewCopiesPolicy(t *testing.T) {
	f := newTestGroups()
	p := authz.Policy{Users: []string{"U9"}, Groups: []string{"S1"}, Channels: []string{"C1"}}
	a := authz.New(p, f)
	p.Users[0], p.Groups[0], p.Channels[0] = "U7", "S2", "C2"

	tests := []struct {
		name          string
		user, channel string
		want          authz.Decision
	}{
		{"user", "U9", "C1", authz.Decision{Allowed: true, Reason: "user U9 allowed by id"}},
		{"group", "U3", "C1", authz.Decision{Denial: authz.DeniedUser, Reason: "user U3 not allowed by id or in any allowed group"}},
		{"channel", "U9", "C2", authz.Decision{Denial: authz.DeniedChannel, Reason: "channel C2 not allowed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := a.Decide(t.Context(), tt.user, tt.channel); got != tt.want {
				t.Errorf("after changing the policy given to New, Decide(%s, %s) = %+v, want %+v", tt.user, tt.channel, got, tt.want)
			}
		})
	}
}

func TestGroupCache(t *testing.T) {
	tests := []struct {
		name        string
		opts        []authz.Option
		advance     time.Duration
		wantRefetch bool
	}{
		{name: "same instant", wantRefetch: false},
		{name: "within the default TTL", advance: 59 * time.Second, wantRefetch: false},
		{name: "default TTL is 60s", advance: 60 * time.Second, wantRefetch: true},
		{name: "after the default TTL", advance: 61 * time.Second, wantRefetch: true},
		{name: "shorter TTL, within", opts: []authz.Option{authz.WithTTL(10 * time.Second)}, advance: 9 * time.Second, wantRefetch: false},
		{name: "shorter TTL, after", opts: []authz.Option{authz.WithTTL(10 * time.Second)}, advance: 11 * time.Second, wantRefetch: true},
		{name: "longer TTL capped, within 60s", opts: []authz.Option{authz.WithTTL(5 * time.Minute)}, advance: 59 * time.Second, wantRefetch: false},
		{name: "longer TTL capped at 60s", opts: []authz.Option{authz.WithTTL(5 * time.Minute)}, advance: 61 * time.Second, wantRefetch: true},
		{name: "zero TTL caches nothing", opts: []authz.Option{authz.WithTTL(0)}, wantRefetch: true},
		{name: "negative TTL caches nothing", opts: []authz.Option{authz.WithTTL(-time.Second)}, wantRefetch: true},
		{name: "clock stepped back", advance: -time.Second, wantRefetch: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGroups(map[string][]string{"S1": {"U1"}})
			clock := newFakeClock()
			a := authz.New(authz.Policy{Groups: []string{"S1"}}, f, append(tt.opts, authz.WithClock(clock.Now))...)

			allowed := authz.Decision{Allowed: true, Reason: "user U1 in group S1"}
			if got := a.Decide(t.Context(), "U1", "C1"); got != allowed {
				t.Fatalf("first Decide = %+v, want %+v", got, allowed)
			}
			// Removed from the group: only a new lookup can tell.
			f.setMembers("S1")
			clock.Advance(tt.advance)

			want, wantCalls := allowed, 1
			if tt.wantRefetch {
				want = authz.Decision{Denial: authz.DeniedUser, Reason: "user U1 not allowed by id or in any allowed group"}
				wantCalls = 2
			}
			if got := a.Decide(t.Context(), "U1", "C1"); got != want {
				t.Errorf("Decide %v later = %+v, want %+v", tt.advance, got, want)
			}
			if got := f.callsTo("S1"); got != wantCalls {
				t.Errorf("lookups of S1 = %d, want %d", got, wantCalls)
			}
		})
	}
}

func TestLookupFailureNotCached(t *testing.T) {
	f := newFakeGroups(map[string][]string{"S1": {"U1"}})
	f.fail("S1", errRateLimited)
	a := authz.New(authz.Policy{Groups: []string{"S1"}}, f, authz.WithClock(newFakeClock().Now))

	steps := []struct {
		name      string
		fail      error
		want      authz.Decision
		wantCalls int
	}{
		{
			name:      "Slack fails",
			fail:      errRateLimited,
			want:      authz.Decision{Denial: authz.DeniedLookup, Reason: "group lookup failed: S1: slack: ratelimited"},
			wantCalls: 1,
		},
		{
			name:      "Slack recovers, asked again at once",
			want:      authz.Decision{Allowed: true, Reason: "user U1 in group S1"},
			wantCalls: 2,
		},
		{
			name:      "success is cached",
			fail:      errRateLimited,
			want:      authz.Decision{Allowed: true, Reason: "user U1 in group S1"},
			wantCalls: 2,
		},
	}
	// The steps run in order, on one Authorizer.
	for _, step := range steps {
		f.fail("S1", step.fail)
		if got := a.Decide(t.Context(), "U1", "C1"); got != step.want {
			t.Errorf("%s: Decide = %+v, want %+v", step.name, got, step.want)
		}
		if got := f.callsTo("S1"); got != step.wantCalls {
			t.Errorf("%s: lookups of S1 = %d, want %d", step.name, got, step.wantCalls)
		}
	}
}

func TestConcurrentDecisionsShareOneLookup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeGroups(map[string][]string{"S1": {"U1"}})
		release := f.block()
		a := authz.New(authz.Policy{Groups: []string{"S1"}}, f)

		const n = 100
		got := make([]authz.Decision, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { got[i] = a.Decide(t.Context(), "U1", "C1") })
		}
		// Every goroutine is now blocked: one lookup in Slack, and every
		// decision waiting for it.
		synctest.Wait()
		if calls := f.callsTo("S1"); calls != 1 {
			t.Fatalf("%d decisions waiting on an uncached group made %d lookups, want 1", n, calls)
		}

		release()
		wg.Wait()
		want := authz.Decision{Allowed: true, Reason: "user U1 in group S1"}
		for i, d := range got {
			if d != want {
				t.Errorf("decision %d = %+v, want %+v", i, d, want)
			}
		}
		if calls := f.callsTo("S1"); calls != 1 {
			t.Errorf("lookups of S1 = %d, want 1", calls)
		}
	})
}

func TestWaiterGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeGroups(map[string][]string{"S1": {"U1"}})
		release := f.block()
		defer release()
		a := authz.New(authz.Policy{Groups: []string{"S1"}}, f)
		start := time.Now()

		ctx, cancel := context.WithCancel(t.Context())
		decided := make(chan authz.Decision)
		go func() { decided <- a.Decide(ctx, "U1", "C1") }()
		<-f.entered // the lookup is in Slack, and stays there
		cancel()

		want := authz.Decision{Denial: authz.DeniedLookup, Reason: "group lookup failed: S1: context canceled"}
		if got := <-decided; got != want {
			t.Errorf("Decide after its context was cancelled = %+v, want %+v", got, want)
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("Decide returned %v after its context was cancelled, want at once", waited)
		}

		// The lookup goes on for the others, with a deadline of its own.
		lookupCtx := f.lastContext()
		if err := lookupCtx.Err(); err != nil {
			t.Errorf("lookup context ended with the waiter's: %v", err)
		}
		if deadline, ok := lookupCtx.Deadline(); !ok || deadline.Sub(start) != 10*time.Second {
			t.Errorf("lookup deadline = %v, %t; want 10s after it started", deadline.Sub(start), ok)
		}

		release()
		allowed := authz.Decision{Allowed: true, Reason: "user U1 in group S1"}
		if got := a.Decide(t.Context(), "U1", "C1"); got != allowed {
			t.Errorf("next Decide = %+v, want %+v", got, allowed)
		}
		if calls := f.callsTo("S1"); calls != 1 {
			t.Errorf("lookups of S1 = %d, want 1: the abandoned lookup should have completed and been cached", calls)
		}
	})
}

func TestLookupTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeGroups(map[string][]string{"S1": {"U1"}})
		release := f.block() // Slack never answers.
		defer release()
		a := authz.New(authz.Policy{Groups: []string{"S1"}}, f)
		start := time.Now()

		want := authz.Decision{Denial: authz.DeniedLookup, Reason: "group lookup failed: S1: context deadline exceeded"}
		if got := a.Decide(context.Background(), "U1", "C1"); got != want {
			t.Errorf("Decide with Slack hanging = %+v, want %+v", got, want)
		}
		if waited := time.Since(start); waited != 10*time.Second {
			t.Errorf("Decide with no deadline of its own returned after %v, want 10s", waited)
		}
	})
}
