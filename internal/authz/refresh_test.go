package authz_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/authz"
)

// Once a group has been seen, Run keeps its members fresh ahead of their
// TTL: requests every few minutes for an hour wait on no lookup; a removal is seen
// within the TTL; a failing Slack leaves the last good members in use
// until their TTL, then the request fails closed.
func TestRunRefreshesGroupsAhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeGroups(map[string][]string{"S1": {"U1"}})
		a := authz.New(authz.Policy{Groups: []string{"S1"}}, f)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go a.Run(ctx, 5*time.Second)

		if !a.Decide(ctx, "U1", "C1").Allowed {
			t.Fatal("U1, in S1, refused")
		}
		// A floor that asks every few minutes, for an hour: every answer
		// is in the cache.
		for i := range 12 {
			time.Sleep(5 * time.Minute)
			synctest.Wait()
			if d, ok := decideCachedOnly(a, "U1"); !ok || !d.Allowed {
				t.Fatalf("after %d min, from the cache alone: %+v; want allowed without a lookup", 5*(i+1), d)
			}
		}
		if n := f.callsTo("S1"); n < 60 || n > 130 {
			t.Errorf("%d lookups of S1 in an hour; want about one every 30 s", n)
		}

		f.setMembers("S1") // U1 removed
		time.Sleep(time.Minute)
		synctest.Wait()
		if d, _ := decideCachedOnly(a, "U1"); d.Allowed {
			t.Error("a member removed from the group is still allowed a minute later")
		}

		f.setMembers("S1", "U1")
		time.Sleep(time.Minute)
		synctest.Wait()
		f.fail("S1", errors.New("ratelimited"))
		time.Sleep(40 * time.Second) // members 30-45 s old, refreshes failing
		synctest.Wait()
		if d, ok := decideCachedOnly(a, "U1"); !ok || !d.Allowed {
			t.Errorf("within the TTL of the last good members, with Slack failing: %+v; want allowed", d)
		}
		time.Sleep(30 * time.Second) // past the TTL
		synctest.Wait()
		if d := a.Decide(ctx, "U1", "C1"); d.Allowed || d.Denial != authz.DeniedLookup {
			t.Errorf("past the TTL with Slack failing: %+v; want refused, lookup failed", d)
		}
	})
}

// Groups nobody asks about are forgotten: Run does not look them up for
// ever.
func TestRunForgetsUnusedGroups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeGroups(map[string][]string{"S1": {"U1"}})
		a := authz.New(authz.Policy{Groups: []string{"S1"}}, f)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go a.Run(ctx, 5*time.Second)
		a.Decide(ctx, "U1", "C1")
		time.Sleep(15 * time.Minute)
		synctest.Wait()
		n := f.callsTo("S1")
		time.Sleep(time.Hour)
		synctest.Wait()
		if m := f.callsTo("S1"); m != n {
			t.Errorf("%d lookups of a group nobody asked about for an hour, want none", m-n)
		}
	})
}

// The cache-only view never asks Slack (it answers on the ack path): a
// group it does not know is a refusal it says a lookup could change, and a
// group a real decision looked up is then known to it.
func TestCacheOnly(t *testing.T) {
	f := newFakeGroups(map[string][]string{"S1": {"U1"}})
	a := authz.New(authz.Policy{Users: []string{"UBYID"}, Groups: []string{"S1"}, Channels: []string{"C1"}}, f)
	cached := a.CacheOnly()
	for _, tc := range []struct {
		user, channel string
		want          authz.Denial
		allowed       bool
	}{
		{"UBYID", "C1", authz.NotDenied, true},
		{"UBYID", "C2", authz.DeniedChannel, false},
		{"U1", "C1", authz.DeniedLookup, false},
	} {
		d := cached.Decide(context.Background(), tc.user, tc.channel)
		if d.Allowed != tc.allowed || d.Denial != tc.want {
			t.Errorf("CacheOnly().Decide(%s, %s) = %+v; want allowed %v, %v", tc.user, tc.channel, d, tc.allowed, tc.want)
		}
	}
	if n := f.callsTo("S1"); n != 0 {
		t.Fatalf("%d lookups of S1 by the cache-only view, want none", n)
	}
	if !a.Decide(context.Background(), "U1", "C1").Allowed {
		t.Fatal("U1, in S1, refused by a real decision")
	}
	if !cached.Decide(context.Background(), "U1", "C1").Allowed {
		t.Error("the group a real decision looked up is not known to the cache-only view")
	}
	if n := f.callsTo("S1"); n != 1 {
		t.Errorf("%d lookups of S1, want the real decision's one", n)
	}
}

// decideCachedOnly decides for user in C1 from the cache, and reports
// whether the answer needed no lookup.
func decideCachedOnly(a *authz.Authorizer, user string) (authz.Decision, bool) {
	d := a.CacheOnly().Decide(context.Background(), user, "C1")
	return d, d.Denial != authz.DeniedLookup
}
