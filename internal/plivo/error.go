package plivo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrorKind classifies a failed Plivo request by what the supervisor should
// do about it.
type ErrorKind int

// The kinds of Error.
const (
	// KindRejected: Plivo refused the request and said why (HTTP 400 and
	// other 4xx, or a 2xx whose error field is set).
	KindRejected ErrorKind = iota + 1
	// KindUnauthorized: Plivo rejected the credentials (HTTP 401).
	KindUnauthorized
	// KindForbidden: the PHLO is not enabled or the account not verified
	// (HTTP 403).
	KindForbidden
	// KindNotFound: no such PHLO or node, or the PHLO is not deployed
	// (HTTP 404).
	KindNotFound
	// KindRateLimited: Plivo asked us to slow down (HTTP 429), and kept
	// asking until retries ran out.
	KindRateLimited
	// KindServerError: Plivo failed (HTTP 5xx) and may have acted first.
	KindServerError
	// KindBadResponse: the answer was not Plivo's JSON (a proxy's page, an
	// empty or cut-off body, or a status Plivo never sends).
	KindBadResponse
	// KindConnectionLost: the connection broke after the request may have
	// been sent and before an answer arrived.
	KindConnectionLost
	// KindTimeout: Config.Timeout passed before Plivo answered.
	KindTimeout
	// KindUnreachable: no connection could be made; nothing was sent.
	KindUnreachable
	// KindCanceled: the caller's context ended first.
	KindCanceled
)

var kindNames = [...]string{
	KindRejected:       "rejected",
	KindUnauthorized:   "unauthorized",
	KindForbidden:      "forbidden",
	KindNotFound:       "not_found",
	KindRateLimited:    "rate_limited",
	KindServerError:    "server_error",
	KindBadResponse:    "bad_response",
	KindConnectionLost: "connection_lost",
	KindTimeout:        "timeout",
	KindUnreachable:    "unreachable",
	KindCanceled:       "canceled",
}

// String returns the kind's name for logs, such as "rate_limited".
func (k ErrorKind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("ErrorKind(%d)", int(k))
}

// Error is a failed Plivo request. Its Error method renders one sentence a
// contact-centre supervisor can act on; the underlying Go error, for logs, is
// reached with errors.Unwrap.
type Error struct {
	Kind    ErrorKind
	Status  int           // HTTP status, 0 when there was no response
	APIID   string        // Plivo's api_id, when the body had one
	Message string        // Plivo's own error text, when it gave one, without credentials
	Timeout time.Duration // for KindTimeout: the configured timeout
	// Action is what was asked of Plivo: ActionColdTransfer,
	// ActionWarmTransfer or ActionAbortTransfer. The sentence names it;
	// "" reads as a cold transfer.
	Action string

	cause error
	// sent reports, for KindTimeout and KindCanceled, whether the request
	// may have reached Plivo: a connection was made for it.
	sent bool
}

// MayHaveReachedPlivo reports whether Plivo may have acted on the request, so
// that the supervisor must check the call before trying again. It is false
// only when nothing was sent or Plivo clearly refused.
func (e *Error) MayHaveReachedPlivo() bool {
	switch e.Kind {
	case KindRejected, KindUnauthorized, KindForbidden, KindNotFound, KindRateLimited, KindUnreachable:
		return false
	case KindBadResponse:
		return !isClientError(e.Status)
	case KindTimeout, KindCanceled:
		return e.sent
	}
	return true // server errors, lost connections, and kinds unknown here
}

// Unwrap returns the underlying Go error, if any.
func (e *Error) Unwrap() error { return e.cause }

// wording is how an Error's sentence speaks of its action.
type wording struct {
	request string // what Plivo refused: "the transfer"
	mayHave string // the outcome when Plivo may have acted, after a colon
	// mayHaveCanceled is the shorter mayHave of a request the caller
	// cancelled.
	mayHaveCanceled string
	notDone         string // the outcome when Plivo did not act
	noSuch          string // what an HTTP 404 could not find
	check           string // what to check after an HTTP 404
}

