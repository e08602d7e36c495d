package plivo_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/fakeplivo"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

// clientAction is one of the client's requests, made as the bot makes it:
// to is the destination of a transfer, agent its trigger_source and the
// member whose transfer an abort ends.
type clientAction struct {
	name   string
	action string // Plivo's name for it, the Error's Action
	call   func(ctx context.Context, c *plivo.Client, to, agent plivo.Endpoint) (plivo.Result, error)
	// member reports whether it is a member action, sent to the agent's
	// member path.
	member bool
}

var actions = []clientAction{
	{
		name: "cold transfer", action: plivo.ActionColdTransfer,
		call: func(ctx context.Context, c *plivo.Client, to, agent plivo.Endpoint) (plivo.Result, error) {
			return c.ColdTransfer(ctx, to, agent, plivo.RoleAgent)
		},
	},
	{
		name: "warm transfer", action: plivo.ActionWarmTransfer,
		call: func(ctx context.Context, c *plivo.Client, to, agent plivo.Endpoint) (plivo.Result, error) {
			return c.WarmTransfer(ctx, to, agent, plivo.RoleAgent)
		},
	},
	{
		name: "abort", action: plivo.ActionAbortTransfer, member: true,
		call: func(ctx context.Context, c *plivo.Client, _, agent plivo.Endpoint) (plivo.Result, error) {
			return c.AbortTransfer(ctx, agent)
		},
	},
}

// checkRequest checks what Plivo received against the path and body it
// should have, and the headers every request carries.
func checkRequest(t *testing.T, req fakeplivo.Request, path, body string) {
	t.Helper()
	for _, c := range []struct{ what, got, want string }{
		{"method", req.Method, http.MethodPost},
		{"path", req.Path, path},
		{"Basic auth id", req.AuthID, testAuthID},
		{"Basic auth token", req.AuthToken, testAuthToken},
		{"Content-Type", req.ContentType, "application/json"},
		{"Accept", req.Header.Get("Accept"), "application/json"},
		{"User-Agent", req.Header.Get("User-Agent"), "coldtransfer"},
		{"Idempotency-Key", req.Header.Get("Idempotency-Key"), ""},
		{"body", string(req.Body), body},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if !req.BasicAuthOK {
		t.Error("the fake did not accept the Basic credentials")
	}
}

// An abort goes to the path of the member that started the transfer,
// written as that transfer's trigger_source was and escaped as one path
// segment: Plivo must read back exactly the trigger_source.
func TestAbortTransferRequest(t *testing.T) {
	tests := []struct {
		name     string
		format   plivo.NumberFormat
		member   string
		wantPath string // after the node's path
		// wantMember is the address Plivo reads from the path, and the
		// trigger_source of the transfer.
		wantMember string
	}{
		{"phone as e164", plivo.FormatE164, "+1 415 555 0199", "/members/+14155550199", "+14155550199"},
		{"phone as digits", plivo.FormatDigits, "+1 415 555 0199", "/members/14155550199", "14155550199"},
		{"SIP", plivo.FormatE164, "sip:bob@example.com", "/members/sip:bob@example.com", "sip:bob@example.com"},
		{"SIP with a port, digits", plivo.FormatDigits, "sip:bob@example.com:5062", "/members/sip:bob@example.com:5062", "sip:bob@example.com:5062"},
		{"SIP user with a slash", plivo.FormatE164, "sip:a/b@example.com", "/members/sip:a%2Fb@example.com", "sip:a/b@example.com"},
		{"SIP user with ; and ?", plivo.FormatE164, "sip:a;b?c@example.com", "/members/sip:a%3Bb%3Fc@example.com", "sip:a;b?c@example.com"},
		{"SIP user with an escaped space", plivo.FormatE164, "sip:bob%20smith@example.com", "/members/sip:bob%2520smith@example.com", "sip:bob%20smith@example.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startPlivo(t)
			c := newClient(t, srv.URL(), func(cfg *plivo.Config) { cfg.NumberFormat = tc.format })
			agent := mustEndpoint(t, tc.member)

			if _, err := c.WarmTransfer(t.Context(), mustEndpoint(t, "+14152225555"), agent, plivo.RoleAgent); err != nil {
				t.Fatalf("WarmTransfer: %v", err)
			}
			res, err := c.AbortTransfer(t.Context(), agent)
			if err != nil {
				t.Fatalf("AbortTransfer: %v", err)
			}
			if want := (plivo.Result{APIID: secondAPIID, Status: http.StatusCreated}); res != want {
				t.Errorf("Result = %+v, want %+v", res, want)
			}
			reqs := srv.Requests()
			if len(reqs) != 2 {
				t.Fatalf("Plivo got %d requests, want 2", len(reqs))
			}
			checkRequest(t, reqs[1], testNodePath+tc.wantPath, `{"action":"abort_transfer"}`)
			var transfer struct {
				TriggerSource string `json:"trigger_source"`
			}
			if err := json.Unmarshal(reqs[0].Body, &transfer); err != nil {
				t.Fatal(err)
			}
			if reqs[1].Member != tc.wantMember || transfer.TriggerSource != tc.wantMember {
				t.Errorf("Plivo read member %q from the path and trigger_source %q from the transfer, want both %q",
					reqs[1].Member, transfer.TriggerSource, tc.wantMember)
			}
		})
	}
}

