package plivo_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/fakeplivo"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

const (
	testAuthID    = "MAY2RJNZKZNJMWOTG4NT"
	testAuthToken = "ZDk4NWY1Yzk2Y2Q0-s3cr3t"
	testPhlo      = "e564d7a1-7e4f-4e7b-b8d8-8f3b1c8e0a55"
	testNode      = "f3b5b9a6-29a4-4c1c-9bd5-8a3d6d9b5c01"
	testNodePath  = "/v1/phlo/" + testPhlo + "/multi_party_call/" + testNode

	// firstAPIID and secondAPIID are the ids the fake hands out first.
	firstAPIID  = "00000000-0000-4000-8000-000000000001"
	secondAPIID = "00000000-0000-4000-8000-000000000002"

	mayHave = "the call may or may not have been transferred; check it before trying again."
)

func startPlivo(t *testing.T) *fakeplivo.Server {
	t.Helper()
	s := fakeplivo.New(testAuthID, testAuthToken)
	t.Cleanup(s.Close)
	return s
}

// newClient returns a client of baseURL with the test credentials and ids
// and a 2s timeout, as changed by edit.
func newClient(t *testing.T, baseURL string, edit func(*plivo.Config)) *plivo.Client {
	t.Helper()
	cfg := plivo.Config{
		BaseURL:   baseURL,
		AuthID:    testAuthID,
		AuthToken: testAuthToken,
		PhloID:    testPhlo,
		NodeID:    testNode,
		Timeout:   2 * time.Second,
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := plivo.New(cfg)
	if err != nil {
		t.Fatalf("plivo.New: %v", err)
	}
	return c
}

func mustEndpoint(t testing.TB, s string) plivo.Endpoint {
	t.Helper()
	e, err := plivo.ParseEndpoint(s)
	if err != nil {
		t.Fatalf("ParseEndpoint(%q): %v", s, err)
	}
	return e
}

// asError returns err as a *plivo.Error, failing the test when it is not.
func asError(t *testing.T, err error) *plivo.Error {
	t.Helper()
	var perr *plivo.Error
	if !errors.As(err, &perr) {
		t.Fatalf("error %v (%T) is not a *plivo.Error", err, err)
	}
	return perr
}

func TestTransferRequest(t *testing.T) {
	tests := []struct {
		name        string
		format      plivo.NumberFormat
		to, trigger string
		role        plivo.Role
		wantBody    string
	}{
		{
			name: "phone numbers as e164 by default", to: "+1 415 222 5555", trigger: "+14155550199", role: plivo.RoleAgent,
			wantBody: `{"action":"cold_transfer","to":"+14152225555","role":"agent","trigger_source":"+14155550199"}`,
		},
		{
			name: "phone numbers as e164", format: plivo.FormatE164, to: "+442079460958", trigger: "+14155550199", role: plivo.RoleCustomer,
			wantBody: `{"action":"cold_transfer","to":"+442079460958","role":"customer","trigger_source":"+14155550199"}`,
		},
		{
			name: "phone numbers as digits", format: plivo.FormatDigits, to: "+1 415 222 5555", trigger: "+14155550199", role: plivo.RoleAgent,
			wantBody: `{"action":"cold_transfer","to":"14152225555","role":"agent","trigger_source":"14155550199"}`,
		},
		{
			name: "SIP unchanged by digits", format: plivo.FormatDigits, to: "SIP:queue&1@Example.com", trigger: "sip:agent@example.com:5060", role: plivo.RoleAgent,
			wantBody: `{"action":"cold_transfer","to":"sip:queue&1@example.com","role":"agent","trigger_source":"sip:agent@example.com:5060"}`,
		},
		{
			name: "SIP and phone", format: plivo.FormatDigits, to: "sip:bob@example.com", trigger: "+14155550199", role: plivo.RoleCustomer,
			wantBody: `{"action":"cold_transfer","to":"sip:bob@example.com","role":"customer","trigger_source":"14155550199"}`,
		},
	}
	// A warm transfer is the same request but for its action.
	actions := []struct {
		action string
		call   func(*plivo.Client, context.Context, plivo.Endpoint, plivo.Endpoint, plivo.Role) (plivo.Result, error)
	}{
		{"cold_transfer", (*plivo.Client).ColdTransfer},
		{"warm_transfer", (*plivo.Client).WarmTransfer},
	}
	for _, a := range actions {
		for _, tc := range tests {
			t.Run(a.action+"/"+tc.name, func(t *testing.T) {
				srv := startPlivo(t)
				c := newClient(t, srv.URL(), func(cfg *plivo.Config) { cfg.NumberFormat = tc.format })

				res, err := a.call(c, context.Background(), mustEndpoint(t, tc.to), mustEndpoint(t, tc.trigger), tc.role)
				if err != nil {
					t.Fatalf("%s: %v", a.action, err)
				}
				if want := (plivo.Result{APIID: firstAPIID, Status: http.StatusCreated}); res != want {
					t.Errorf("Result = %+v, want %+v", res, want)
				}
				reqs := srv.Requests()
				if len(reqs) != 1 {
					t.Fatalf("Plivo got %d requests, want 1", len(reqs))
				}
				checkRequest(t, reqs[0], testNodePath, strings.Replace(tc.wantBody, "cold_transfer", a.action, 1))
			})
		}
	}
}

func TestColdTransferURL(t *testing.T) {
	tests := []struct {
		name     string
		base     string // appended to the fake's URL
		phlo     string
		node     string
		wantPath string
	}{
		{name: "plain ids", phlo: testPhlo, node: testNode, wantPath: testNodePath},
		{name: "trailing slash on the base URL", base: "/", phlo: testPhlo, node: testNode, wantPath: testNodePath},
		{name: "ids are path-escaped", phlo: "a/b c", node: "n?x#y", wantPath: "/v1/phlo/a%2Fb%20c/multi_party_call/n%3Fx%23y"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startPlivo(t)
			c := newClient(t, srv.URL()+tc.base, func(cfg *plivo.Config) { cfg.PhloID, cfg.NodeID = tc.phlo, tc.node })
			if _, err := c.ColdTransfer(context.Background(), mustEndpoint(t, "+14152225555"), mustEndpoint(t, "+14155550199"), plivo.RoleAgent); err != nil {
				t.Fatalf("ColdTransfer: %v", err)
			}
			if reqs := srv.Requests(); len(reqs) != 1 || reqs[0].Path != tc.wantPath {
				t.Fatalf("requests %+v, want one to %q", reqs, tc.wantPath)
			}
		})
	}
}