// checkIDs is what to check when Plivo finds no PHLO or node.
const checkIDs = "check PLIVO_PHLO_ID and PLIVO_NODE_ID, and that the PHLO is deployed."

var (
	coldWording = wording{
		request:         "the transfer",
		mayHave:         "the call may or may not have been transferred; check it before trying again.",
		mayHaveCanceled: "the call may or may not have been transferred; check it.",
		notDone:         "the call was not transferred.",
		noSuch:          "PHLO or node",
		check:           checkIDs,
	}
	// A warm transfer starts a private talk; the call moves, if at all,
	// later and as the node is configured.
	warmWording = wording{
		request:         "the warm transfer",
		mayHave:         "the warm transfer may or may not have started; check the call before trying again.",
		mayHaveCanceled: "the warm transfer may or may not have started; check the call.",
		notDone:         "the warm transfer was not started.",
		noSuch:          "PHLO or node",
		check:           checkIDs,
	}
	// An abort is sent to a member's path: a 404 may be about the member.
	abortWording = wording{
		request:         "the abort",
		mayHave:         "the transfer may or may not have been aborted; check the call before trying again.",
		mayHaveCanceled: "the transfer may or may not have been aborted; check the call.",
		notDone:         "the transfer was not aborted.",
		noSuch:          "PHLO, node or call member",
		check:           "check that the agent who started the transfer is still on the call; if so, check PLIVO_PHLO_ID and PLIVO_NODE_ID, and that the PHLO is deployed.",
	}
)

// wording returns how e's sentence speaks of e.Action.
func (e *Error) wording() wording {
	switch e.Action {
	case ActionWarmTransfer:
		return warmWording
	case ActionAbortTransfer:
		return abortWording
	}
	return coldWording
}

// Error returns one sentence for the supervisor. It never contains a URL or
// a credential: Plivo's text is shown sanitised, the Go error never.
func (e *Error) Error() string {
	w := e.wording()
	switch e.Kind {
	case KindRejected:
		if e.Message == "" {
			return "Plivo refused " + w.request + e.status(" (HTTP %d)") + " without saying why."
		}
		return "Plivo refused " + w.request + e.status(" (HTTP %d)") + ": " + sentence(e.Message)
	case KindUnauthorized:
		return "Plivo rejected the credentials" + e.status(" (HTTP %d)") + ": check PLIVO_AUTH_ID and PLIVO_AUTH_TOKEN."
	case KindForbidden:
		return "Plivo refused access" + e.statusSaid() + ": the PHLO is not enabled or the account is not verified."
	case KindNotFound:
		return "Plivo found no such " + w.noSuch + e.statusSaid() + ": " + w.check
	case KindRateLimited:
		return "Plivo is rate-limiting requests" + e.status(" (HTTP %d)") + ": wait a few seconds and try again."
	case KindServerError:
		return "Plivo had a server error" + e.statusSaid() + ": " + w.mayHave
	case KindBadResponse:
		return e.badResponse(w)
	case KindConnectionLost:
		if errors.Is(e.cause, errClosedWithoutAnswer) {
			return "Plivo closed the connection without answering: " + w.mayHave
		}
		return "The connection to Plivo broke before it answered" + e.reason() + ": " + w.mayHave
	case KindTimeout:
		within := " in time"
		if e.Timeout > 0 {
			within = " within " + e.Timeout.String()
		}
		if !e.sent {
			return "Could not reach Plivo" + within + ": nothing was sent."
		}
		return "Plivo did not answer" + within + ": " + w.mayHave
	case KindUnreachable:
		return "Could not reach Plivo" + e.reason() + ": nothing was sent; check PLIVO_PHLO_URL and the network."
	case KindCanceled:
		if !e.sent {
			return "The request to Plivo was cancelled before Plivo acted on it: " + w.notDone
		}
		return "The request to Plivo was cancelled: " + w.mayHaveCanceled
	}
	return "The request to Plivo failed" + e.status(" (HTTP %d)") + ": " + w.mayHave
}

