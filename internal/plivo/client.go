package plivo

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/retryafter"
)

// Config configures a Client. BaseURL, AuthID, AuthToken, PhloID and NodeID
// are required; the other fields have working zero values.
type Config struct {
	BaseURL   string // e.g. https://phlorunner.plivo.com; a trailing slash is tolerated
	AuthID    string // HTTP Basic user
	AuthToken string // HTTP Basic password
	PhloID    string
	NodeID    string // the Multi-Party Call node
	// Timeout bounds one whole request, retries included; 0 means 10s.
	Timeout time.Duration
	// NumberFormat is how phone numbers are sent; "" means FormatE164.
	NumberFormat NumberFormat
	// HTTPClient sends the requests; nil means a client of the package's
	// own, tuned for many concurrent requests to one host. It is copied so
	// that redirects are never followed: following a 307 or 308 would send
	// the transfer a second time.
	HTTPClient *http.Client
	// Observe, when set, is told of every request once it is over: its
	// action (ActionColdTransfer, ActionWarmTransfer or
	// ActionAbortTransfer), its result (the HTTP status, such as "201", or
	// "timeout", "unreachable", "connection_lost" or "canceled") and how
	// long it took, retries included. The bot's metrics hang here; this
	// package knows nothing of them.
	Observe func(action, result string, d time.Duration)
}

const (
	defaultTimeout = 10 * time.Second
	// maxAttempts bounds the attempts of one request, the first included.
	maxAttempts = 5
	// firstBackoff is the first wait before a retry; it doubles each time.
	firstBackoff = 200 * time.Millisecond
	// maxBody is how much of an answer is read: Plivo's are tiny, a
	// proxy's page may not be.
	maxBody   = 64 << 10
	userAgent = "coldtransfer"
)

// Client sends actions to one Multi-Party Call node. It is safe for
// concurrent use.
type Client struct {
	baseURL   string // Config.BaseURL without trailing slashes
	nodePath  string // /v1/phlo/{phlo_id}/multi_party_call/{node_id}, escaped
	authID    string
	authToken string
	timeout   time.Duration
	format    NumberFormat
	hc        *http.Client
	backoff   time.Duration // firstBackoff; tests shorten it
	observe   func(action, result string, d time.Duration)
	// redact takes the credentials out of every text taken from an answer.
	redact *redactor
}

// New returns a Client for cfg, or an error naming every invalid field.
func New(cfg Config) (*Client, error) {
	var errs []error
	base, err := checkBaseURL(cfg.BaseURL)
	if err != nil {
		errs = append(errs, err)
	}
	for _, f := range []struct{ name, value string }{
		{"AuthID", cfg.AuthID},
		{"AuthToken", cfg.AuthToken},
		{"PhloID", cfg.PhloID},
		{"NodeID", cfg.NodeID},
	} {
		if strings.TrimSpace(f.value) == "" {
			errs = append(errs, fmt.Errorf("plivo: %s is empty", f.name))
		}
	}
	if strings.Contains(cfg.AuthID, ":") {
		// HTTP Basic cannot carry a user with a colon.
		errs = append(errs, errors.New("plivo: AuthID contains a colon"))
	}
	timeout := cfg.Timeout
	switch {
	case timeout == 0:
		timeout = defaultTimeout
	case timeout < 0:
		errs = append(errs, fmt.Errorf("plivo: Timeout is negative (%s)", timeout))
	}
	format := cfg.NumberFormat
	if format == "" {
		format = FormatE164
	} else if _, err := ParseNumberFormat(string(format)); err != nil {
		errs = append(errs, fmt.Errorf("plivo: NumberFormat: %w", err))
	}
	if errs != nil {
		return nil, errors.Join(errs...)
	}

	var hc http.Client
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	} else {
		hc.Transport = newTransport()
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	return &Client{
		baseURL:   base,
		nodePath:  "/v1/phlo/" + url.PathEscape(cfg.PhloID) + "/multi_party_call/" + url.PathEscape(cfg.NodeID),
		authID:    cfg.AuthID,
		authToken: cfg.AuthToken,
		timeout:   timeout,
		format:    format,
		hc:        &hc,
		backoff:   firstBackoff,
		observe:   cfg.Observe,
		redact:    newRedactor(cfg.AuthID, cfg.AuthToken),
	}, nil
}

