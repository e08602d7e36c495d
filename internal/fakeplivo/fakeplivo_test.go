package fakeplivo_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/fakeplivo"
)

const (
	authID    = "MAY2RJNZKZNJMWOTG4NT"
	authToken = "ZDk4NWY1Yzk2Y2Q0-s3cr3t"
	nodePath  = "/v1/phlo/phlo-1/multi_party_call/node-1"
	body      = `{"action":"cold_transfer","to":"+14152225555","role":"agent","trigger_source":"+14155550199"}`
)

func start(t *testing.T) *fakeplivo.Server {
	t.Helper()
	s := fakeplivo.New(authID, authToken)
	t.Cleanup(s.Close)
	return s
}

type answer struct {
	status int
	header http.Header
	body   string
}

// post sends one request as the client would, with id:token as Basic
// credentials when id is not empty.
func post(t *testing.T, ctx context.Context, url, id, token string) (answer, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if id != "" {
		req.SetBasicAuth(id, token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{resp.StatusCode, resp.Header, string(b)}, nil
}

func mustPost(t *testing.T, url, id, token string) answer {
	t.Helper()
	a, err := post(t, context.Background(), url, id, token)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	return a
}

func TestDefaultAnswer(t *testing.T) {
	s := start(t)
	for i, want := range []string{
		`{"api_id":"00000000-0000-4000-8000-000000000001","error":""}`,
		`{"api_id":"00000000-0000-4000-8000-000000000002","error":""}`,
	} {
		a := mustPost(t, s.URL()+nodePath, authID, authToken)
		if a.status != http.StatusCreated || a.body != want || a.header.Get("Content-Type") != "application/json" {
			t.Errorf("answer %d = %d %q %q, want 201 application/json %s", i, a.status, a.header.Get("Content-Type"), a.body, want)
		}
	}
}

func TestRecordsRequests(t *testing.T) {
	s := start(t)
	before := time.Now()
	mustPost(t, s.URL()+nodePath, authID, authToken)
	mustPost(t, s.URL()+nodePath+"/members/sip:a%2Fb@example.com", authID, "wrong")

	reqs := s.Requests()
	if len(reqs) != 2 || s.Count() != 2 {
		t.Fatalf("recorded %d requests (Count %d), want 2", len(reqs), s.Count())
	}
	tests := []struct {
		name string
		got  fakeplivo.Request
		path string
		tok  string
		ok   bool
	}{
		{"right credentials", reqs[0], nodePath, authToken, true},
		{"wrong token, escaped member path", reqs[1], nodePath + "/members/sip:a%2Fb@example.com", "wrong", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.got
			if r.Method != http.MethodPost || r.Path != tc.path || r.ContentType != "application/json" ||
				string(r.Body) != body || r.AuthID != authID || r.AuthToken != tc.tok || r.BasicAuthOK != tc.ok {
				t.Errorf("recorded %+v; want POST %s, application/json, the body, %s:%s, BasicAuthOK %v", r, tc.path, authID, tc.tok, tc.ok)
			}
			if r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("Header = %v, want the request's headers", r.Header)
			}
			if r.Received.Before(before) || r.Received.After(time.Now()) {
				t.Errorf("Received = %v, want during the test", r.Received)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		id, token  string
		wantStatus int
		wantBody   string
	}{
		{"no credentials", nodePath, "", "", 401, `{"api_id":"00000000-0000-4000-8000-000000000001","error":"Authentication failed"}`},
		{"wrong token", nodePath, authID, "nope", 401, `{"api_id":"00000000-0000-4000-8000-000000000001","error":"Authentication failed"}`},
		{"unknown path", "/v1/phlo/phlo-1/conference/node-1", authID, authToken, 404, `{}`},
		{"missing node", "/v1/phlo/phlo-1/multi_party_call/", authID, authToken, 404, `{}`},
		{"member path without member", nodePath + "/members/", authID, authToken, 404, `{}`},
		{"member path with another word", nodePath + "/people/x", authID, authToken, 404, `{}`},
		{"other version", "/v2/phlo/phlo-1/multi_party_call/node-1", authID, authToken, 404, `{}`},
		{"too deep", nodePath + "/members/x/y", authID, authToken, 404, `{}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t)
			// A scripted answer is for requests that get that far.
			s.Respond(fakeplivo.Response{Status: 200, Body: `{"api_id":"scripted","error":""}`})
			a := mustPost(t, s.URL()+tc.path, tc.id, tc.token)
			if a.status != tc.wantStatus || a.body != tc.wantBody {
				t.Errorf("answer = %d %s, want %d %s", a.status, a.body, tc.wantStatus, tc.wantBody)
			}
			if a := mustPost(t, s.URL()+nodePath, authID, authToken); a.body != `{"api_id":"scripted","error":""}` {
				t.Errorf("next good request got %s, want the scripted answer still unused", a.body)
			}
		})
	}
	t.Run("GET", func(t *testing.T) {
		s := start(t)
		req, _ := http.NewRequest(http.MethodGet, s.URL()+nodePath, nil)
		req.SetBasicAuth(authID, authToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || s.Count() != 1 {
			t.Errorf("GET = %d with %d recorded, want 405 and 1", resp.StatusCode, s.Count())
		}
	})
}

func TestRespondSequence(t *testing.T) {
	s := start(t)
	s.Respond(
		fakeplivo.Response{Status: 429, Header: http.Header{"Retry-After": {"3"}}},
		fakeplivo.Response{Status: 502, Body: "<html>bad gateway</html>", Header: http.Header{"Content-Type": {"text/html"}}},
		fakeplivo.Response{Status: 404},
	)
	want := []answer{
		{429, http.Header{"Retry-After": {"3"}, "Content-Type": nil}, ""},
		{502, http.Header{"Content-Type": {"text/html"}}, "<html>bad gateway</html>"},
		{404, http.Header{"Content-Type": nil}, ""},
		{404, http.Header{"Content-Type": nil}, ""}, // the last one repeats
	}
	for i, w := range want {
		a := mustPost(t, s.URL()+nodePath, authID, authToken)
		if a.status != w.status || a.body != w.body {
			t.Errorf("answer %d = %d %q, want %d %q", i, a.status, a.body, w.status, w.body)
		}
		for k, v := range w.header {
			if got := a.header.Get(k); got != strings.Join(v, "") {
				t.Errorf("answer %d header %s = %q, want %q", i, k, got, strings.Join(v, ""))
			}
		}
	}
	s.Respond()
	if a := mustPost(t, s.URL()+nodePath, authID, authToken); a.status != 201 || !strings.Contains(a.body, `"api_id":"00000000-0000-4000-8000-000000000005"`) {
		t.Errorf("after Respond() = %d %s, want the default 201 with a new id", a.status, a.body)
	}
}

func TestHijack(t *testing.T) {
	s := start(t)
	s.Respond(fakeplivo.Response{Hijack: true})
	_, err := post(t, context.Background(), s.URL()+nodePath, authID, authToken)
	if err == nil {
		t.Fatal("POST got an answer, want the connection closed without one")
	}
	if reqs := s.Requests(); len(reqs) != 1 || string(reqs[0].Body) != body {
		t.Errorf("recorded %+v, want the request read in full before the close", reqs)
	}
}

func TestDelay(t *testing.T) {
	t.Run("answers after the delay", func(t *testing.T) {
		s := start(t)
		s.Respond(fakeplivo.Response{Delay: 100 * time.Millisecond})
		start := time.Now()
		if a := mustPost(t, s.URL()+nodePath, authID, authToken); a.status != 201 {
			t.Fatalf("status %d, want 201", a.status)
		}
		if elapsed := time.Since(start); elapsed < 100*time.Millisecond {
			t.Errorf("answered after %v, want at least 100ms", elapsed)
		}
	})
	t.Run("Close ends a delayed answer", func(t *testing.T) {
		s := fakeplivo.New(authID, authToken)
		s.Respond(fakeplivo.Response{Delay: time.Hour})
		done := make(chan error, 1)
		go func() {
			_, err := post(t, context.Background(), s.URL()+nodePath, authID, authToken)
			done <- err
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := s.WaitRequests(ctx, 1); err != nil {
			t.Fatal(err)
		}
		closed := make(chan struct{})
		go func() { s.Close(); close(closed) }()
		select {
		case <-closed:
		case <-ctx.Done():
			t.Fatal("Close is still waiting for an answer delayed by an hour")
		}
		if err := <-done; err == nil {
			t.Error("the delayed request got an answer, want none")
		}
	})
}

func TestWaitRequests(t *testing.T) {
	s := start(t)
	const n = 50
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { mustPost(t, s.URL()+nodePath, authID, authToken) })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reqs, err := s.WaitRequests(ctx, n)
	if err != nil || len(reqs) < n {
		t.Fatalf("WaitRequests(%d) = %d requests, %v", n, len(reqs), err)
	}
	wg.Wait()

	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	reqs, err = s.WaitRequests(short, n+1)
	if !errors.Is(err, context.DeadlineExceeded) || len(reqs) != n {
		t.Errorf("WaitRequests(%d) = %d requests, %v; want %d and the context's error", n+1, len(reqs), err, n)
	}
	if want := "fakeplivo: 50 of 51 requests arrived: context deadline exceeded"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestRefusedURL(t *testing.T) {
	_, err := post(t, context.Background(), fakeplivo.RefusedURL(t)+nodePath, authID, authToken)
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("POST to RefusedURL: %v, want connection refused", err)
	}
}

// postBody sends body to url with the server's credentials.
func postBody(t *testing.T, url, body string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(authID, authToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func TestAcceptsActions(t *testing.T) {
	tests := []struct {
		name       string
		path       string // after the server's URL
		body       string
		wantAction string
		wantMember string
	}{
		{"cold transfer", nodePath, body, "cold_transfer", ""},
		{"warm transfer", nodePath, `{"action":"warm_transfer","to":"+14152225555","role":"agent","trigger_source":"+14155550199"}`, "warm_transfer", ""},
		{"call", nodePath, `{"action":"call","to":"+14152225555","role":"customer","trigger_source":"+14155550199"}`, "call", ""},
		{"abort, e164 member", nodePath + "/members/+14155550199", `{"action":"abort_transfer"}`, "abort_transfer", "+14155550199"},
		{"abort, digits member", nodePath + "/members/14155550199", `{"action":"abort_transfer"}`, "abort_transfer", "14155550199"},
		{"abort, SIP member", nodePath + "/members/sip:bob@example.com:5060", `{"action":"abort_transfer"}`, "abort_transfer", "sip:bob@example.com:5060"},
		{"abort, escaped member", nodePath + "/members/sip:a%2Fb%3Fc%2520d@example.com", `{"action":"abort_transfer"}`, "abort_transfer", "sip:a/b?c%20d@example.com"},
		{"abort, member with a space", nodePath + "/members/bob%20smith", `{"action":"abort_transfer"}`, "abort_transfer", "bob smith"},
		{"hold", nodePath + "/members/+14155550199", `{"action":"hold"}`, "hold", "+14155550199"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t)
			a := postBody(t, s.URL()+tc.path, tc.body)
			if want := `{"api_id":"00000000-0000-4000-8000-000000000001","error":""}`; a.status != http.StatusCreated || a.body != want {
				t.Errorf("answer = %d %s, want 201 %s", a.status, a.body, want)
			}
			reqs := s.Requests()
			if len(reqs) != 1 {
				t.Fatalf("recorded %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Path != tc.path || r.Action != tc.wantAction || r.Member != tc.wantMember || string(r.Body) != tc.body {
				t.Errorf("recorded path %q action %q member %q body %s; want %q %q %q %s",
					r.Path, r.Action, r.Member, r.Body, tc.path, tc.wantAction, tc.wantMember, tc.body)
			}
		})
	}
}

func TestRefusesActions(t *testing.T) {
	const memberPath = nodePath + "/members/+14155550199"
	const id = "00000000-0000-4000-8000-000000000001"
	tests := []struct {
		name       string
		path       string
		body       string
		wantAction string
		wantBody   string
	}{
		{"cold transfer to a member", memberPath, body, "cold_transfer",
			`{"api_id":"` + id + `","error":"invalid member action \"cold_transfer\": it must be one of hold, unhold, hangup, abort_transfer, resume_call, voicemail_drop."}`},
		{"unknown member action", memberPath, `{"action":"abort"}`, "abort",
			`{"api_id":"` + id + `","error":"invalid member action \"abort\": it must be one of hold, unhold, hangup, abort_transfer, resume_call, voicemail_drop."}`},
		{"abort on the node", nodePath, `{"action":"abort_transfer"}`, "abort_transfer",
			`{"api_id":"` + id + `","error":"invalid action \"abort_transfer\": it must be one of call, warm_transfer, cold_transfer."}`},
		{"unknown node action", nodePath, `{"action":"blind_transfer"}`, "blind_transfer",
			`{"api_id":"` + id + `","error":"invalid action \"blind_transfer\": it must be one of call, warm_transfer, cold_transfer."}`},
		{"no action", memberPath, `{}`, "", `{"api_id":"` + id + `","error":"action is a mandatory param."}`},
		{"not JSON", nodePath, `action=cold_transfer`, "", `{"api_id":"` + id + `","error":"action is a mandatory param."}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t)
			s.Respond(fakeplivo.Response{Status: 200, Body: `{"api_id":"scripted","error":""}`})
			a := postBody(t, s.URL()+tc.path, tc.body)
			if a.status != http.StatusBadRequest || a.body != tc.wantBody || a.header.Get("Content-Type") != "application/json" {
				t.Errorf("answer = %d %q %s\nwant 400 application/json %s", a.status, a.header.Get("Content-Type"), a.body, tc.wantBody)
			}
			if r := s.Requests()[0]; r.Action != tc.wantAction {
				t.Errorf("recorded action %q, want %q", r.Action, tc.wantAction)
			}
			// A refusal is for requests Plivo would not act on.
			if a := mustPost(t, s.URL()+nodePath, authID, authToken); a.body != `{"api_id":"scripted","error":""}` {
				t.Errorf("next good request got %s, want the scripted answer still unused", a.body)
			}
		})
	}
}
