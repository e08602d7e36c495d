package slackapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// parseAPIURL parses the Web API base URL; nil when it does not parse, and
// then every request is counted as a response_url post.
func parseAPIURL(raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	return u
}

// countAs records one attempt of a request to Slack. Every attempt
// counts, retries included: Slack's rate limits count attempts, and a 429 or
// 5xx that a retry papered over is what an operator wants to see coming.
func (d *retryingDoer) countAs(method string, resp *http.Response, err error) {
	if d.metrics == nil {
		return
	}
	d.metrics.SlackCall(method, callResult(resp, err))
}

// method names the Web API method of a request to u ("chat.postMessage"),
// or "response_url" for anything that is not under the Web API base URL: a
// response_url carries ids and a secret, so it is never a label itself.
func (d *retryingDoer) method(u *url.URL) string {
	if d.apiURL == nil || u.Host != d.apiURL.Host {
		return "response_url"
	}
	m, ok := strings.CutPrefix(u.Path, d.apiURL.Path)
	if !ok {
		return "response_url"
	}
	if !isLabelWord(m, ".") {
		return "other"
	}
	return m
}

// callResult is the result label of one attempt: "ok", Slack's error code,
// "http_<status>" for any other status than 200, "net_timeout", "canceled"
// or "net_error" when no answer came. A 200 answer's body is read here to find
// Slack's "ok" and "error", and handed on unchanged.
func callResult(resp *http.Response, err error) string {
	if err != nil {
		if ne, ok := errors.AsType[net.Error](err); (ok && ne.Timeout()) || errors.Is(err, context.DeadlineExceeded) {
			return "net_timeout"
		}
		if errors.Is(err, context.Canceled) {
			return "canceled" // by the bot itself, e.g. shutting down: not Slack's failure
		}
		return "net_error"
	}
	if resp.StatusCode != http.StatusOK {
		return "http_" + strconv.Itoa(resp.StatusCode)
	}
	body, rerr := readBody(resp)
	resp.Body.Close()
	if rerr != nil {
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{rerr}))
		return "net_error"
	}
	resp.Body = bufferedBody{bytes.NewReader(body), body}
	if bytes.HasPrefix(body, okPrefix) {
		return "ok" // as nearly every answer starts: no need to parse it
	}
	var answer struct {
		OK    *bool  `json:"ok"`
		Error string `json:"error"`
	}
	// A body that is not Slack's JSON (a response_url answers "ok" as
	// text) came with a 200 all the same.
	if json.Unmarshal(body, &answer) != nil || answer.OK == nil || *answer.OK {
		return "ok"
	}
	if !isLabelWord(answer.Error, "") {
		return "other_error"
	}
	return answer.Error
}

// maxAnswer bounds how much of Slack's answer is read.
const maxAnswer = 1 << 20

// errAnswerTooLong is readBody's error for an answer longer than maxAnswer:
// cut short, it would read as another, broken answer.
var errAnswerTooLong = fmt.Errorf("Slack's answer is longer than %d bytes", maxAnswer)

// readBody reads resp's body, in one allocation when its length is known
// and none when callResult has read it already; a body longer than
// maxAnswer is an error.
func readBody(resp *http.Response) ([]byte, error) {
	if b, ok := resp.Body.(bufferedBody); ok && b.Len() == len(b.data) {
		return b.data, nil
	}
	if resp.ContentLength > maxAnswer {
		return nil, errAnswerTooLong
	}
	if resp.ContentLength <= 0 { // unknown (or none): read one byte past the bound to see it
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
		if err == nil && len(body) > maxAnswer {
			return nil, errAnswerTooLong
		}
		return body, err
	}
	var buf bytes.Buffer
	buf.Grow(int(resp.ContentLength) + bytes.MinRead) // ReadFrom wants MinRead free to read EOF
	_, err := buf.ReadFrom(resp.Body)
	return buf.Bytes(), err
}

// bufferedBody is an answer's body that callResult has read: a reader for
// whoever reads it as a body, and the bytes for readBody.
type bufferedBody struct {
	*bytes.Reader
	data []byte
}

func (bufferedBody) Close() error { return nil }

// okPrefix starts Slack's answer to a successful call.
var okPrefix = []byte(`{"ok":true`)

// isLabelWord reports whether s is a short word of ASCII letters, digits,
// underscores and the characters in extra, as Slack's method names and
// error codes are: anything else from the network stays out of a label.
func isLabelWord(s, extra string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || strings.ContainsRune(extra, r)) {
			return false
		}
	}
	return true
}

// errReader returns err once the body read before it is used up; nil err
// is io.EOF.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) {
	if r.err == nil {
		return 0, io.EOF
	}
	return 0, r.err
}