func TestColdTransferOutcomes(t *testing.T) {
	html := func(status int) fakeplivo.Response {
		return fakeplivo.Response{
			Status: status,
			Body:   "<html><body><h1>Bad Gateway</h1></body></html>",
			Header: http.Header{"Content-Type": {"text/html"}},
		}
	}
	tests := []struct {
		name      string
		responses []fakeplivo.Response
		authToken string        // the client's, when not the right one
		want      plivo.Result  // on success
		wantErr   *plivo.Error  // exported fields only
		sentence  string        // wantErr.Error()
		reached   bool          // wantErr.MayHaveReachedPlivo()
		posts     int           // requests Plivo received
		minGap    time.Duration // between the first two requests
	}{
		{
			name:  "201 default",
			want:  plivo.Result{APIID: firstAPIID, Status: 201},
			posts: 1,
		},
		{
			name:      "200",
			responses: []fakeplivo.Response{{Status: 200, Body: `{"api_id":"5a9fcb68-0001","error":""}`}},
			want:      plivo.Result{APIID: "5a9fcb68-0001", Status: 200},
			posts:     1,
		},
		{
			name:      "202 without an error field",
			responses: []fakeplivo.Response{{Status: 202, Body: `{"api_id":"5a9fcb68-0002","message":"transfer initiated"}`}},
			want:      plivo.Result{APIID: "5a9fcb68-0002", Status: 202},
			posts:     1,
		},
		{
			name:      "2xx with error text",
			responses: []fakeplivo.Response{{Status: 201, Body: `{"api_id":"a1","error":"Member not found on the call"}`}},
			wantErr:   &plivo.Error{Kind: plivo.KindRejected, Status: 201, APIID: "a1", Message: "Member not found on the call"},
			sentence:  "Plivo refused the transfer (HTTP 201): Member not found on the call.",
			posts:     1,
		},
		{
			name:      "400 with text",
			responses: []fakeplivo.Response{{Status: 400, Body: `{"api_id":"a2","error":"to is a mandatory param."}`}},
			wantErr:   &plivo.Error{Kind: plivo.KindRejected, Status: 400, APIID: "a2", Message: "to is a mandatory param."},
			sentence:  "Plivo refused the transfer (HTTP 400): to is a mandatory param.",
			posts:     1,
		},
		{
			name:      "400 text with control characters",
			responses: []fakeplivo.Response{{Status: 400, Body: `{"api_id":"a3","error":"  bad\n\trole\u0007 value\u001b[0m  "}`}},
			wantErr:   &plivo.Error{Kind: plivo.KindRejected, Status: 400, APIID: "a3", Message: "bad role value [0m"},
			sentence:  "Plivo refused the transfer (HTTP 400): bad role value [0m.",
			posts:     1,
		},
		{
			name:      "400 text echoing the auth token",
			responses: []fakeplivo.Response{{Status: 400, Body: `{"error":"token ` + testAuthToken + ` is not valid here"}`}},
			wantErr:   &plivo.Error{Kind: plivo.KindRejected, Status: 400, Message: "token [redacted] is not valid here"},
			sentence:  "Plivo refused the transfer (HTTP 400): token [redacted] is not valid here.",
			posts:     1,
		},
		{
			name:      "422 without text",
			responses: []fakeplivo.Response{{Status: 422, Body: `{}`}},
			wantErr:   &plivo.Error{Kind: plivo.KindRejected, Status: 422},
			sentence:  "Plivo refused the transfer (HTTP 422) without saying why.",
			posts:     1,
		},
		{
			name:      "401 bad credentials",
			authToken: "not-the-token",
			wantErr:   &plivo.Error{Kind: plivo.KindUnauthorized, Status: 401, APIID: firstAPIID, Message: "Authentication failed"},
			sentence:  "Plivo rejected the credentials (HTTP 401): check PLIVO_AUTH_ID and PLIVO_AUTH_TOKEN.",
			posts:     1,
		},
		{
			name:      "403 with text",
			responses: []fakeplivo.Response{{Status: 403, Body: `{"api_id":"a4","error":"PHLO is not enabled"}`}},
			wantErr:   &plivo.Error{Kind: plivo.KindForbidden, Status: 403, APIID: "a4", Message: "PHLO is not enabled"},
			sentence:  `Plivo refused access (HTTP 403, "PHLO is not enabled"): the PHLO is not enabled or the account is not verified.`,
			posts:     1,
		},
		{
			name:      "403 without text",
			responses: []fakeplivo.Response{{Status: 403}},
			wantErr:   &plivo.Error{Kind: plivo.KindForbidden, Status: 403},
			sentence:  "Plivo refused access (HTTP 403): the PHLO is not enabled or the account is not verified.",
			posts:     1,
		},
		{
			name:      "404 empty",
			responses: []fakeplivo.Response{{Status: 404}},
			wantErr:   &plivo.Error{Kind: plivo.KindNotFound, Status: 404},
			sentence:  "Plivo found no such PHLO or node (HTTP 404): check PLIVO_PHLO_ID and PLIVO_NODE_ID, and that the PHLO is deployed.",
			posts:     1,
		},
		{
			name:      "404 {}",
			responses: []fakeplivo.Response{{Status: 404, Body: "{}"}},
			wantErr:   &plivo.Error{Kind: plivo.KindNotFound, Status: 404},
			sentence:  "Plivo found no such PHLO or node (HTTP 404): check PLIVO_PHLO_ID and PLIVO_NODE_ID, and that the PHLO is deployed.",
			posts:     1,
		},
		{
			name:      "500 with text is not retried",
			responses: []fakeplivo.Response{{Status: 500, Body: `{"api_id":"a5","error":"internal error"}`}, {}},
			wantErr:   &plivo.Error{Kind: plivo.KindServerError, Status: 500, APIID: "a5", Message: "internal error"},
			sentence:  `Plivo had a server error (HTTP 500, "internal error"): ` + mayHave,
			reached:   true,
			posts:     1,
		},
		{
			name:      "502 is not retried",
			responses: []fakeplivo.Response{{Status: 502}, {}},
			wantErr:   &plivo.Error{Kind: plivo.KindServerError, Status: 502},
			sentence:  "Plivo had a server error (HTTP 502): " + mayHave,
			reached:   true,
			posts:     1,
		},
		{
			name:      "503 with Retry-After is not retried",
			responses: []fakeplivo.Response{{Status: 503, Header: http.Header{"Retry-After": {"0"}}}, {}},
			wantErr:   &plivo.Error{Kind: plivo.KindServerError, Status: 503},
			sentence:  "Plivo had a server error (HTTP 503): " + mayHave,
			reached:   true,
			posts:     1,
		},
		{
			name:      "HTML on 502",
			responses: []fakeplivo.Response{html(502), {}},
			wantErr:   &plivo.Error{Kind: plivo.KindBadResponse, Status: 502},
			sentence:  "Plivo answered HTTP 502 with a page that is not JSON (a proxy in the way?): " + mayHave,
			reached:   true,
			posts:     1,
		},
		{
			name:      "HTML on 200",
			responses: []fakeplivo.Response{html(200), {}},
			wantErr:   &plivo.Error{Kind: plivo.KindBadResponse, Status: 200},
			sentence:  "Plivo answered HTTP 200 with a page that is not JSON (a proxy in the way?): " + mayHave,
			reached:   true,
			posts:     1,
		},
		{
			name:      "HTML on 403",
			responses: []fakeplivo.Response{html(403)},
			wantErr:   &plivo.Error{Kind: plivo.KindBadResponse, Status: 403},
			sentence:  "Plivo answered HTTP 403 with a page that is not JSON (a proxy in the way?): it was refused, so the call was not transferred.",
			posts:     1,
		},
		{
			name:      "200 with an empty body",
			responses: []fakeplivo.Response{{Status: 200}, {}},
			wantErr:   &plivo.Error{Kind: plivo.KindBadResponse, Status: 200},
			sentence:  "Plivo answered HTTP 200 with an empty body: " + mayHave,
			reached:   true,
			posts:     1,
		},
		{
			name:      "body over 64 KiB",
			responses: []fakeplivo.Response{{Body: `{"api_id":"a6","error":"","padding":"` + strings.Repeat("x", 70<<10) + `"}`}, {}},
			wantErr:   &plivo.Error{Kind: plivo.KindBadResponse, Status: 201},
			sentence:  "Plivo answered HTTP 201 with a page that is not JSON (a proxy in the way?): " + mayHave,
			reached:   true,
			posts:     1,
		},
		{
			name:      "redirect is not followed",
			responses: []fakeplivo.Response{{Status: 307, Header: http.Header{"Location": {testNodePath}}}, {}},
			wantErr:   &plivo.Error{Kind: plivo.KindBadResponse, Status: 307},
			sentence:  "Plivo answered with an unexpected HTTP 307: " + mayHave,
			reached:   true,
			posts:     1,
		},
		{
			name:      "connection closed without an answer is not retried",
			responses: []fakeplivo.Response{{Hijack: true}, {}},
			wantErr:   &plivo.Error{Kind: plivo.KindConnectionLost},
			sentence:  "Plivo closed the connection without answering: " + mayHave,
			reached:   true,
			posts:     1,
		},
		{
			name: "429 then 201 after backoff",
			responses: []fakeplivo.Response{
				{Status: 429, Body: `{"api_id":"r1","error":"too many requests"}`},
				{},
			},
			want:   plivo.Result{APIID: secondAPIID, Status: 201},
			posts:  2,
			minGap: 200 * time.Millisecond,
		},
		{
			name:      "429 with Retry-After: 0 then 201",
			responses: []fakeplivo.Response{{Status: 429, Header: http.Header{"Retry-After": {"0"}}}, {}},
			want:      plivo.Result{APIID: secondAPIID, Status: 201},
			posts:     2,
		},
		{
			name:      "429 page from a proxy then 201",
			responses: []fakeplivo.Response{html(429), {}},
			want:      plivo.Result{APIID: secondAPIID, Status: 201},
			posts:     2,
			minGap:    200 * time.Millisecond,
		},
		{
			name:      "429 with Retry-After beyond the deadline",
			responses: []fakeplivo.Response{{Status: 429, Header: http.Header{"Retry-After": {"60"}}}, {}},
			wantErr:   &plivo.Error{Kind: plivo.KindRateLimited, Status: 429},
			sentence:  "Plivo is rate-limiting requests (HTTP 429): wait a few seconds and try again.",
			posts:     1,
		},
		{
			name: "429 with an HTTP-date Retry-After beyond the deadline",
			responses: []fakeplivo.Response{{
				Status: 429,
				Body:   `{"api_id":"r2","error":"rate limited"}`,
				Header: http.Header{"Retry-After": {time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}},
			}, {}},
			wantErr:  &plivo.Error{Kind: plivo.KindRateLimited, Status: 429, APIID: "r2", Message: "rate limited"},
			sentence: "Plivo is rate-limiting requests (HTTP 429): wait a few seconds and try again.",
			posts:    1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startPlivo(t)
			srv.Respond(tc.responses...)
			c := newClient(t, srv.URL(), func(cfg *plivo.Config) {
				// Long, so that a failure that waited for it is told from
				// a prompt one on any machine.
				cfg.Timeout = 30 * time.Second
				if tc.authToken != "" {
					cfg.AuthToken = tc.authToken
				}
			})

			start := time.Now()
			res, err := c.ColdTransfer(context.Background(), mustEndpoint(t, "+14152225555"), mustEndpoint(t, "+14155550199"), plivo.RoleAgent)
			elapsed := time.Since(start)

			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("ColdTransfer failed: %v", err)
				}
				if res != tc.want {
					t.Errorf("Result = %+v, want %+v", res, tc.want)
				}
			} else {
				if err == nil {
					t.Fatalf("ColdTransfer = %+v, want the supervisor to read %q", res, tc.sentence)
				}
				perr := asError(t, err)
				got := plivo.Error{Kind: perr.Kind, Status: perr.Status, APIID: perr.APIID, Message: perr.Message, Timeout: perr.Timeout}
				if got != *tc.wantErr {
					t.Errorf("Error = %+v, want %+v", got, *tc.wantErr)
				}
				if got := err.Error(); got != tc.sentence {
					t.Errorf("the supervisor reads\n%q\nwant\n%q", got, tc.sentence)
				}
				if got := perr.MayHaveReachedPlivo(); got != tc.reached {
					t.Errorf("MayHaveReachedPlivo() = %v, want %v", got, tc.reached)
				}
				if (res != plivo.Result{}) {
					t.Errorf("Result = %+v with the error, want zero", res)
				}
				// The whole request runs under a 30 s timeout; no failure
				// here should wait for it.
				if elapsed > 15*time.Second {
					t.Errorf("ColdTransfer took %v to fail, want it prompt", elapsed)
				}
			}
			reqs := srv.Requests()
			if len(reqs) != tc.posts {
				t.Fatalf("Plivo got %d requests, want %d", len(reqs), tc.posts)
			}
			if tc.minGap > 0 {
				if gap := reqs[1].Received.Sub(reqs[0].Received); gap < tc.minGap {
					t.Errorf("retried after %v, want at least %v", gap, tc.minGap)
				}
			}
		})
	}
}