// checkBaseURL returns raw without trailing slashes if it is an absolute
// http(s) URL with no credentials, query or fragment. Its errors never echo
// raw, which may hold a password.
func checkBaseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return "", errors.New("plivo: BaseURL is empty")
	case err != nil:
		return "", errors.New("plivo: BaseURL is not a valid URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return "", errors.New("plivo: BaseURL must start with https:// or http://")
	case u.Host == "":
		return "", errors.New("plivo: BaseURL has no host")
	case u.User != nil:
		return "", errors.New("plivo: BaseURL must not contain credentials: set AuthID and AuthToken instead")
	case u.RawQuery != "" || u.ForceQuery:
		return "", errors.New("plivo: BaseURL must not have a query")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "", errors.New("plivo: BaseURL must not have a fragment")
	}
	return strings.TrimRight(raw, "/"), nil
}

// newTransport returns a transport for many concurrent requests to one host.
// It speaks HTTP/1.1 only: Go's HTTP/1 transport never resends a POST that
// may have been written, while its HTTP/2 transport replays requests after
// some stream errors, and every resend must be a decision of post.
func newTransport() *http.Transport {
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		Protocols:           protocols,
		// Plivo's requests and answers are a few hundred bytes; the 4 KiB
		// defaults cost 6 KiB a connection, one connection a transfer.
		ReadBufferSize:  1 << 10,
		WriteBufferSize: 1 << 10,
	}
}

// Result is Plivo's answer to an accepted request.
type Result struct {
	APIID  string // Plivo's id of the request, for support and the audit trail
	Status int    // HTTP status, 201 as a rule
}

// The actions this client sends, as Plivo names them: the Action of an
// *Error, and the action Config.Observe is told of.
const (
	ActionColdTransfer  = "cold_transfer"  // a node action
	ActionWarmTransfer  = "warm_transfer"  // a node action
	ActionAbortTransfer = "abort_transfer" // a member action
)

// ColdTransfer asks the Multi-Party Call node to cold-transfer: member
// triggerSource, the agent on the call, is replaced by to. role is sent as
// Plivo's role field.
//
// Every failure of the request is an *Error. A zero Endpoint or an unknown
// Role is a programming error, reported by a plain error before anything is
// sent.
func (c *Client) ColdTransfer(ctx context.Context, to, triggerSource Endpoint, role Role) (Result, error) {
	return c.nodeAction(ctx, nodeActionRequest{action: ActionColdTransfer, to: to, triggerSource: triggerSource, role: role})
}

// WarmTransfer asks the Multi-Party Call node to warm-transfer: member
// triggerSource, the agent on the call, and to talk privately while the
// other members wait on hold. How the transfer then completes follows the
// node's configuration in the PHLO. role is sent as Plivo's role field.
//
// A Result means Plivo accepted the request, not that to answered. Errors
// are as for ColdTransfer.
func (c *Client) WarmTransfer(ctx context.Context, to, triggerSource Endpoint, role Role) (Result, error) {
	return c.nodeAction(ctx, nodeActionRequest{action: ActionWarmTransfer, to: to, triggerSource: triggerSource, role: role})
}

// AbortTransfer asks the Multi-Party Call node to abort the transfer that
// member started: member is that transfer's triggerSource, and is written
// the same way (Config.NumberFormat) so that Plivo finds it.
//
// A Result means Plivo accepted the abort. Every failure of the request is
// an *Error; a zero member is a programming error, reported by a plain
// error before anything is sent.
func (c *Client) AbortTransfer(ctx context.Context, member Endpoint) (Result, error) {
	return c.memberAction(ctx, member, ActionAbortTransfer)
}

// nodeActionRequest is an action of the Multi-Party Call node itself:
// warm_transfer or cold_transfer (Plivo's call is not used).
type nodeActionRequest struct {
	action        string
	to            Endpoint
	triggerSource Endpoint
	role          Role
}

