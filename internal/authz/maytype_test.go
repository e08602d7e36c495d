package authz_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

// MayType answers whether a user may type destinations at all, before any
// number is known; MayTypeDestination asks it first.
func TestMayType(t *testing.T) {
	groups := newFakeGroups(map[string][]string{"SLEADS": {"ULEAD"}})
	groups.fail("SBROKEN", errors.New("slack down"))
	a := authz.New(authz.Policy{Users: []string{"ULEAD", "UOTHER"}}, groups)
	to, _ := plivo.ParseEndpoint("+14155550100")
	cases := []struct {
		name       string
		user       string
		typed      directory.Typed
		allowed    bool
		wantReason string
	}{
		{"not allowed by default", "ULEAD", directory.Typed{}, false, "typed destinations not allowed by the directory"},
		{"allowed to anyone", "UOTHER", directory.Typed{Allow: true}, true, "allowed"},
		{"who by id", "UOTHER", directory.Typed{Allow: true, Who: []string{"UOTHER"}}, true, "allowed"},
		{"who by group", "ULEAD", directory.Typed{Allow: true, Who: []string{"SLEADS"}}, true, "allowed"},
		{"outside who", "UOTHER", directory.Typed{Allow: true, Who: []string{"SLEADS"}}, false, "typed destinations not allowed to user UOTHER: not listed in who"},
		{"group lookup fails closed", "ULEAD", directory.Typed{Allow: true, Who: []string{"SBROKEN"}}, false, "group lookup failed: SBROKEN: slack down"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, d := range []authz.Decision{
				a.MayType(t.Context(), tc.user, tc.typed),
				a.MayTypeDestination(t.Context(), tc.user, to, tc.typed),
			} {
				if d.Allowed != tc.allowed || !strings.Contains(d.Reason, tc.wantReason) {
					t.Errorf("decision %+v, want allowed %v and reason containing %q", d, tc.allowed, tc.wantReason)
				}
				if !d.Allowed && d.Denial != authz.DeniedDestination {
					t.Errorf("denial %v, want destination", d.Denial)
				}
			}
		})
	}
}