func (e *Error) badResponse(w wording) string {
	outcome := w.mayHave
	if isClientError(e.Status) {
		outcome = "it was refused, so " + w.notDone
	}
	switch {
	case errors.Is(e.cause, errEmptyBody):
		return "Plivo answered" + e.status(" HTTP %d") + " with an empty body: " + outcome
	case errors.Is(e.cause, errUnexpectedStatus):
		return "Plivo answered with an unexpected" + e.status(" HTTP %d") + ": " + outcome
	case errors.Is(e.cause, errBodyCut):
		return "Plivo's answer" + e.status(" (HTTP %d)") + " was cut off: " + outcome
	}
	return "Plivo answered" + e.status(" HTTP %d") + " with a page that is not JSON (a proxy in the way?): " + outcome
}

// status formats e.Status with format, or returns "" when there is none.
func (e *Error) status(format string) string {
	if e.Status == 0 {
		return ""
	}
	return fmt.Sprintf(format, e.Status)
}

// statusSaid is " (HTTP 403)", with Plivo's text added when it gave one:
// ` (HTTP 403, "PHLO disabled")`.
func (e *Error) statusSaid() string {
	switch {
	case e.Message == "":
		return e.status(" (HTTP %d)")
	case e.Status == 0:
		return fmt.Sprintf(" (%q)", e.Message)
	}
	return fmt.Sprintf(" (HTTP %d, %q)", e.Status, e.Message)
}

// reason names, in a few words, why the network failed: " (connection
// refused)". It never repeats the Go error, which may hold a URL.
func (e *Error) reason() string {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	var recordErr tls.RecordHeaderError
	var alertErr tls.AlertError
	var netErr net.Error
	var words string
	switch err := e.cause; {
	case err == nil:
	case errors.As(err, &dnsErr):
		words = "host not found"
		if !dnsErr.IsNotFound {
			words = "DNS lookup failed"
		}
	case errors.Is(err, syscall.ECONNREFUSED):
		words = "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		words = "connection reset"
	case errors.As(err, &certErr), errors.As(err, &unknownAuthority), errors.As(err, &hostnameErr):
		words = "TLS certificate not trusted"
	case errors.As(err, &recordErr), errors.As(err, &alertErr):
		words = "TLS handshake failed"
	case errors.As(err, &netErr) && netErr.Timeout():
		words = "dial timeout"
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		words = "network unreachable"
	}
	if words == "" {
		return ""
	}
	return " (" + words + ")"
}

func isClientError(status int) bool { return 400 <= status && status <= 499 }

// The causes of a KindBadResponse or KindConnectionLost that are not Go
// errors of their own.
var (
	errEmptyBody           = errors.New("plivo: empty response body")
	errNotJSON             = errors.New("plivo: response body is not JSON")
	errBodyCut             = errors.New("plivo: reading the response body failed")
	errUnexpectedStatus    = errors.New("plivo: unexpected HTTP status")
	errClosedWithoutAnswer = errors.New("plivo: connection closed without an answer")
	errTimedOut            = errors.New("plivo: request timed out")
)

// contextError is the Error for a request whose context ended. It tells a
// timeout of our own (Config.Timeout) from the caller's cancellation.
func contextError(ctx context.Context, timeout time.Duration, sent bool, err error) *Error {
	cause := ctx.Err()
	switch {
	case err == nil:
	case errors.Is(err, cause):
		cause = err
	default:
		cause = fmt.Errorf("%w: %w", cause, err)
	}
	if errors.Is(context.Cause(ctx), errTimedOut) {
		return &Error{Kind: KindTimeout, Timeout: timeout, cause: cause, sent: sent}
	}
	return &Error{Kind: KindCanceled, cause: cause, sent: sent}
}

// maxMessage bounds how much of Plivo's text a sentence repeats.
const maxMessage = 300

// cleanMessage makes Plivo's error text fit for a sentence: valid UTF-8,
// without credentials (see redactor), control characters and runs of space
// collapsed to one space, trimmed and cut at maxMessage characters.
func cleanMessage(s string, red *redactor) string {
	if s == "" {
		return ""
	}
	s = red.redact(strings.ToValidUTF8(s, "\uFFFD"))
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
	}), " ")
	// Again: a control character between "Basic" and its credential is a
	// space now, which the pattern needs.
	s = red.redact(s)
	if utf8.RuneCountInString(s) > maxMessage {
		s = string([]rune(s)[:maxMessage]) + "…"
	}
	return s
}