func TestNewActionsInvalidArguments(t *testing.T) {
	srv := startPlivo(t)
	c := newClient(t, srv.URL(), nil)
	phone := mustEndpoint(t, "+14152225555")
	agent := mustEndpoint(t, "+14155550199")
	warm := func(to, trigger plivo.Endpoint, role plivo.Role) func() (plivo.Result, error) {
		return func() (plivo.Result, error) { return c.WarmTransfer(t.Context(), to, trigger, role) }
	}
	tests := []struct {
		name string
		call func() (plivo.Result, error)
		want string
	}{
		{"warm, zero to", warm(plivo.Endpoint{}, agent, plivo.RoleAgent), "plivo: warm_transfer: both to and trigger_source must be set"},
		{"warm, zero trigger_source", warm(phone, plivo.Endpoint{}, plivo.RoleAgent), "plivo: warm_transfer: both to and trigger_source must be set"},
		{"warm, unknown role", warm(phone, agent, "boss"), `plivo: warm_transfer: role "boss" is neither "agent" nor "customer"`},
		{"abort, zero member", func() (plivo.Result, error) { return c.AbortTransfer(t.Context(), plivo.Endpoint{}) }, "plivo: abort_transfer: the member must be set"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.call()
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
			if _, ok := errors.AsType[*plivo.Error](err); ok {
				t.Errorf("error is a *plivo.Error, want a plain programming error")
			}
		})
	}
	if n := srv.Count(); n != 0 {
		t.Errorf("Plivo got %d requests, want none", n)
	}
}

// Every action follows post's one rule: sent again only when it provably
// did not reach Plivo, or Plivo answered 429.
func TestActionsNeverResentOnceSent(t *testing.T) {
	tests := []struct {
		name      string
		responses []fakeplivo.Response
		timeout   time.Duration // the client's, when not 30s
		wantKind  plivo.ErrorKind
		posts     int
	}{
		{name: "500", responses: []fakeplivo.Response{{Status: 500, Body: `{"api_id":"a5","error":"internal error"}`}, {}}, wantKind: plivo.KindServerError, posts: 1},
		{name: "503 with Retry-After", responses: []fakeplivo.Response{{Status: 503, Header: http.Header{"Retry-After": {"0"}}}, {}}, wantKind: plivo.KindServerError, posts: 1},
		{name: "a proxy's page on 502", responses: []fakeplivo.Response{{Status: 502, Body: "<html>bad gateway</html>"}, {}}, wantKind: plivo.KindBadResponse, posts: 1},
		{name: "200 with an empty body", responses: []fakeplivo.Response{{Status: 200}, {}}, wantKind: plivo.KindBadResponse, posts: 1},
		{name: "redirect", responses: []fakeplivo.Response{{Status: 307, Header: http.Header{"Location": {"/elsewhere"}}}, {}}, wantKind: plivo.KindBadResponse, posts: 1},
		{name: "closed without an answer", responses: []fakeplivo.Response{{Hijack: true}, {}}, wantKind: plivo.KindConnectionLost, posts: 1},
		{name: "no answer in time", responses: []fakeplivo.Response{{Delay: time.Minute}, {}}, timeout: 300 * time.Millisecond, wantKind: plivo.KindTimeout, posts: 1},
		{name: "429 then 201", responses: []fakeplivo.Response{{Status: 429, Header: http.Header{"Retry-After": {"0"}}}, {}}, posts: 2},
	}
	for _, a := range actions {
		for _, tc := range tests {
			t.Run(a.name+"/"+tc.name, func(t *testing.T) {
				srv := startPlivo(t)
				srv.Respond(tc.responses...)
				c := newClient(t, srv.URL(), func(cfg *plivo.Config) {
					cfg.Timeout = 30 * time.Second
					if tc.timeout > 0 {
						cfg.Timeout = tc.timeout
					}
				})

				res, err := a.call(t.Context(), c, mustEndpoint(t, "+14152225555"), mustEndpoint(t, "+14155550199"))
				if tc.wantKind == 0 {
					if err != nil || res.APIID != secondAPIID {
						t.Errorf("%s = %+v, %v; want the second answer's %s", a.name, res, err, secondAPIID)
					}
				} else {
					perr := asError(t, err)
					if perr.Kind != tc.wantKind || perr.Action != a.action || !perr.MayHaveReachedPlivo() {
						t.Errorf("Kind, Action, MayHaveReachedPlivo = %v, %q, %v; want %v, %q, true (%q)",
							perr.Kind, perr.Action, perr.MayHaveReachedPlivo(), tc.wantKind, a.action, err)
					}
				}
				if n := srv.Count(); n != tc.posts {
					t.Errorf("Plivo got %d requests, want %d", n, tc.posts)
				}
			})
		}
	}
}

