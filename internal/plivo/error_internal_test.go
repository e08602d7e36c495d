package plivo

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

const mayHave = "the call may or may not have been transferred; check it before trying again."

// errorCases are one of each Error the client makes, with the sentence the
// supervisor reads and whether Plivo may have acted.
var errorCases = []struct {
	name     string
	err      *Error
	sentence string
	reached  bool
}{
	{"rejected with text", &Error{Kind: KindRejected, Status: 400, Message: "to is a mandatory param."},
		"Plivo refused the transfer (HTTP 400): to is a mandatory param.", false},
	{"rejected text without full stop", &Error{Kind: KindRejected, Status: 400, Message: "invalid role"},
		"Plivo refused the transfer (HTTP 400): invalid role.", false},
	{"rejected without text", &Error{Kind: KindRejected, Status: 409},
		"Plivo refused the transfer (HTTP 409) without saying why.", false},
	{"rejected on 2xx", &Error{Kind: KindRejected, Status: 201, Message: "member not on the call"},
		"Plivo refused the transfer (HTTP 201): member not on the call.", false},
	{"unauthorized", &Error{Kind: KindUnauthorized, Status: 401, Message: "Authentication failed"},
		"Plivo rejected the credentials (HTTP 401): check PLIVO_AUTH_ID and PLIVO_AUTH_TOKEN.", false},
	{"forbidden", &Error{Kind: KindForbidden, Status: 403},
		"Plivo refused access (HTTP 403): the PHLO is not enabled or the account is not verified.", false},
	{"forbidden with text", &Error{Kind: KindForbidden, Status: 403, Message: `account "x" not verified`},
		`Plivo refused access (HTTP 403, "account \"x\" not verified"): the PHLO is not enabled or the account is not verified.`, false},
	{"not found", &Error{Kind: KindNotFound, Status: 404},
		"Plivo found no such PHLO or node (HTTP 404): check PLIVO_PHLO_ID and PLIVO_NODE_ID, and that the PHLO is deployed.", false},
	{"rate limited", &Error{Kind: KindRateLimited, Status: 429},
		"Plivo is rate-limiting requests (HTTP 429): wait a few seconds and try again.", false},
	{"server error", &Error{Kind: KindServerError, Status: 502},
		"Plivo had a server error (HTTP 502): " + mayHave, true},
	{"server error with text", &Error{Kind: KindServerError, Status: 500, Message: "internal error"},
		`Plivo had a server error (HTTP 500, "internal error"): ` + mayHave, true},
	{"server error with text and no status", &Error{Kind: KindServerError, Message: "internal error"},
		`Plivo had a server error ("internal error"): ` + mayHave, true},
	{"not JSON on 5xx", &Error{Kind: KindBadResponse, Status: 502, cause: errNotJSON},
		"Plivo answered HTTP 502 with a page that is not JSON (a proxy in the way?): " + mayHave, true},
	{"not JSON on 2xx", &Error{Kind: KindBadResponse, Status: 200, cause: errNotJSON},
		"Plivo answered HTTP 200 with a page that is not JSON (a proxy in the way?): " + mayHave, true},
	{"not JSON on 4xx", &Error{Kind: KindBadResponse, Status: 407, cause: errNotJSON},
		"Plivo answered HTTP 407 with a page that is not JSON (a proxy in the way?): it was refused, so the call was not transferred.", false},
	{"empty 2xx", &Error{Kind: KindBadResponse, Status: 201, cause: errEmptyBody},
		"Plivo answered HTTP 201 with an empty body: " + mayHave, true},
	{"unexpected status", &Error{Kind: KindBadResponse, Status: 302, cause: errUnexpectedStatus},
		"Plivo answered with an unexpected HTTP 302: " + mayHave, true},
	{"body cut off", &Error{Kind: KindBadResponse, Status: 201, cause: fmt.Errorf("%w: %w", errBodyCut, syscall.ECONNRESET)},
		"Plivo's answer (HTTP 201) was cut off: " + mayHave, true},
	{"closed without answer", &Error{Kind: KindConnectionLost, cause: fmt.Errorf("%w: EOF", errClosedWithoutAnswer)},
		"Plivo closed the connection without answering: " + mayHave, true},
	{"connection reset", &Error{Kind: KindConnectionLost, cause: &net.OpError{Op: "read", Err: syscall.ECONNRESET}},
		"The connection to Plivo broke before it answered (connection reset): " + mayHave, true},
	{"timeout after sending", &Error{Kind: KindTimeout, Timeout: 10 * time.Second, sent: true},
		"Plivo did not answer within 10s: " + mayHave, true},
	{"timeout before sending", &Error{Kind: KindTimeout, Timeout: 10 * time.Second},
		"Could not reach Plivo within 10s: nothing was sent.", false},
	{"timeout of unknown length", &Error{Kind: KindTimeout, sent: true},
		"Plivo did not answer in time: " + mayHave, true},
	{"connection refused", &Error{Kind: KindUnreachable, cause: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}},
		"Could not reach Plivo (connection refused): nothing was sent; check PLIVO_PHLO_URL and the network.", false},
	{"host not found", &Error{Kind: KindUnreachable, cause: &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}},
		"Could not reach Plivo (host not found): nothing was sent; check PLIVO_PHLO_URL and the network.", false},
	{"DNS failure", &Error{Kind: KindUnreachable, cause: &net.DNSError{Err: "server misbehaving", Name: "x", IsTemporary: true}},
		"Could not reach Plivo (DNS lookup failed): nothing was sent; check PLIVO_PHLO_URL and the network.", false},
	{"dial timeout", &Error{Kind: KindUnreachable, cause: &net.OpError{Op: "dial", Err: timeoutError{}}},
		"Could not reach Plivo (dial timeout): nothing was sent; check PLIVO_PHLO_URL and the network.", false},
	{"TLS handshake", &Error{Kind: KindUnreachable, cause: tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}},
		"Could not reach Plivo (TLS handshake failed): nothing was sent; check PLIVO_PHLO_URL and the network.", false},
	{"TLS certificate", &Error{Kind: KindUnreachable, cause: &tls.CertificateVerificationError{Err: errors.New("x509: certificate signed by unknown authority")}},
		"Could not reach Plivo (TLS certificate not trusted): nothing was sent; check PLIVO_PHLO_URL and the network.", false},
	{"network unreachable", &Error{Kind: KindUnreachable, cause: &net.OpError{Op: "dial", Err: syscall.ENETUNREACH}},
		"Could not reach Plivo (network unreachable): nothing was sent; check PLIVO_PHLO_URL and the network.", false},
	{"unreachable for another reason", &Error{Kind: KindUnreachable, cause: errors.New("proxyconnect tcp: something")},
		"Could not reach Plivo: nothing was sent; check PLIVO_PHLO_URL and the network.", false},
	{"cancelled after sending", &Error{Kind: KindCanceled, sent: true},
		"The request to Plivo was cancelled: the call may or may not have been transferred; check it.", true},
	{"cancelled before sending", &Error{Kind: KindCanceled},
		"The request to Plivo was cancelled before Plivo acted on it: the call was not transferred.", false},
	{"zero Error", &Error{},
		"The request to Plivo failed: " + mayHave, true},
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func TestErrorSentences(t *testing.T) {
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.sentence {
				t.Errorf("Error()\n got: %s\nwant: %s", got, tc.sentence)
			}
			if got := tc.err.MayHaveReachedPlivo(); got != tc.reached {
				t.Errorf("MayHaveReachedPlivo() = %v, want %v", got, tc.reached)
			}
		})
	}
}

