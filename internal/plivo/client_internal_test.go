package plivo

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/fakeplivo"
)

const (
	testAuthID    = "MAY2RJNZKZNJMWOTG4NT"
	testAuthToken = "ZDk4NWY1Yzk2Y2Q0-s3cr3t"
)

func newTestClient(t testing.TB, baseURL string, format NumberFormat, hc *http.Client) *Client {
	t.Helper()
	c, err := New(Config{
		BaseURL: baseURL, AuthID: testAuthID, AuthToken: testAuthToken,
		PhloID: "phlo", NodeID: "node", NumberFormat: format, HTTPClient: hc,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestMemberAction(t *testing.T) {
	tests := []struct {
		name     string
		format   NumberFormat
		member   string
		action   string
		wantPath string
	}{
		{"phone as e164", FormatE164, "+1 415 222 5555", "hold", "/v1/phlo/phlo/multi_party_call/node/members/+14152225555"},
		{"phone as digits", FormatDigits, "+1 415 222 5555", "unhold", "/v1/phlo/phlo/multi_party_call/node/members/14152225555"},
		{"SIP", FormatDigits, "sip:agent@example.com:5060", "hangup", "/v1/phlo/phlo/multi_party_call/node/members/sip:agent@example.com:5060"},
		{"SIP user with path characters", FormatE164, "sip:a/b;c?d%20e@example.com", "resume_call", "/v1/phlo/phlo/multi_party_call/node/members/sip:a%2Fb%3Bc%3Fd%2520e@example.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakeplivo.New(testAuthID, testAuthToken)
			defer srv.Close()
			c := newTestClient(t, srv.URL(), tc.format, nil)
			member, err := ParseEndpoint(tc.member)
			if err != nil {
				t.Fatal(err)
			}

			res, err := c.memberAction(context.Background(), member, tc.action)
			if err != nil {
				t.Fatalf("memberAction: %v", err)
			}
			if res.Status != http.StatusCreated || res.APIID == "" {
				t.Errorf("Result = %+v, want 201 with an api_id", res)
			}
			reqs := srv.Requests()
			if len(reqs) != 1 {
				t.Fatalf("Plivo got %d requests, want 1", len(reqs))
			}
			if reqs[0].Path != tc.wantPath {
				t.Errorf("path = %q, want %q", reqs[0].Path, tc.wantPath)
			}
			if want := `{"action":"` + tc.action + `"}`; string(reqs[0].Body) != want {
				t.Errorf("body = %s, want %s", reqs[0].Body, want)
			}
			if !reqs[0].BasicAuthOK {
				t.Error("the fake did not accept the Basic credentials")
			}
		})
	}
}

func TestMemberActionNeedsAMember(t *testing.T) {
	srv := fakeplivo.New(testAuthID, testAuthToken)
	defer srv.Close()
	c := newTestClient(t, srv.URL(), "", nil)
	_, err := c.memberAction(context.Background(), Endpoint{}, "hold")
	if want := "plivo: hold: the member must be set"; err == nil || err.Error() != want {
		t.Errorf("memberAction(zero Endpoint) error = %v, want %q", err, want)
	}
	if n := srv.Count(); n != 0 {
		t.Errorf("Plivo got %d requests, want none", n)
	}
}

func TestPostBoundsRetries(t *testing.T) {
	t.Run("rate limited", func(t *testing.T) {
		srv := fakeplivo.New(testAuthID, testAuthToken)
		defer srv.Close()
		srv.Respond(fakeplivo.Response{Status: http.StatusTooManyRequests})
		c := newTestClient(t, srv.URL(), "", nil)
		c.backoff = time.Millisecond

		_, err := c.post(context.Background(), ActionColdTransfer, c.nodePath, []byte(`{"action":"cold_transfer"}`))
		if perr, ok := err.(*Error); !ok || perr.Kind != KindRateLimited {
			t.Fatalf("post error = %v, want rate_limited", err)
		}
		if n := srv.Count(); n != maxAttempts {
			t.Errorf("Plivo got %d requests, want %d", n, maxAttempts)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		var dials atomic.Int32
		hc := &http.Client{Transport: &http.Transport{
			DialContext: func(context.Context, string, string) (net.Conn, error) {
				dials.Add(1)
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
			},
		}}
		c := newTestClient(t, "http://plivo.test", "", hc)
		c.backoff = time.Millisecond

		_, err := c.post(context.Background(), ActionColdTransfer, c.nodePath, []byte(`{"action":"cold_transfer"}`))
		if perr, ok := err.(*Error); !ok || perr.Kind != KindUnreachable {
			t.Fatalf("post error = %v, want unreachable", err)
		}
		if n := dials.Load(); n != maxAttempts {
			t.Errorf("dialled %d times, want %d", n, maxAttempts)
		}
	})
}

func TestInterpretOddBodies(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		want     Result
		wantKind ErrorKind
		wantMsg  string
	}{
		{name: "error false", status: 201, body: `{"api_id":"a","error":false}`, want: Result{"a", 201}},
		{name: "error null", status: 201, body: `{"api_id":"a","error":null}`, want: Result{"a", 201}},
		{name: "error empty object", status: 201, body: `{"api_id":"a","error":{}}`, want: Result{"a", 201}},
		{name: "numeric api_id", status: 201, body: `{"api_id":12,"error":""}`, want: Result{"12", 201}},
		{name: "body null", status: 201, body: `null`, want: Result{"", 201}},
		{name: "error object", status: 400, body: `{"error":{"to": ["is required"]}}`, wantKind: KindRejected, wantMsg: `{"to":["is required"]}`},
		{name: "message instead of error", status: 400, body: `{"api_id":"a","message":"invalid role"}`, wantKind: KindRejected, wantMsg: "invalid role"},
		{name: "message ignored on success", status: 201, body: `{"api_id":"a","error":"","message":"transferred"}`, want: Result{"a", 201}},
		{name: "array", status: 201, body: `[]`, wantKind: KindBadResponse},
		{name: "string", status: 201, body: `"ok"`, wantKind: KindBadResponse},
		{name: "whitespace only 201", status: 201, body: " \n", wantKind: KindBadResponse},
		{name: "1xx", status: 102, body: `{}`, wantKind: KindBadResponse},
		{name: "600", status: 600, body: `{}`, wantKind: KindBadResponse},
		{name: "token redacted", status: 400, body: `{"error":"` + testAuthToken + `"}`, wantKind: KindRejected, wantMsg: "[redacted]"},
		{name: "header in an error object", status: 401, body: `{"error":{"authorization":"Basic TUFZMlJK\/TlpLWk5K"}}`, wantKind: KindUnauthorized, wantMsg: `{"[redacted]"}`},
		{name: "credential in the api_id", status: 400, body: `{"api_id":"Bearer abcdefgh12345678","error":"bad"}`, wantKind: KindRejected, wantMsg: "bad"},
		{name: "large numeric api_id", status: 201, body: `{"api_id":12345678901234567890123,"error":""}`, want: Result{"12345678901234567890123", 201}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := interpret(tc.status, []byte(tc.body), newRedactor(testAuthID, testAuthToken))
			if tc.wantKind == 0 {
				if err != nil || res != tc.want {
					t.Fatalf("interpret = %+v, %v; want %+v", res, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("interpret = %+v, want a %v error", res, tc.wantKind)
			}
			if err.Kind != tc.wantKind || err.Message != tc.wantMsg || err.Status != tc.status {
				t.Errorf("interpret error = %v/%q/%d, want %v/%q/%d", err.Kind, err.Message, err.Status, tc.wantKind, tc.wantMsg, tc.status)
			}
			if strings.Contains(err.APIID, "Bearer") || strings.Contains(err.APIID, "abcdefgh") {
				t.Errorf("interpret error api_id = %q, which shows a credential", err.APIID)
			}
		})
	}
}

// memberPath escapes the member's address as one path segment: what a
// phone number or a SIP URI needs (+ : @) stays, what would change the
// path or the URL is escaped.
func TestMemberPath(t *testing.T) {
	c := newTestClient(t, "http://plivo.test", "", nil)
	tests := []struct {
		name, address, want string
	}{
		{"e164", "+14155550199", "+14155550199"},
		{"digits", "14155550199", "14155550199"},
		{"SIP", "sip:bob@example.com", "sip:bob@example.com"},
		{"SIP with a port", "sip:bob@example.com:5060", "sip:bob@example.com:5060"},
		{"space", "bob smith", "bob%20smith"},
		{"slash", "sip:a/b@example.com", "sip:a%2Fb@example.com"},
		{"query and fragment", "a?b#c", "a%3Fb%23c"},
		{"percent", "sip:a%20b@example.com", "sip:a%2520b@example.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := c.memberPath(tc.address), "/v1/phlo/phlo/multi_party_call/node/members/"+tc.want; got != want {
				t.Errorf("memberPath(%q) = %q, want %q", tc.address, got, want)
			}
		})
	}
}

// FuzzMemberPath checks that the member path of every endpoint the parser
// accepts is one segment that Plivo reads back as the trigger_source the
// same client writes.
func FuzzMemberPath(f *testing.F) {
	for _, s := range []string{"+14155550199", "+1 415 555 0199", "sip:bob@example.com", "sip:a/b;c?d%20e@example.com:5062", "SIP:x@[::1]"} {
		f.Add(s)
	}
	clients := []*Client{
		newTestClient(f, "http://plivo.test", FormatE164, nil),
		newTestClient(f, "http://plivo.test", FormatDigits, nil),
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseEndpoint(s)
		if err != nil {
			return
		}
		for _, c := range clients {
			segment, ok := strings.CutPrefix(c.memberPath(e.Format(c.format)), c.nodePath+"/members/")
			if !ok || strings.ContainsAny(segment, "/?#") || segment == "." || segment == ".." {
				t.Fatalf("memberPath(%q) ends in %q, not one segment", e.Format(c.format), segment)
			}
			if got, err := url.PathUnescape(segment); err != nil || got != e.Format(c.format) {
				t.Fatalf("Plivo reads %q (%v) from the path, want the trigger_source %q", got, err, e.Format(c.format))
			}
		}
	})
}