func TestColdTransferHonoursRetryAfter(t *testing.T) {
	srv := startPlivo(t)
	srv.Respond(fakeplivo.Response{Status: 429, Header: http.Header{"Retry-After": {"1"}}}, fakeplivo.Response{})
	c := newClient(t, srv.URL(), func(cfg *plivo.Config) { cfg.Timeout = 3 * time.Second })

	res, err := c.ColdTransfer(context.Background(), mustEndpoint(t, "+14152225555"), mustEndpoint(t, "+14155550199"), plivo.RoleAgent)
	if err != nil {
		t.Fatalf("ColdTransfer: %v", err)
	}
	if res.APIID != secondAPIID {
		t.Errorf("APIID = %q, want the second answer's %q", res.APIID, secondAPIID)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("Plivo got %d requests, want 2", len(reqs))
	}
	if gap := reqs[1].Received.Sub(reqs[0].Received); gap < time.Second {
		t.Errorf("retried after %v, want the 1s Plivo asked for", gap)
	}
}

func TestColdTransferRateLimitedUntilDeadline(t *testing.T) {
	srv := startPlivo(t)
	srv.Respond(fakeplivo.Response{Status: 429})
	const timeout = 3 * time.Second
	c := newClient(t, srv.URL(), func(cfg *plivo.Config) { cfg.Timeout = timeout })

	start := time.Now()
	_, err := c.ColdTransfer(context.Background(), mustEndpoint(t, "+14152225555"), mustEndpoint(t, "+14155550199"), plivo.RoleAgent)
	elapsed := time.Since(start)

	// Backoff doubles from 200ms until the next wait would end past the
	// deadline: then it returns Plivo's 429 instead of sleeping into a
	// timeout.
	if perr := asError(t, err); perr.Kind != plivo.KindRateLimited {
		t.Errorf("Kind = %v (%q), want rate_limited", perr.Kind, err)
	}
	if elapsed >= timeout {
		t.Errorf("returned after %v, want before the %v timeout", elapsed, timeout)
	}
	if n := srv.Count(); n < 2 {
		t.Errorf("Plivo got %d requests, want the 429 retried", n)
	}
}