// TestErrorNeverShowsSecrets gives every Error a cause that holds the auth
// token and a URL with credentials, as a Go error dump would, and checks
// that the supervisor's sentence shows neither.
func TestErrorNeverShowsSecrets(t *testing.T) {
	secretURL := "https://" + testAuthID + ":" + testAuthToken + "@phlorunner.plivo.com/v1/phlo/p"
	leak := fmt.Errorf("Post %q: dial tcp: Authorization: Basic %s", secretURL, testAuthToken)
	for _, tc := range errorCases {
		for _, cause := range []error{leak, fmt.Errorf("%w: %w", leak, syscall.ECONNREFUSED), fmt.Errorf("%w: %w", errNotJSON, leak)} {
			e := *tc.err
			e.cause = cause
			got := e.Error()
			for _, secret := range []string{testAuthToken, secretURL, "Basic ", "Post "} {
				if strings.Contains(got, secret) {
					t.Errorf("%s: the supervisor reads %q, which shows %q", tc.name, got, secret)
				}
			}
		}
	}
}

func TestContextError(t *testing.T) {
	t.Run("our timeout", func(t *testing.T) {
		ctx, cancel := context.WithTimeoutCause(context.Background(), 0, errTimedOut)
		defer cancel()
		<-ctx.Done()
		e := contextError(ctx, 3*time.Second, true, errors.New("read: i/o timeout"))
		if e.Kind != KindTimeout || e.Timeout != 3*time.Second || !e.sent {
			t.Errorf("contextError = %+v, want a sent timeout of 3s", e)
		}
		if !errors.Is(e, context.DeadlineExceeded) {
			t.Errorf("errors.Is(%v, DeadlineExceeded) = false", e.cause)
		}
	})
	t.Run("caller cancels", func(t *testing.T) {
		parent, cancelParent := context.WithCancel(context.Background())
		ctx, cancel := context.WithTimeoutCause(parent, time.Hour, errTimedOut)
		defer cancel()
		cancelParent()
		e := contextError(ctx, time.Hour, false, nil)
		if e.Kind != KindCanceled || e.sent || e.Timeout != 0 {
			t.Errorf("contextError = %+v, want an unsent cancellation", e)
		}
		if !errors.Is(e, context.Canceled) {
			t.Errorf("errors.Is(%v, Canceled) = false", e.cause)
		}
	})
}