// A request that reached no one is tried again within the timeout, for
// every action.
func TestActionsRetriedWhenNothingSent(t *testing.T) {
	for _, a := range actions {
		t.Run(a.name, func(t *testing.T) {
			d := &dialer{dial: func(context.Context, string, string) (net.Conn, error) {
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
			}}
			c := newClient(t, "https://phlorunner.invalid", func(cfg *plivo.Config) {
				cfg.Timeout = 500 * time.Millisecond
				cfg.HTTPClient = d.client()
			})
			_, err := a.call(t.Context(), c, mustEndpoint(t, "+14152225555"), mustEndpoint(t, "+14155550199"))
			perr := asError(t, err)
			if perr.Kind != plivo.KindUnreachable || perr.MayHaveReachedPlivo() || perr.Action != a.action {
				t.Errorf("Kind, Action, MayHaveReachedPlivo = %v, %q, %v; want unreachable, %q, false", perr.Kind, perr.Action, perr.MayHaveReachedPlivo(), a.action)
			}
			if n := d.calls.Load(); n < 2 {
				t.Errorf("dialled %d times, want at least 2", n)
			}
		})
	}
}

// TestAbortTransferErrors checks what a supervisor reads when an abort
// fails.
func TestAbortTransferErrors(t *testing.T) {
	const mayHaveAborted = "the transfer may or may not have been aborted; check the call before trying again."
	tests := []struct {
		name      string
		responses []fakeplivo.Response
		timeout   time.Duration // the client's, when not 30s
		wantErr   *plivo.Error  // exported fields only
		sentence  string
		reached   bool
		posts     int
	}{
		{
			name:      "400 with text",
			responses: []fakeplivo.Response{{Status: 400, Body: `{"api_id":"a1","error":"no transfer in progress for this member"}`}},
			wantErr:   &plivo.Error{Kind: plivo.KindRejected, Status: 400, APIID: "a1", Message: "no transfer in progress for this member"},
			sentence:  "Plivo refused the abort (HTTP 400): no transfer in progress for this member.",
			posts:     1,
		},
		{
			name:      "400 without text",
			responses: []fakeplivo.Response{{Status: 400, Body: `{"api_id":"a2"}`}},
			wantErr:   &plivo.Error{Kind: plivo.KindRejected, Status: 400, APIID: "a2"},
			sentence:  "Plivo refused the abort (HTTP 400) without saying why.",
			posts:     1,
		},
		{
			name:      "2xx with error text",
			responses: []fakeplivo.Response{{Status: 201, Body: `{"api_id":"a3","error":"Member not found"}`}},
			wantErr:   &plivo.Error{Kind: plivo.KindRejected, Status: 201, APIID: "a3", Message: "Member not found"},
			sentence:  "Plivo refused the abort (HTTP 201): Member not found.",
			posts:     1,
		},
		{
			name:      "404 empty",
			responses: []fakeplivo.Response{{Status: 404}},
			wantErr:   &plivo.Error{Kind: plivo.KindNotFound, Status: 404},
			sentence:  "Plivo found no such PHLO, node or call member (HTTP 404): check that the agent who started the transfer is still on the call; if so, check PLIVO_PHLO_ID and PLIVO_NODE_ID, and that the PHLO is deployed.",
			posts:     1,
		},
		{
			name:      "404 with text",
			responses: []fakeplivo.Response{{Status: 404, Body: `{"api_id":"a4","error":"member not found"}`}},
			wantErr:   &plivo.Error{Kind: plivo.KindNotFound, Status: 404, APIID: "a4", Message: "member not found"},
			sentence:  `Plivo found no such PHLO, node or call member (HTTP 404, "member not found"): check that the agent who started the transfer is still on the call; if so, check PLIVO_PHLO_ID and PLIVO_NODE_ID, and that the PHLO is deployed.`,
			posts:     1,
		},
		{
			name:      "500 is not retried",
			responses: []fakeplivo.Response{{Status: 500, Body: `{"api_id":"a5","error":"internal error"}`}, {}},
			wantErr:   &plivo.Error{Kind: plivo.KindServerError, Status: 500, APIID: "a5", Message: "internal error"},
			sentence:  `Plivo had a server error (HTTP 500, "internal error"): ` + mayHaveAborted,
			reached:   true,
			posts:     1,
		},
		{
			name:      "a proxy's page on 403",
			responses: []fakeplivo.Response{{Status: 403, Body: "<html>forbidden</html>", Header: http.Header{"Content-Type": {"text/html"}}}},
			wantErr:   &plivo.Error{Kind: plivo.KindBadResponse, Status: 403},
			sentence:  "Plivo answered HTTP 403 with a page that is not JSON (a proxy in the way?): it was refused, so the transfer was not aborted.",
			posts:     1,
		},
		{
			name:      "closed without an answer",
			responses: []fakeplivo.Response{{Hijack: true}, {}},
			wantErr:   &plivo.Error{Kind: plivo.KindConnectionLost},
			sentence:  "Plivo closed the connection without answering: " + mayHaveAborted,
			reached:   true,
			posts:     1,
		},
		{
			name:      "no answer in time",
			responses: []fakeplivo.Response{{Delay: time.Minute}},
			timeout:   300 * time.Millisecond,
			wantErr:   &plivo.Error{Kind: plivo.KindTimeout, Timeout: 300 * time.Millisecond},
			sentence:  "Plivo did not answer within 300ms: " + mayHaveAborted,
			reached:   true,
			posts:     1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startPlivo(t)
			srv.Respond(tc.responses...)
			c := newClient(t, srv.URL(), func(cfg *plivo.Config) {
				cfg.Timeout = 30 * time.Second
				if tc.timeout > 0 {
					cfg.Timeout = tc.timeout
				}
			})

			res, err := c.AbortTransfer(t.Context(), mustEndpoint(t, "+14155550199"))
			if err == nil {
				t.Fatalf("AbortTransfer = %+v, want the supervisor to read %q", res, tc.sentence)
			}
			perr := asError(t, err)
			got := plivo.Error{Kind: perr.Kind, Status: perr.Status, APIID: perr.APIID, Message: perr.Message, Timeout: perr.Timeout}
			if got != *tc.wantErr {
				t.Errorf("Error = %+v, want %+v", got, *tc.wantErr)
			}
			if perr.Action != plivo.ActionAbortTransfer {
				t.Errorf("Action = %q, want %q", perr.Action, plivo.ActionAbortTransfer)
			}
			if got := err.Error(); got != tc.sentence {
				t.Errorf("the supervisor reads\n%q\nwant\n%q", got, tc.sentence)
			}
			if got := perr.MayHaveReachedPlivo(); got != tc.reached {
				t.Errorf("MayHaveReachedPlivo() = %v, want %v", got, tc.reached)
			}
			if n := srv.Count(); n != tc.posts {
				t.Errorf("Plivo got %d requests, want %d", n, tc.posts)
			}
		})
	}
}

