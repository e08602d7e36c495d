package plivo

import (
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/coldtransfer/coldtransfer/internal/keepwarm"
)

// A transfer that finds no open connection to Plivo pays for a new one
// before its request leaves: a TCP handshake and a TLS handshake, two
// round trips to Plivo, which may be 100–400 ms away. Servers close a
// connection left idle (Plivo does not document after how long), so after
// a quiet spell every transfer would pay them. KeepWarm sends a cheap read
// often enough that the connection the next transfer takes is still open.

// KeepWarm reads the PHLO (GET /v1/phlo/{phlo_id}, the request Plivo's PHLO
// API overview gives as its example and its SDKs send to retrieve a PHLO)
// every `every`, as long as wanted (nil: always) reports true at that
// moment, until ctx ends. It keeps one connection open: net/http hands out
// the most recently used idle connection first, and that is the one the
// read has just used, so the next transfer takes it. every should be
// shorter than the server's idle time-out (45 s against the common 60 s);
// wanted says whether transfers are expected, so that a bot nobody uses
// stays quiet. The caller does not start it in a dry run, which must not
// reach Plivo.
//
// The read goes through the client's own HTTP client and credentials. It
// reads and changes nothing, is tried once, never retried (the next tick is
// the retry), and is not reported to Config.Observe, which counts actions.
// Its outcome is logged at debug level only, with whether the connection
// was still open (reused) and how long it had been idle: reused=false at
// every line means the server closes idle connections sooner than every,
// which should then be shortened. KeepWarm returns when ctx ends; nothing
// it meets is fatal.
func (c *Client) KeepWarm(ctx context.Context, every time.Duration, wanted func() bool, log *zap.Logger) {
	if log == nil {
		log = zap.NewNop()
	}
	phloPath, _, _ := strings.Cut(c.nodePath, "/multi_party_call/")
	target := c.baseURL + phloPath
	keepwarm.Every(ctx, every, wanted, func(ctx context.Context) { c.warm(ctx, target, min(every, c.timeout), log) })
}

func (c *Client) warm(ctx context.Context, target string, timeout time.Duration, log *zap.Logger) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var conn httptrace.GotConnInfo
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { conn = info }})
	start := time.Now()
	status, err := c.get(ctx, target)
	fields := []zap.Field{
		zap.Int("status", status),
		zap.Bool("reused", conn.Reused),
		zap.Duration("idle_for", conn.IdleTime),
		zap.Duration("took", time.Since(start)),
	}
	if err != nil {
		// Plivo's answer is not read into the log; the error is Go's own
		// (a dial, a time-out), which a caller's transport or proxy may
		// have written the Authorization header into.
		fields = append(fields, zap.String("error", c.redact.redactError(err).Error()))
	}
	log.Debug("plivo connection kept warm (GET of the PHLO)", fields...)
}

// get sends one GET of target and returns the answer's status, having read
// the answer (within maxBody) so that the connection goes back to the pool.
func (c *Client) get(ctx context.Context, target string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, err
	}
	req.SetBasicAuth(c.authID, c.authToken)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	return resp.StatusCode, err
}