// redacted replaces a credential in any text the client passes on.
const redacted = "[redacted]"

// credentialText matches an Authorization header, quoted or not, and its
// value, and a Basic or Bearer credential on its own, including one already
// replaced by redacted. The credential after "Basic" or "Bearer" must be
// eight characters or more, so that prose like "basic plan" stays readable:
// a credential of this client's is longer, and is taken out in every
// spelling whatever its context.
var credentialText = regexp.MustCompile(`(?i)\b(?:proxy-)?authorization\b["']?\s*[:=]\s*(?:\\?["'])?(?:[a-z][a-z0-9!#$%&*+.^_|~-]*\s+)?[^\s"',;&]+` +
	`|\b(?:basic|bearer)\s+(?:\[redacted\]|[a-z0-9._~+/\\-]{8,}=*)`)

// redactor takes a client's credentials out of what Plivo (or a proxy in
// its place) sends back, since an answer may echo the request: the auth
// token, the id:token pair, their base64 in the standard and URL alphabets
// with and without padding, their URL escapes, and any Authorization header
// or Basic or Bearer credential. A nil *redactor knows no credentials but
// still removes headers and credentials by their look.
type redactor struct {
	forms []string // longest first, so that no form leaves part of a longer one
}

func newRedactor(authID, authToken string) *redactor {
	if authToken == "" {
		return &redactor{}
	}
	seen := map[string]bool{}
	var forms []string
	for _, secret := range []string{authToken, authID + ":" + authToken} {
		for _, form := range []string{
			secret,
			url.QueryEscape(secret),
			url.PathEscape(secret),
			base64.StdEncoding.EncodeToString([]byte(secret)),
			base64.RawStdEncoding.EncodeToString([]byte(secret)),
			base64.URLEncoding.EncodeToString([]byte(secret)),
			base64.RawURLEncoding.EncodeToString([]byte(secret)),
		} {
			if !seen[form] {
				seen[form] = true
				forms = append(forms, form)
			}
		}
	}
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	return &redactor{forms: forms}
}

// redact returns s without the credentials r knows, nor anything that
// looks like an Authorization header or a Basic or Bearer credential.
func (r *redactor) redact(s string) string {
	if r != nil {
		for _, form := range r.forms {
			s = strings.ReplaceAll(s, form, redacted)
		}
	}
	// The pattern needs ':' or '=' after "Authorization", and a space
	// after "Basic" or "Bearer": text with neither (an api_id) cannot match.
	if !strings.ContainsAny(s, ":= \t\n\f\r") {
		return s
	}
	return credentialText.ReplaceAllString(s, redacted)
}

// redactError returns err with its text redacted, for the audit line that
// logs it: errors.Is and errors.As still reach err.
func (r *redactor) redactError(err error) error {
	if err == nil {
		return nil
	}
	text := r.redact(err.Error())
	if text == err.Error() {
		return err
	}
	return &redactedError{err: err, text: text}
}

// redactedError is an error whose text had credentials in it.
type redactedError struct {
	err  error
	text string
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

// sentence ends s with a full stop unless it already ends a sentence.
func sentence(s string) string {
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "…") {
		return s
	}
	return s + "."
}

// observedResult names the result of a request for Config.Observe: the
// HTTP status when Plivo (or something in its place) answered, else what
// happened instead.
func observedResult(res Result, err error) string {
	if err == nil {
		return strconv.Itoa(res.Status)
	}
	e, ok := errors.AsType[*Error](err)
	switch {
	case !ok:
		return "error"
	case e.Kind == KindTimeout:
		return "timeout"
	case e.Kind == KindCanceled:
		return "canceled"
	case e.Status != 0:
		return strconv.Itoa(e.Status)
	}
	return e.Kind.String() // unreachable, connection_lost
}