func TestColdTransferTimeout(t *testing.T) {
	srv := startPlivo(t)
	srv.Respond(fakeplivo.Response{Delay: time.Minute})
	const timeout = 300 * time.Millisecond
	c := newClient(t, srv.URL(), func(cfg *plivo.Config) { cfg.Timeout = timeout })

	start := time.Now()
	_, err := c.ColdTransfer(context.Background(), mustEndpoint(t, "+14152225555"), mustEndpoint(t, "+14155550199"), plivo.RoleAgent)
	elapsed := time.Since(start)

	perr := asError(t, err)
	if perr.Kind != plivo.KindTimeout || perr.Timeout != timeout {
		t.Errorf("Kind, Timeout = %v, %v; want timeout, %v", perr.Kind, perr.Timeout, timeout)
	}
	if want := "Plivo did not answer within 300ms: " + mayHave; err.Error() != want {
		t.Errorf("the supervisor reads %q, want %q", err, want)
	}
	if !perr.MayHaveReachedPlivo() {
		t.Error("MayHaveReachedPlivo() = false after Plivo got the request")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(%v, context.DeadlineExceeded) = false", errors.Unwrap(err))
	}
	// Not before the time-out; and not long after it (the margin is for a
	// loaded machine: what it catches is a call that outlives its bound).
	if elapsed < timeout || elapsed > timeout+10*time.Second {
		t.Errorf("returned after %v, want about %v", elapsed, timeout)
	}
	if n := srv.Count(); n != 1 {
		t.Errorf("Plivo got %d requests, want 1", n)
	}
}