func TestCleanMessage(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "to is a mandatory param.", "to is a mandatory param."},
		{"trimmed", "  \n to is a mandatory param.\t ", "to is a mandatory param."},
		{"control characters", "bad\x00role\x1b[31m\u0085value\u2028x", "bad role [31m value x"},
		{"invalid UTF-8", "bad \xff role", "bad \uFFFD role"},
		{"secret", "token " + testAuthToken + " rejected", "token [redacted] rejected"},
		{"header split by a control character", "got Basic\x00" + basicCredential, "got [redacted]"},
		{"capped", strings.Repeat("é", 301), strings.Repeat("é", 300) + "…"},
		{"at the cap", strings.Repeat("é", 300), strings.Repeat("é", 300)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := cleanMessage(tc.in, newRedactor(testAuthID, testAuthToken)); got != tc.want {
				t.Errorf("cleanMessage(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestErrorKindString(t *testing.T) {
	tests := []struct {
		kind ErrorKind
		want string
	}{
		{KindRejected, "rejected"},
		{KindUnauthorized, "unauthorized"},
		{KindForbidden, "forbidden"},
		{KindNotFound, "not_found"},
		{KindRateLimited, "rate_limited"},
		{KindServerError, "server_error"},
		{KindBadResponse, "bad_response"},
		{KindConnectionLost, "connection_lost"},
		{KindTimeout, "timeout"},
		{KindUnreachable, "unreachable"},
		{KindCanceled, "canceled"},
		{0, "ErrorKind(0)"},
		{KindCanceled + 1, fmt.Sprintf("ErrorKind(%d)", int(KindCanceled)+1)},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.kind.String(); got != tc.want {
				t.Errorf("ErrorKind(%d).String() = %q, want %q", int(tc.kind), got, tc.want)
			}
		})
	}
}

// basicCredential is the base64 of testAuthID:testAuthToken, as the
// Authorization header of the test client carries it.
var basicCredential = base64.StdEncoding.EncodeToString([]byte(testAuthID + ":" + testAuthToken))