func (c *Client) nodeAction(ctx context.Context, r nodeActionRequest) (Result, error) {
	if r.to == (Endpoint{}) || r.triggerSource == (Endpoint{}) {
		return Result{}, fmt.Errorf("plivo: %s: both to and trigger_source must be set", r.action)
	}
	if !r.role.valid() {
		return Result{}, fmt.Errorf("plivo: %s: role %q is neither %q nor %q", r.action, r.role, RoleAgent, RoleCustomer)
	}
	// The fields are in the order Plivo documents them.
	body, err := marshal(struct {
		Action        string `json:"action"`
		To            string `json:"to"`
		Role          Role   `json:"role"`
		TriggerSource string `json:"trigger_source"`
	}{r.action, r.to.Format(c.format), r.role, r.triggerSource.Format(c.format)})
	if err != nil {
		return Result{}, fmt.Errorf("plivo: %s: %w", r.action, err)
	}
	return c.post(ctx, r.action, c.nodePath, body)
}

// memberAction is an action on one member of the call: hold, unhold,
// hangup, abort_transfer, resume_call or voicemail_drop.
func (c *Client) memberAction(ctx context.Context, member Endpoint, action string) (Result, error) {
	if member == (Endpoint{}) {
		return Result{}, fmt.Errorf("plivo: %s: the member must be set", action)
	}
	body, err := marshal(struct {
		Action string `json:"action"`
	}{action})
	if err != nil {
		return Result{}, fmt.Errorf("plivo: %s: %w", action, err)
	}
	return c.post(ctx, action, c.memberPath(member.Format(c.format)), body)
}

// memberPath is the path of the member at address, as the node actions'
// trigger_source writes it. Plivo's SDKs put the address into the path as
// it is; escaping it as one segment leaves the + : and @ of phone numbers
// and SIP URIs as they are, and keeps a / or ? of a SIP user from changing
// the path.
func (c *Client) memberPath(address string) string {
	return c.nodePath + "/members/" + url.PathEscape(address)
}

// marshal is json.Marshal without HTML escaping: Plivo gets a SIP user's &
// as it is, not as \u0026.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// post sends body, a request for action, to path under the client's
// timeout, retrying only where the request provably did not reach Plivo or
// Plivo asked us to come back (HTTP 429): no action is idempotent, and a
// second transfer could move a call that was already moved, a second abort
// end a transfer started since.
func (c *Client) post(ctx context.Context, action, path string, body []byte) (res Result, err error) {
	if c.observe != nil {
		defer func(start time.Time) { c.observe(action, observedResult(res, err), time.Since(start)) }(time.Now())
	}
	defer func() {
		if e, ok := err.(*Error); ok {
			// The supervisor's sentence names what was asked.
			e.Action = action
			// The Go error underneath is logged for the operator; a
			// transport of the caller's or a proxy may have put the
			// request's Authorization header in its text.
			e.cause = c.redact.redactError(e.cause)
		}
	}()
	ctx, cancel := context.WithTimeoutCause(ctx, c.timeout, errTimedOut)
	defer cancel()
	backoff := c.backoff
	for attempt := 1; ; attempt++ {
		res, retry, err := c.send(ctx, c.baseURL+path, body)
		if err == nil {
			return res, nil
		}
		if !retry.ok || attempt == maxAttempts {
			return Result{}, err
		}
		wait := retry.after
		if !retry.hasAfter {
			wait = backoff
			backoff *= 2
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			// Sleeping into the deadline would turn a clear answer into
			// a timeout.
			return Result{}, err
		}
		if !sleep(ctx, wait) {
			return Result{}, contextError(ctx, c.timeout, false, nil)
		}
	}
}

// retryHint says whether a failed attempt may be repeated, and when.
type retryHint struct {
	ok       bool          // nothing reached Plivo, or Plivo asked us to come back
	after    time.Duration // Plivo's Retry-After, when hasAfter
	hasAfter bool
}