// An abort that cannot reach Plivo, or is cancelled, says whether the
// transfer may have been aborted.
func TestAbortTransferNotSentOrCanceled(t *testing.T) {
	t.Run("dial hanging until the deadline", func(t *testing.T) {
		d := &dialer{dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}}
		c := newClient(t, "https://phlorunner.invalid", func(cfg *plivo.Config) {
			cfg.Timeout = 300 * time.Millisecond
			cfg.HTTPClient = d.client()
		})
		_, err := c.AbortTransfer(t.Context(), mustEndpoint(t, "+14155550199"))
		if want := "Could not reach Plivo within 300ms: nothing was sent."; err == nil || err.Error() != want {
			t.Errorf("the supervisor reads %v, want %q", err, want)
		}
	})
	t.Run("cancelled before sending", func(t *testing.T) {
		srv := startPlivo(t)
		c := newClient(t, srv.URL(), nil)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := c.AbortTransfer(ctx, mustEndpoint(t, "+14155550199"))
		if want := "The request to Plivo was cancelled before Plivo acted on it: the transfer was not aborted."; err == nil || err.Error() != want {
			t.Errorf("the supervisor reads %v, want %q", err, want)
		}
		if n := srv.Count(); n != 0 {
			t.Errorf("Plivo got %d requests, want none", n)
		}
	})
	t.Run("cancelled while Plivo works on it", func(t *testing.T) {
		srv := startPlivo(t)
		srv.Respond(fakeplivo.Response{Delay: time.Minute})
		c := newClient(t, srv.URL(), func(cfg *plivo.Config) { cfg.Timeout = 5 * time.Second })
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go func() {
			wctx, stop := context.WithTimeout(context.Background(), 5*time.Second)
			defer stop()
			if _, err := srv.WaitRequests(wctx, 1); err != nil {
				t.Errorf("WaitRequests: %v", err)
			}
			cancel()
		}()
		_, err := c.AbortTransfer(ctx, mustEndpoint(t, "+14155550199"))
		perr := asError(t, err)
		if want := "The request to Plivo was cancelled: the transfer may or may not have been aborted; check the call."; err.Error() != want {
			t.Errorf("the supervisor reads %q, want %q", err, want)
		}
		if !perr.MayHaveReachedPlivo() || srv.Count() != 1 {
			t.Errorf("MayHaveReachedPlivo = %v with %d requests, want true and 1", perr.MayHaveReachedPlivo(), srv.Count())
		}
	})
	t.Run("body cut off", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"api_id":"cut`)
			http.NewResponseController(w).Flush()
			panic(http.ErrAbortHandler)
		}))
		defer srv.Close()
		c := newClient(t, srv.URL, nil)
		_, err := c.AbortTransfer(t.Context(), mustEndpoint(t, "+14155550199"))
		if want := "Plivo's answer (HTTP 201) was cut off: the transfer may or may not have been aborted; check the call before trying again."; err == nil || err.Error() != want {
			t.Errorf("the supervisor reads %v, want %q", err, want)
		}
	})
}