// dialer is a DialContext that counts its calls and fails or hangs as told.
type dialer struct {
	calls atomic.Int32
	dial  func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (d *dialer) client() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			d.calls.Add(1)
			return d.dial(ctx, network, addr)
		},
	}}
}

func TestColdTransferNothingSent(t *testing.T) {
	refused := func(context.Context, string, string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	tests := []struct {
		name      string
		dial      func(ctx context.Context, network, addr string) (net.Conn, error)
		wantKind  plivo.ErrorKind
		sentence  string
		wantDials func(n int32) bool
		dialsText string
	}{
		{
			name:      "connection refused is retried within the timeout",
			dial:      refused,
			wantKind:  plivo.KindUnreachable,
			sentence:  "Could not reach Plivo (connection refused): nothing was sent; check PLIVO_PHLO_URL and the network.",
			wantDials: func(n int32) bool { return n >= 2 },
			dialsText: "at least 2",
		},
		{
			name: "host not found is not retried",
			dial: func(context.Context, string, string) (net.Conn, error) {
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "phlorunner.invalid", IsNotFound: true}}
			},
			wantKind:  plivo.KindUnreachable,
			sentence:  "Could not reach Plivo (host not found): nothing was sent; check PLIVO_PHLO_URL and the network.",
			wantDials: func(n int32) bool { return n == 1 },
			dialsText: "exactly 1",
		},
		{
			name: "dial hanging until the deadline",
			dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			},
			wantKind:  plivo.KindTimeout,
			sentence:  "Could not reach Plivo within 500ms: nothing was sent.",
			wantDials: func(n int32) bool { return n == 1 },
			dialsText: "exactly 1",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const timeout = 500 * time.Millisecond
			d := &dialer{dial: tc.dial}
			c := newClient(t, "https://phlorunner.invalid", func(cfg *plivo.Config) {
				cfg.Timeout = timeout
				cfg.HTTPClient = d.client()
			})

			start := time.Now()
			_, err := c.ColdTransfer(context.Background(), mustEndpoint(t, "+14152225555"), mustEndpoint(t, "+14155550199"), plivo.RoleAgent)
			elapsed := time.Since(start)

			perr := asError(t, err)
			if perr.Kind != tc.wantKind {
				t.Errorf("Kind = %v, want %v", perr.Kind, tc.wantKind)
			}
			if err.Error() != tc.sentence {
				t.Errorf("the supervisor reads %q, want %q", err, tc.sentence)
			}
			if perr.MayHaveReachedPlivo() {
				t.Error("MayHaveReachedPlivo() = true, but no connection was ever made")
			}
			if n := d.calls.Load(); !tc.wantDials(n) {
				t.Errorf("dialled %d times, want %s", n, tc.dialsText)
			}
			// The margin is for a loaded machine; a client that kept
			// dialling past its bound would run until the test's end.
			if elapsed > timeout+10*time.Second {
				t.Errorf("returned after %v, want within the %v timeout", elapsed, timeout)
			}
		})
	}
}

func TestColdTransferRefusedWithOwnTransport(t *testing.T) {
	const timeout = 30 * time.Second // a refusal must not wait for it
	c := newClient(t, fakeplivo.RefusedURL(t), func(cfg *plivo.Config) { cfg.Timeout = timeout })

	start := time.Now()
	_, err := c.ColdTransfer(context.Background(), mustEndpoint(t, "+14152225555"), mustEndpoint(t, "+14155550199"), plivo.RoleAgent)
	elapsed := time.Since(start)

	perr := asError(t, err)
	if want := "Could not reach Plivo (connection refused): nothing was sent; check PLIVO_PHLO_URL and the network."; err.Error() != want {
		t.Errorf("the supervisor reads %q, want %q", err, want)
	}
	if perr.Kind != plivo.KindUnreachable || perr.MayHaveReachedPlivo() {
		t.Errorf("Kind = %v, MayHaveReachedPlivo = %v; want unreachable, false", perr.Kind, perr.MayHaveReachedPlivo())
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("errors.Is(err, ECONNREFUSED) = false for cause %v", errors.Unwrap(err))
	}
	if elapsed >= timeout/2 {
		t.Errorf("returned after %v, want well within the %v timeout", elapsed, timeout)
	}
}