func TestRedact(t *testing.T) {
	const token = "s3cr3t~~~???PlivoToken" // its base64 has +, / and padding
	pair := testAuthID + ":" + token
	std := base64.StdEncoding.EncodeToString([]byte(pair))
	red := newRedactor(testAuthID, token)
	tests := []struct {
		name, in, want string
	}{
		{"token", "bad token " + token + ".", "bad token [redacted]."},
		{"id and token", "user " + pair + " refused", "user [redacted] refused"},
		{"base64 of the pair", "got " + std + " here", "got [redacted] here"},
		{"header", "Authorization: Basic " + std + "\r\nHost: phlorunner", "[redacted]\r\nHost: phlorunner"},
		{"header in lower case, no space", "authorization:basic " + std, "[redacted]"},
		{"header in JSON", `{"Authorization":"Basic ` + std + `"}`, `{"[redacted]"}`},
		{"header as a query parameter", "/v1?authorization=Bearer%20abc123&x=1", "/v1?[redacted]&x=1"},
		{"proxy header", "Proxy-Authorization: Basic Zm9vOmJhcg==", "[redacted]"},
		{"someone else's Basic", "bad Basic dXNlcjpwYXNzd29yZA== given", "bad [redacted] given"},
		{"bearer", "token Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc rejected", "token [redacted] rejected"},
		{"URL-escaped token", "pw=" + url.QueryEscape(token), "pw=[redacted]"},
		{"prose kept", "Basic plan accounts cannot transfer; authorization failed", "Basic plan accounts cannot transfer; authorization failed"},
		{"nothing to take out", "to is a mandatory param.", "to is a mandatory param."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := red.redact(tc.in); got != tc.want {
				t.Errorf("redact(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}

	t.Run("every encoding", func(t *testing.T) {
		for _, secret := range []string{token, pair} {
			forms := []string{secret, url.QueryEscape(secret), url.PathEscape(secret)}
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
				forms = append(forms, enc.EncodeToString([]byte(secret)))
			}
			for _, form := range forms {
				got := red.redact("x " + form + " y")
				if strings.Contains(got, form) || strings.Contains(got, token) || got != "x [redacted] y" {
					t.Errorf("redact(%q) = %q, want %q", "x "+form+" y", got, "x [redacted] y")
				}
			}
		}
	})

	t.Run("no credentials known", func(t *testing.T) {
		var none *redactor
		if got := none.redact("Authorization: Basic " + std); got != redacted {
			t.Errorf("nil redactor: redact = %q, want %q", got, redacted)
		}
	})
}

func TestRedactError(t *testing.T) {
	red := newRedactor(testAuthID, testAuthToken)
	leak := fmt.Errorf("proxy refused Authorization: Basic %s: %w", basicCredential, syscall.ECONNREFUSED)
	got := red.redactError(leak)
	if strings.Contains(got.Error(), basicCredential) || strings.Contains(got.Error(), "Basic ") {
		t.Errorf("redactError(%q) = %q, which shows the credential", leak, got)
	}
	if !errors.Is(got, syscall.ECONNREFUSED) {
		t.Errorf("errors.Is(redactError(%q), ECONNREFUSED) = false: the error underneath is lost", leak)
	}
	plain := errors.New("connection refused")
	if got := red.redactError(plain); got != plain {
		t.Errorf("redactError(%q) = %#v, want the same error", plain, got)
	}
	if red.redactError(nil) != nil {
		t.Error("redactError(nil) is not nil")
	}
}

// A cold transfer's sentences are the same whether its Action is set or
// not, so that an Error made before Action existed reads as it did.
func TestErrorSentencesColdAction(t *testing.T) {
	for _, tc := range errorCases {
		e := *tc.err
		e.Action = ActionColdTransfer
		if got := e.Error(); got != tc.sentence {
			t.Errorf("%s with Action %q:\n got: %s\nwant: %s", tc.name, e.Action, got, tc.sentence)
		}
	}
}

// actionCases are the sentences of a warm transfer's and an abort's
// errors, one of each kind, where their words differ from a cold
// transfer's or where they must not.
var actionCases = []struct {
	name     string
	err      *Error
	sentence string
}{
	{"abort rejected with text", &Error{Action: ActionAbortTransfer, Kind: KindRejected, Status: 400, Message: "no transfer to abort"},
		"Plivo refused the abort (HTTP 400): no transfer to abort."},
	{"abort rejected without text", &Error{Action: ActionAbortTransfer, Kind: KindRejected, Status: 409},
		"Plivo refused the abort (HTTP 409) without saying why."},
	{"abort unauthorized", &Error{Action: ActionAbortTransfer, Kind: KindUnauthorized, Status: 401},
		"Plivo rejected the credentials (HTTP 401): check PLIVO_AUTH_ID and PLIVO_AUTH_TOKEN."},
	{"abort forbidden", &Error{Action: ActionAbortTransfer, Kind: KindForbidden, Status: 403},
		"Plivo refused access (HTTP 403): the PHLO is not enabled or the account is not verified."},
	{"abort not found", &Error{Action: ActionAbortTransfer, Kind: KindNotFound, Status: 404},
		"Plivo found no such PHLO, node or call member (HTTP 404): check that the agent who started the transfer is still on the call; if so, check PLIVO_PHLO_ID and PLIVO_NODE_ID, and that the PHLO is deployed."},
	{"abort rate limited", &Error{Action: ActionAbortTransfer, Kind: KindRateLimited, Status: 429},
		"Plivo is rate-limiting requests (HTTP 429): wait a few seconds and try again."},
	{"abort server error", &Error{Action: ActionAbortTransfer, Kind: KindServerError, Status: 500},
		"Plivo had a server error (HTTP 500): the transfer may or may not have been aborted; check the call before trying again."},
	{"abort not JSON on 5xx", &Error{Action: ActionAbortTransfer, Kind: KindBadResponse, Status: 502, cause: errNotJSON},
		"Plivo answered HTTP 502 with a page that is not JSON (a proxy in the way?): the transfer may or may not have been aborted; check the call before trying again."},
	{"abort not JSON on 4xx", &Error{Action: ActionAbortTransfer, Kind: KindBadResponse, Status: 407, cause: errNotJSON},
		"Plivo answered HTTP 407 with a page that is not JSON (a proxy in the way?): it was refused, so the transfer was not aborted."},
	{"abort empty 2xx", &Error{Action: ActionAbortTransfer, Kind: KindBadResponse, Status: 201, cause: errEmptyBody},
		"Plivo answered HTTP 201 with an empty body: the transfer may or may not have been aborted; check the call before trying again."},
	{"abort unexpected status", &Error{Action: ActionAbortTransfer, Kind: KindBadResponse, Status: 302, cause: errUnexpectedStatus},
		"Plivo answered with an unexpected HTTP 302: the transfer may or may not have been aborted; check the call before trying again."},
	{"abort closed without answer", &Error{Action: ActionAbortTransfer, Kind: KindConnectionLost, cause: errClosedWithoutAnswer},
		"Plivo closed the connection without answering: the transfer may or may not have been aborted; check the call before trying again."},
	{"abort connection reset", &Error{Action: ActionAbortTransfer, Kind: KindConnectionLost, cause: &net.OpError{Op: "read", Err: syscall.ECONNRESET}},
		"The connection to Plivo broke before it answered (connection reset): the transfer may or may not have been aborted; check the call before trying again."},
	{"abort timeout after sending", &Error{Action: ActionAbortTransfer, Kind: KindTimeout, Timeout: 10 * time.Second, sent: true},
		"Plivo did not answer within 10s: the transfer may or may not have been aborted; check the call before trying again."},
	{"abort timeout before sending", &Error{Action: ActionAbortTransfer, Kind: KindTimeout, Timeout: 10 * time.Second},
		"Could not reach Plivo within 10s: nothing was sent."},
	{"abort unreachable", &Error{Action: ActionAbortTransfer, Kind: KindUnreachable, cause: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}},
		"Could not reach Plivo (connection refused): nothing was sent; check PLIVO_PHLO_URL and the network."},
	{"abort cancelled after sending", &Error{Action: ActionAbortTransfer, Kind: KindCanceled, sent: true},
		"The request to Plivo was cancelled: the transfer may or may not have been aborted; check the call."},
	{"abort cancelled before sending", &Error{Action: ActionAbortTransfer, Kind: KindCanceled},
		"The request to Plivo was cancelled before Plivo acted on it: the transfer was not aborted."},
	{"abort of unknown kind", &Error{Action: ActionAbortTransfer, Status: 500},
		"The request to Plivo failed (HTTP 500): the transfer may or may not have been aborted; check the call before trying again."},

	{"warm rejected", &Error{Action: ActionWarmTransfer, Kind: KindRejected, Status: 400, Message: "to is a mandatory param."},
		"Plivo refused the warm transfer (HTTP 400): to is a mandatory param."},
	{"warm not found", &Error{Action: ActionWarmTransfer, Kind: KindNotFound, Status: 404},
		"Plivo found no such PHLO or node (HTTP 404): check PLIVO_PHLO_ID and PLIVO_NODE_ID, and that the PHLO is deployed."},
	{"warm server error", &Error{Action: ActionWarmTransfer, Kind: KindServerError, Status: 500},
		"Plivo had a server error (HTTP 500): the warm transfer may or may not have started; check the call before trying again."},
	{"warm not JSON on 4xx", &Error{Action: ActionWarmTransfer, Kind: KindBadResponse, Status: 407, cause: errNotJSON},
		"Plivo answered HTTP 407 with a page that is not JSON (a proxy in the way?): it was refused, so the warm transfer was not started."},
	{"warm timeout after sending", &Error{Action: ActionWarmTransfer, Kind: KindTimeout, Timeout: 10 * time.Second, sent: true},
		"Plivo did not answer within 10s: the warm transfer may or may not have started; check the call before trying again."},
	{"warm cancelled after sending", &Error{Action: ActionWarmTransfer, Kind: KindCanceled, sent: true},
		"The request to Plivo was cancelled: the warm transfer may or may not have started; check the call."},
	{"warm cancelled before sending", &Error{Action: ActionWarmTransfer, Kind: KindCanceled},
		"The request to Plivo was cancelled before Plivo acted on it: the warm transfer was not started."},
}

func TestErrorSentencesPerAction(t *testing.T) {
	for _, tc := range actionCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.sentence {
				t.Errorf("Error()\n got: %s\nwant: %s", got, tc.sentence)
			}
			// Whether Plivo may have acted does not depend on the action.
			cold := *tc.err
			cold.Action = ""
			if tc.err.MayHaveReachedPlivo() != cold.MayHaveReachedPlivo() {
				t.Errorf("MayHaveReachedPlivo() = %v, but %v for a cold transfer", tc.err.MayHaveReachedPlivo(), cold.MayHaveReachedPlivo())
			}
		})
	}
}

// FuzzRedactSkipsOnlyWhatCannotMatch: redact skips the credential pattern
// for text with no ':', '=' or space; on any text its answer is the
// pattern's own.
func FuzzRedactSkipsOnlyWhatCannotMatch(f *testing.F) {
	for _, s := range []string{"7b8f8e6e-1a2b-11ef-9c1d-0242ac110002", "Authorization:Basic" + basicCredential,
		"authorization=x", "Bearer\teyJhbGciOiJIUzI1NiJ9", "basic\vdXNlcjpwYXNzd29yZA==", "Basic\u00a0dXNlcjpwYXNzd29yZA==", ""} {
		f.Add(s)
	}
	red := newRedactor(testAuthID, testAuthToken)
	f.Fuzz(func(t *testing.T, s string) {
		want := s
		for _, form := range red.forms {
			want = strings.ReplaceAll(want, form, redacted)
		}
		want = credentialText.ReplaceAllString(want, redacted)
		if got := red.redact(s); got != want {
			t.Errorf("redact(%q) = %q, the pattern gives %q", s, got, want)
		}
	})
}