// send makes one attempt.
func (c *Client) send(ctx context.Context, target string, body []byte) (Result, retryHint, *Error) {
	// Once the transport has a connection the request may be on the wire:
	// from then on it must not be sent again.
	var connected atomic.Bool
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { connected.Store(true) }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return Result{}, retryHint{}, &Error{Kind: KindUnreachable, cause: err}
	}
	req.SetBasicAuth(c.authID, c.authToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)

	resp, err := c.hc.Do(req)
	if err != nil {
		sent := connected.Load()
		switch {
		case ctx.Err() != nil:
			return Result{}, retryHint{}, contextError(ctx, c.timeout, sent, err)
		case !sent:
			return Result{}, retryHint{ok: mayRetryDial(err)}, &Error{Kind: KindUnreachable, cause: err}
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			err = fmt.Errorf("%w: %w", errClosedWithoutAnswer, err)
		}
		return Result{}, retryHint{}, &Error{Kind: KindConnectionLost, cause: err}
	}
	defer resp.Body.Close()

	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, retryHint{}, contextError(ctx, c.timeout, true, err)
		}
		return Result{}, retryHint{}, &Error{Kind: KindBadResponse, Status: resp.StatusCode, cause: fmt.Errorf("%w: %w", errBodyCut, err)}
	}
	res, perr := interpret(resp.StatusCode, data, c.redact)
	if perr == nil {
		return res, retryHint{}, nil
	}
	var retry retryHint
	if resp.StatusCode == http.StatusTooManyRequests {
		// Whoever answered 429, Plivo or a proxy, refused the request.
		retry.ok = true
		retry.after, retry.hasAfter = retryafter.Parse(resp.Header.Get("Retry-After"), time.Now())
	}
	return Result{}, retry, perr
}

// mayRetryDial reports whether a connection that could not be made is worth
// another try: not when the name does not exist or the certificate is not
// trusted, which seconds will not fix.
func mayRetryDial(err error) bool {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound,
		errors.As(err, &certErr), errors.As(err, &unknownAuthority), errors.As(err, &hostnameErr):
		return false
	}
	return true
}

// sleep waits for d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// answer is the body of every Plivo answer. The fields are raw so that an
// unexpected type (a number, an object) does not hide the rest.
type answer struct {
	APIID   json.RawMessage `json:"api_id"`
	Error   json.RawMessage `json:"error"`
	Message json.RawMessage `json:"message"`
}

// interpret turns Plivo's answer into a Result or an *Error. red takes the
// credentials out of any text Plivo echoes.
func interpret(status int, body []byte, red *redactor) (Result, *Error) {
	var a answer
	if len(bytes.TrimSpace(body)) == 0 {
		if 200 <= status && status <= 299 {
			return Result{}, &Error{Kind: KindBadResponse, Status: status, cause: errEmptyBody}
		}
	} else if err := json.Unmarshal(body, &a); err != nil {
		return Result{}, &Error{Kind: KindBadResponse, Status: status, cause: fmt.Errorf("%w: %w", errNotJSON, err)}
	}
	apiID := cleanMessage(jsonText(a.APIID), red)
	text := cleanMessage(jsonText(a.Error), red)
	e := &Error{Status: status, APIID: apiID, Message: text}
	switch {
	case 200 <= status && status <= 299:
		if text == "" {
			return Result{APIID: apiID, Status: status}, nil
		}
		e.Kind = KindRejected
		return Result{}, e
	case status == http.StatusUnauthorized:
		e.Kind = KindUnauthorized
	case status == http.StatusForbidden:
		e.Kind = KindForbidden
	case status == http.StatusNotFound:
		e.Kind = KindNotFound
	case status == http.StatusTooManyRequests:
		e.Kind = KindRateLimited
	case 400 <= status && status <= 499:
		e.Kind = KindRejected
	case 500 <= status && status <= 599:
		e.Kind = KindServerError
	default:
		e.Kind, e.cause = KindBadResponse, errUnexpectedStatus
	}
	if e.Message == "" {
		e.Message = cleanMessage(jsonText(a.Message), red)
	}
	return Result{}, e
}

// jsonText returns a JSON value as text: a string as it is, nothing for
// null, false or an empty string, object or array, anything else compacted.
// A compacted value is decoded and encoded again, so that its strings are
// written one way: a credential escaped as "\/" or "\u0041" would not be
// recognised and taken out.
func jsonText(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // an id of 20 digits stays as it was sent
	var v any
	if err := dec.Decode(&v); err != nil {
		return ""
	}
	text, err := marshal(v)
	if err != nil {
		return ""
	}
	switch t := string(text); t {
	case "null", "false", "{}", "[]":
		return ""
	default:
		return t
	}
}