func TestColdTransferCanceled(t *testing.T) {
	tests := []struct {
		name      string
		responses []fakeplivo.Response
		// cancel cancels ctx at the moment the test is about.
		cancel   func(t *testing.T, srv *fakeplivo.Server, cancel context.CancelFunc)
		sentence string
		reached  bool
		posts    int
	}{
		{
			name:     "before sending",
			cancel:   func(_ *testing.T, _ *fakeplivo.Server, cancel context.CancelFunc) { cancel() },
			sentence: "The request to Plivo was cancelled before Plivo acted on it: the call was not transferred.",
			posts:    0,
		},
		{
			name:      "while Plivo works on it",
			responses: []fakeplivo.Response{{Delay: time.Minute}},
			cancel: func(t *testing.T, srv *fakeplivo.Server, cancel context.CancelFunc) {
				go func() {
					ctx, stop := context.WithTimeout(context.Background(), 5*time.Second)
					defer stop()
					if _, err := srv.WaitRequests(ctx, 1); err != nil {
						t.Errorf("WaitRequests: %v", err)
					}
					cancel()
				}()
			},
			sentence: "The request to Plivo was cancelled: the call may or may not have been transferred; check it.",
			reached:  true,
			posts:    1,
		},
		{
			name:      "while waiting out a 429",
			responses: []fakeplivo.Response{{Status: 429, Header: http.Header{"Retry-After": {"2"}}}, {}},
			cancel: func(_ *testing.T, _ *fakeplivo.Server, cancel context.CancelFunc) {
				// The fake answers 429 at once; the client then waits 2s.
				time.AfterFunc(300*time.Millisecond, cancel)
			},
			sentence: "The request to Plivo was cancelled before Plivo acted on it: the call was not transferred.",
			posts:    1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startPlivo(t)
			srv.Respond(tc.responses...)
			c := newClient(t, srv.URL(), func(cfg *plivo.Config) { cfg.Timeout = 5 * time.Second })
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tc.cancel(t, srv, cancel)

			start := time.Now()
			_, err := c.ColdTransfer(ctx, mustEndpoint(t, "+14152225555"), mustEndpoint(t, "+14155550199"), plivo.RoleAgent)
			elapsed := time.Since(start)

			perr := asError(t, err)
			if perr.Kind != plivo.KindCanceled {
				t.Errorf("Kind = %v (%q), want canceled", perr.Kind, err)
			}
			if err.Error() != tc.sentence {
				t.Errorf("the supervisor reads %q, want %q", err, tc.sentence)
			}
			if got := perr.MayHaveReachedPlivo(); got != tc.reached {
				t.Errorf("MayHaveReachedPlivo() = %v, want %v", got, tc.reached)
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("errors.Is(err, context.Canceled) = false for cause %v", errors.Unwrap(err))
			}
			// The client's own time-out is 5 s and a 429 waits 2 s: well
			// under the time-out is "promptly", on any machine.
			if elapsed >= 4*time.Second {
				t.Errorf("returned after %v, want promptly after the cancel", elapsed)
			}
			if n := srv.Count(); n != tc.posts {
				t.Errorf("Plivo got %d requests, want %d", n, tc.posts)
			}
		})
	}
}

func TestColdTransferCallerDeadline(t *testing.T) {
	srv := startPlivo(t)
	srv.Respond(fakeplivo.Response{Delay: time.Minute})
	c := newClient(t, srv.URL(), func(cfg *plivo.Config) { cfg.Timeout = 5 * time.Second })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()

	_, err := c.ColdTransfer(ctx, mustEndpoint(t, "+14152225555"), mustEndpoint(t, "+14155550199"), plivo.RoleAgent)

	// Only Config.Timeout is a timeout of ours: a deadline the caller set
	// ends the request as a cancellation.
	perr := asError(t, err)
	if perr.Kind != plivo.KindCanceled || !perr.MayHaveReachedPlivo() {
		t.Errorf("Kind = %v, MayHaveReachedPlivo = %v; want canceled, true", perr.Kind, perr.MayHaveReachedPlivo())
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(err, context.DeadlineExceeded) = false for cause %v", errors.Unwrap(err))
	}
}

func TestColdTransferConcurrent(t *testing.T) {
	srv := startPlivo(t)
	c := newClient(t, srv.URL(), nil)
	const n = 200
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := c.ColdTransfer(context.Background(), mustEndpoint(t, "+14152225555"), mustEndpoint(t, "+14155550199"), plivo.RoleAgent)
			if err != nil {
				t.Errorf("transfer %d: %v", i, err)
			}
			ids[i] = res.APIID
		})
	}
	wg.Wait()
	seen := make(map[string]bool, n)
	for _, id := range ids {
		if id == "" || seen[id] {
			t.Fatalf("api_id %q is missing or repeated: each transfer must get its own answer", id)
		}
		seen[id] = true
	}
	if got := srv.Count(); got != n {
		t.Errorf("Plivo got %d requests, want %d", got, n)
	}
}