// A warm transfer's failures speak of the warm transfer.
func TestWarmTransferErrors(t *testing.T) {
	const mayHaveStarted = "the warm transfer may or may not have started; check the call before trying again."
	tests := []struct {
		name      string
		responses []fakeplivo.Response
		sentence  string
	}{
		{"400 with text", []fakeplivo.Response{{Status: 400, Body: `{"api_id":"w1","error":"to is a mandatory param."}`}},
			"Plivo refused the warm transfer (HTTP 400): to is a mandatory param."},
		{"404", []fakeplivo.Response{{Status: 404, Body: `{}`}},
			"Plivo found no such PHLO or node (HTTP 404): check PLIVO_PHLO_ID and PLIVO_NODE_ID, and that the PHLO is deployed."},
		{"500", []fakeplivo.Response{{Status: 500}},
			"Plivo had a server error (HTTP 500): " + mayHaveStarted},
		{"a proxy's page on 407", []fakeplivo.Response{{Status: 407, Body: "<html>auth</html>"}},
			"Plivo answered HTTP 407 with a page that is not JSON (a proxy in the way?): it was refused, so the warm transfer was not started."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startPlivo(t)
			srv.Respond(tc.responses...)
			c := newClient(t, srv.URL(), nil)
			_, err := c.WarmTransfer(t.Context(), mustEndpoint(t, "+14152225555"), mustEndpoint(t, "+14155550199"), plivo.RoleAgent)
			if perr := asError(t, err); perr.Action != plivo.ActionWarmTransfer {
				t.Errorf("Action = %q, want %q", perr.Action, plivo.ActionWarmTransfer)
			}
			if err.Error() != tc.sentence {
				t.Errorf("the supervisor reads\n%q\nwant\n%q", err, tc.sentence)
			}
		})
	}
}
