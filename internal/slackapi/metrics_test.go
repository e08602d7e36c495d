package slackapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
)

// Each attempt's result label: ok, Slack's code, http_<status>, or what
// happened instead of an answer; and the body reaches slack-go unchanged.
func TestCallResult(t *testing.T) {
	answer := func(status int, body string) *http.Response {
		// Content-Length as Slack sends it, except on one answer in two.
		n := int64(len(body))
		if n%2 == 1 {
			n = -1
		}
		return &http.Response{StatusCode: status, ContentLength: n, Body: io.NopCloser(strings.NewReader(body))}
	}
	tests := []struct {
		name string
		resp *http.Response
		err  error
		want string
	}{
		{"ok", answer(200, `{"ok":true,"channel":"C1","ts":"1.2"}`), nil, "ok"},
		{"ok, not first", answer(200, `{ "channel": "C1", "ok": true }`), nil, "ok"},
		{"not ok, spaced", answer(200, `{ "ok" : false, "error": "is_archived" }`), nil, "is_archived"},
		{"Slack's error code", answer(200, `{"ok":false,"error":"not_in_channel"}`), nil, "not_in_channel"},
		{"ok:false without a code", answer(200, `{"ok":false}`), nil, "other_error"},
		{"a code that is no word", answer(200, `{"ok":false,"error":"U123 said <no>"}`), nil, "other_error"},
		{"a response_url's text", answer(200, "ok"), nil, "ok"},
		{"rate limited", answer(429, `{"ok":false,"error":"ratelimited"}`), nil, "http_429"},
		{"server error", answer(503, "<html>"), nil, "http_503"},
		{"deadline", nil, fmt.Errorf("post: %w", context.DeadlineExceeded), "net_timeout"},
		{"net timeout", nil, &url.Error{Op: "Post", URL: "x", Err: os.ErrDeadlineExceeded}, "net_timeout"},
		{"canceled", nil, &url.Error{Op: "Post", URL: "x", Err: context.Canceled}, "canceled"},
		{"reset", nil, errors.New("read: connection reset by peer"), "net_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before string
			if tt.resp != nil {
				data, _ := io.ReadAll(tt.resp.Body)
				before = string(data)
				tt.resp.Body = io.NopCloser(strings.NewReader(before))
			}
			if got := callResult(tt.resp, tt.err); got != tt.want {
				t.Errorf("result %q, want %q", got, tt.want)
			}
			if tt.resp != nil {
				after, err := io.ReadAll(tt.resp.Body)
				if err != nil || string(after) != before {
					t.Errorf("body after counting %q (%v), want %q unchanged", after, err, before)
				}
			}
		})
	}
}

// A body that breaks while being read still breaks for slack-go.
func TestCallResultKeepsAReadError(t *testing.T) {
	resp := &http.Response{StatusCode: 200, Body: io.NopCloser(io.MultiReader(strings.NewReader(`{"ok":`), errReader{io.ErrUnexpectedEOF}))}
	if got := callResult(resp, nil); got != "net_error" {
		t.Errorf("result %q, want net_error", got)
	}
	data, err := io.ReadAll(resp.Body)
	if string(data) != `{"ok":` || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("body %q, error %v; want what was read, then the same error", data, err)
	}
}

// The method label is the Web API method, and nothing else from a URL:
// a response_url carries ids and a secret.
func TestMethodLabel(t *testing.T) {
	d := &retryingDoer{apiURL: parseAPIURL("https://slack.example.com/api/")}
	tests := []struct{ url, want string }{
		{"https://slack.example.com/api/chat.postMessage", "chat.postMessage"},
		{"https://slack.example.com/api/apps.connections.open", "apps.connections.open"},
		{"https://hooks.slack.com/commands/T0001/123/secretXYZ", "response_url"},
		{"https://slack.example.com/response/7", "response_url"},
		{"https://slack.example.com/api/chat.postMessage/U123", "other"},
		{"https://slack.example.com/api/", "other"},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.url)
		if got := d.method(u); got != tt.want {
			t.Errorf("method(%s) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

// Counting a call reads its answer: this is what that costs.
func BenchmarkCallResult(b *testing.B) {
	body := `{"ok":true,"channel":"C0FLOOR","ts":"1700000000.000100","message":{"type":"message","text":"` +
		strings.Repeat("x", 1500) + `","ts":"1700000000.000100"}}`
	b.ReportAllocs()
	for b.Loop() {
		resp := &http.Response{StatusCode: 200, ContentLength: int64(len(body)), Body: io.NopCloser(strings.NewReader(body))}
		callResult(resp, nil)
		_, _ = io.Copy(io.Discard, resp.Body)
	}
}

// readBody takes the answer callResult read as it is, and refuses one
// longer than maxAnswer, said or not, rather than cut it short.
func TestReadBody(t *testing.T) {
	body := `{"ok":true,"channel":"C1","ts":"1.2"}`
	resp := &http.Response{StatusCode: 200, ContentLength: int64(len(body)), Body: io.NopCloser(strings.NewReader(body))}
	callResult(resp, nil)
	if allocs := testing.AllocsPerRun(10, func() {
		got, err := readBody(resp)
		if err != nil || string(got) != body {
			t.Fatalf("readBody after callResult = %q, %v; want %q", got, err, body)
		}
	}); allocs != 0 {
		t.Errorf("readBody after callResult allocated %.0f times, want none: the answer is read once", allocs)
	}

	for _, length := range []int64{-1, maxAnswer + 1} {
		huge := func() *http.Response {
			return &http.Response{StatusCode: 200, ContentLength: length, Body: io.NopCloser(strings.NewReader(strings.Repeat("x", maxAnswer+1)))}
		}
		if got, err := readBody(huge()); !errors.Is(err, errAnswerTooLong) {
			t.Errorf("readBody of an answer of %d bytes (Content-Length %d) = %d bytes, %v; want errAnswerTooLong", maxAnswer+1, length, len(got), err)
		}
		if got := callResult(huge(), nil); got != "net_error" {
			t.Errorf("callResult of an answer past maxAnswer = %q, want net_error", got)
		}
	}
	exact := strings.Repeat("x", maxAnswer)
	full := &http.Response{StatusCode: 200, ContentLength: -1, Body: io.NopCloser(strings.NewReader(exact))}
	if got, err := readBody(full); err != nil || len(got) != maxAnswer {
		t.Errorf("readBody of an answer of exactly maxAnswer bytes = %d bytes, %v; want all of it", len(got), err)
	}
}