func TestColdTransferInvalidArguments(t *testing.T) {
	srv := startPlivo(t)
	c := newClient(t, srv.URL(), nil)
	phone := mustEndpoint(t, "+14152225555")
	agent := mustEndpoint(t, "+14155550199")
	tests := []struct {
		name        string
		to, trigger plivo.Endpoint
		role        plivo.Role
		want        string
	}{
		{"zero to", plivo.Endpoint{}, agent, plivo.RoleAgent, "plivo: cold_transfer: both to and trigger_source must be set"},
		{"zero trigger_source", phone, plivo.Endpoint{}, plivo.RoleAgent, "plivo: cold_transfer: both to and trigger_source must be set"},
		{"empty role", phone, agent, "", `plivo: cold_transfer: role "" is neither "agent" nor "customer"`},
		{"unknown role", phone, agent, "Agent", `plivo: cold_transfer: role "Agent" is neither "agent" nor "customer"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ColdTransfer(context.Background(), tc.to, tc.trigger, tc.role)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("ColdTransfer error = %v, want %q", err, tc.want)
			}
			var perr *plivo.Error
			if errors.As(err, &perr) {
				t.Errorf("error is a *plivo.Error (%v), want a plain programming error", perr.Kind)
			}
		})
	}
	if n := srv.Count(); n != 0 {
		t.Errorf("Plivo got %d requests, want none", n)
	}
}

func TestNew(t *testing.T) {
	valid := plivo.Config{
		BaseURL:   "https://phlorunner.plivo.com",
		AuthID:    testAuthID,
		AuthToken: testAuthToken,
		PhloID:    testPhlo,
		NodeID:    testNode,
	}
	tests := []struct {
		name    string
		edit    func(*plivo.Config)
		wantErr []string // the lines of the error, in order; nil when valid
	}{
		{name: "valid", edit: func(*plivo.Config) {}},
		{name: "trailing slash", edit: func(c *plivo.Config) { c.BaseURL += "/" }},
		{name: "http and a path", edit: func(c *plivo.Config) { c.BaseURL = "http://127.0.0.1:8080/plivo" }},
		{name: "digits", edit: func(c *plivo.Config) { c.NumberFormat = plivo.FormatDigits }},
		{
			name:    "empty",
			edit:    func(c *plivo.Config) { *c = plivo.Config{} },
			wantErr: []string{"plivo: BaseURL is empty", "plivo: AuthID is empty", "plivo: AuthToken is empty", "plivo: PhloID is empty", "plivo: NodeID is empty"},
		},
		{name: "blank id", edit: func(c *plivo.Config) { c.PhloID = " " }, wantErr: []string{"plivo: PhloID is empty"}},
		{name: "relative URL", edit: func(c *plivo.Config) { c.BaseURL = "phlorunner.plivo.com" }, wantErr: []string{"plivo: BaseURL must start with https:// or http://"}},
		{name: "other scheme", edit: func(c *plivo.Config) { c.BaseURL = "ftp://phlorunner.plivo.com" }, wantErr: []string{"plivo: BaseURL must start with https:// or http://"}},
		{name: "no host", edit: func(c *plivo.Config) { c.BaseURL = "https:///v1" }, wantErr: []string{"plivo: BaseURL has no host"}},
		{name: "not a URL", edit: func(c *plivo.Config) { c.BaseURL = "https://[::1" }, wantErr: []string{"plivo: BaseURL is not a valid URL"}},
		{
			name:    "credentials in the URL are not echoed",
			edit:    func(c *plivo.Config) { c.BaseURL = "https://MAY2RJ:hunter2-token@phlorunner.plivo.com" },
			wantErr: []string{"plivo: BaseURL must not contain credentials: set AuthID and AuthToken instead"},
		},
		{name: "query", edit: func(c *plivo.Config) { c.BaseURL += "/?x=1" }, wantErr: []string{"plivo: BaseURL must not have a query"}},
		{name: "fragment", edit: func(c *plivo.Config) { c.BaseURL += "#top" }, wantErr: []string{"plivo: BaseURL must not have a fragment"}},
		{name: "colon in AuthID", edit: func(c *plivo.Config) { c.AuthID = "MA:Y" }, wantErr: []string{"plivo: AuthID contains a colon"}},
		{name: "negative timeout", edit: func(c *plivo.Config) { c.Timeout = -time.Second }, wantErr: []string{"plivo: Timeout is negative (-1s)"}},
		{
			name:    "unknown number format",
			edit:    func(c *plivo.Config) { c.NumberFormat = "E.164" },
			wantErr: []string{`plivo: NumberFormat: number format must be "e164" or "digits", not "E.164"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid
			tc.edit(&cfg)
			c, err := plivo.New(cfg)
			if tc.wantErr == nil {
				if err != nil || c == nil {
					t.Fatalf("New(%+v) = %v, %v; want a client", cfg, c, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New(%+v) succeeded, want %q", cfg, tc.wantErr)
			}
			if got := strings.Split(err.Error(), "\n"); strings.Join(got, "|") != strings.Join(tc.wantErr, "|") {
				t.Errorf("New error lines\n got: %q\nwant: %q", got, tc.wantErr)
			}
		})
	}
}

func TestColdTransferBodyCutOff(t *testing.T) {
	tests := []struct {
		name     string
		then     func(r *http.Request) // after half the body
		kind     plivo.ErrorKind
		sentence string
	}{
		{
			name:     "connection dropped",
			then:     func(*http.Request) { panic(http.ErrAbortHandler) },
			kind:     plivo.KindBadResponse,
			sentence: "Plivo's answer (HTTP 201) was cut off: " + mayHave,
		},
		{
			name:     "stalled until the timeout",
			then:     func(r *http.Request) { <-r.Context().Done() },
			kind:     plivo.KindTimeout,
			sentence: "Plivo did not answer within 300ms: " + mayHave,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "100")
				w.WriteHeader(http.StatusCreated)
				io.WriteString(w, `{"api_id":"cut`)
				http.NewResponseController(w).Flush()
				tc.then(r)
			}))
			defer srv.Close()
			c := newClient(t, srv.URL, func(cfg *plivo.Config) { cfg.Timeout = 300 * time.Millisecond })

			_, err := c.ColdTransfer(context.Background(), mustEndpoint(t, "+14152225555"), mustEndpoint(t, "+14155550199"), plivo.RoleAgent)
			perr := asError(t, err)
			if perr.Kind != tc.kind || err.Error() != tc.sentence || !perr.MayHaveReachedPlivo() {
				t.Errorf("got %v %q (reached %v), want %v %q (reached true)", perr.Kind, err, perr.MayHaveReachedPlivo(), tc.kind, tc.sentence)
			}
		})
	}
}

// TestErrorsNeverEchoCredentials points the client at a Plivo that echoes
// the Authorization header it received in every place an answer has text:
// the sentence the supervisor reads, and every field the audit line takes
// (Message, APIID, and the error underneath), show neither the token, nor
// the base64 of the id:token pair in any alphabet, nor "Basic ".
func TestErrorsNeverEchoCredentials(t *testing.T) {
	pair := []byte(testAuthID + ":" + testAuthToken)
	never := []string{testAuthToken, "Basic ", testAuthID + ":"}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		never = append(never, enc.EncodeToString(pair))
	}
	jsonString := func(s string) string {
		b, _ := json.Marshal(s)
		return string(b)
	}
	tests := []struct {
		name   string
		status int
		body   func(auth string) string // auth is the Authorization header Plivo got
	}{
		{"400 error text", 400, func(a string) string {
			return `{"api_id":"a1","error":` + jsonString("bad request with Authorization: "+a) + `}`
		}},
		{"401 error text", 401, func(a string) string { return `{"error":` + jsonString("invalid credentials "+a) + `}` }},
		{"403 message", 403, func(a string) string { return `{"message":` + jsonString(a+" may not run this PHLO") + `}` }},
		{"404 credential alone", 404, func(a string) string {
			return `{"error":` + jsonString("no PHLO for "+strings.TrimPrefix(a, "Basic ")) + `}`
		}},
		{"422 token and pair", 422, func(string) string {
			return `{"error":` + jsonString("slow down, "+testAuthID+":"+testAuthToken+" ("+testAuthToken+")") + `}`
		}},
		{"500 headers object", 500, func(a string) string {
			return `{"error":{"headers":{"Authorization":` + strings.ReplaceAll(jsonString(a), "/", `\/`) + `}}}`
		}},
		{"201 error and api_id", 201, func(a string) string {
			return `{"api_id":` + jsonString(a) + `,"error":` + jsonString("not transferred: "+a) + `}`
		}},
		{"502 proxy page", 502, func(a string) string {
			return "<html><body>Upstream refused GET with Authorization: " + a + "</body></html>"
		}},
		{"599 credential split by a newline", 599, func(a string) string {
			return `{"error":` + jsonString(strings.Replace(a, " ", "\n", 1)) + `}`
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got atomic.Value
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				auth := r.Header.Get("Authorization")
				got.Store(auth)
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body(auth))
			}))
			defer srv.Close()
			c := newClient(t, srv.URL, func(cfg *plivo.Config) { cfg.Timeout = 30 * time.Second })

			_, err := c.ColdTransfer(t.Context(), mustEndpoint(t, "+14155550100"), mustEndpoint(t, "+14155550101"), plivo.RoleAgent)
			if auth, _ := got.Load().(string); !strings.HasPrefix(auth, "Basic ") {
				t.Fatalf("Plivo got Authorization %q, want a Basic credential to echo", auth)
			}
			perr := asError(t, err)
			texts := map[string]string{"Error()": perr.Error(), "Message": perr.Message, "APIID": perr.APIID}
			if cause := errors.Unwrap(perr); cause != nil {
				texts["cause"] = cause.Error()
			}
			for field, text := range texts {
				for _, s := range never {
					if strings.Contains(text, s) {
						t.Errorf("%s = %q shows %q", field, text, s)
					}
				}
			}
		})
	}
}

// leakyTransport fails every request with an error that quotes its
// Authorization header, as a careless proxy client might.
type leakyTransport struct{}

func (leakyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return nil, &net.DNSError{Err: "no such host (request had Authorization: " + r.Header.Get("Authorization") + ")", Name: "phlo.example", IsNotFound: true}
}

func TestTransportErrorNeverEchoesCredentials(t *testing.T) {
	c := newClient(t, "https://phlo.example", func(cfg *plivo.Config) {
		cfg.HTTPClient = &http.Client{Transport: leakyTransport{}}
	})
	_, err := c.ColdTransfer(t.Context(), mustEndpoint(t, "+14155550100"), mustEndpoint(t, "+14155550101"), plivo.RoleAgent)
	perr := asError(t, err)
	cause := errors.Unwrap(perr)
	if cause == nil {
		t.Fatal("no error underneath, want the transport's")
	}
	basic := base64.StdEncoding.EncodeToString([]byte(testAuthID + ":" + testAuthToken))
	for _, s := range []string{basic, "Basic ", testAuthToken} {
		if strings.Contains(cause.Error(), s) || strings.Contains(perr.Error(), s) {
			t.Errorf("the error shows %q: %q / %q", s, perr.Error(), cause.Error())
		}
	}
	// The text is redacted, not the error: the sentence still knows why.
	if want := "Could not reach Plivo (host not found): nothing was sent; check PLIVO_PHLO_URL and the network."; perr.Error() != want {
		t.Errorf("Error() = %q, want %q", perr.Error(), want)
	}
}
