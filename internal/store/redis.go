package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// KeyPrefix starts every key the Redis store writes, so that the bot can
// share a Redis with other applications.
const KeyPrefix = "coldtransfer:"

// Redis is the store shared by several replicas. Each operation is one
// atomic command or one Lua script, so two replicas racing on a key cannot
// both win. Keys:
//
//	coldtransfer:seen:<key>                 FirstSeen, SET NX PX
//	coldtransfer:claim:<key>                Claim, SET NX PX; the value is the holder
//	coldtransfer:rate:<key>@<window start>  Take/Untake, INCR+PEXPIRE in a script
//	coldtransfer:recent:<user id>           Remember/Recent, a list of JSON values, newest first
//
// Its client never retries a command (MaxRetries -1): a SET NX or an INCR
// whose answer was lost may have been applied, and a retry would see its own
// write and report a redelivery or count twice.
type Redis struct {
	client *redis.Client
	now    func() time.Time
}

var _ Store = (*Redis)(nil)

// RedisConfig configures a Redis store.
type RedisConfig struct {
	// Options are go-redis's; NewRedis overrides what must hold for the
	// store to be correct and bounded (see Redis).
	Options *redis.Options
	// Now is the clock that places rate windows; default time.Now.
	Now func() time.Time
}

// ParseRedisURL parses a REDIS_URL (redis://, rediss:// or unix://) into
// go-redis options, as go-redis's ParseURL does.
func ParseRedisURL(rawURL string) (*redis.Options, error) {
	return redis.ParseURL(rawURL)
}

// NewRedis returns a store on the Redis that cfg.Options point at. It does
// not connect: the first operation does. Close it when done.
func NewRedis(cfg RedisConfig) *Redis {
	opt := *cfg.Options
	opt.MaxRetries = -1              // see Redis: never retry a write that may have landed
	opt.ContextTimeoutEnabled = true // each call is bounded by its context
	opt.DialerRetries = 1
	// A burst of requests (each a command or two, and nothing pipelined)
	// should not queue for go-redis's default 10 connections per CPU, nor
	// wait for them to be dialled: on 2 CPUs, 1000 requests at once then
	// waited more than 300 ms. The commands and answers are small, and so
	// are the buffers.
	opt.PoolSize = max(opt.PoolSize, 128)
	opt.MinIdleConns = max(opt.MinIdleConns, 4)
	if opt.ReadBufferSize == 0 {
		opt.ReadBufferSize = 4 << 10
	}
	if opt.WriteBufferSize == 0 {
		opt.WriteBufferSize = 4 << 10
	}
	opt.DisableIdentity = true // no CLIENT SETINFO round trips on each new connection
	if opt.DialTimeout <= 0 || opt.DialTimeout > 2*time.Second {
		opt.DialTimeout = 2 * time.Second
	}
	for _, d := range []*time.Duration{&opt.ReadTimeout, &opt.WriteTimeout, &opt.PoolTimeout} {
		if *d <= 0 || *d > 2*time.Second {
			*d = 2 * time.Second
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Redis{client: redis.NewClient(&opt), now: cfg.Now}
}

// Addr is where the store connects (host:port or a socket path), for logs:
// never the password.
func (r *Redis) Addr() string { return r.client.Options().Addr }

// Ping checks that Redis answers.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}

// Close closes the client's connections.
func (r *Redis) Close() error { return r.client.Close() }

// FirstSeen implements Store with SET key 1 NX PX ttl.
func (r *Redis) FirstSeen(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	err := r.client.SetArgs(ctx, KeyPrefix+"seen:"+key, "1", redis.SetArgs{Mode: "NX", TTL: atLeastMS(ttl)}).Err()
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, redis.Nil):
		return false, nil
	default:
		return false, fmt.Errorf("redis first-seen: %w", err)
	}
}

// A claim's value that another writer left is stale, and overwritten
// rather than honoured or quoted to a requester: one without an expiry
// (it would block the call for ever) or one that is not a holder as
// encodeHolder writes it (holderPattern, in Lua).
const holderPattern = "^[%w_%-]+\n[UW][%u%d]+\n[CDG][%u%d]+$"

// claimScript takes KEYS[1] for the holder ARGV[1] (token first, then a
// newline) for ARGV[2] ms, unless another holder has it and the value is
// not stale; then it returns that holder's value. A holder claiming again
// (same token ARGV[3]) renews.
var claimScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and string.sub(cur, 1, string.len(ARGV[3])) ~= ARGV[3]
   and redis.call('PTTL', KEYS[1]) >= 0 and string.match(cur, ARGV[4]) then
  return {0, cur}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1, ARGV[1]}
`)

// Claim implements Store.
func (r *Redis) Claim(ctx context.Context, key string, holder Holder, ttl time.Duration) (Holder, bool, error) {
	value, err := encodeHolder(holder)
	if err != nil {
		return Holder{}, false, err
	}
	res, err := claimScript.Run(ctx, r.client, []string{KeyPrefix + "claim:" + key},
		value, atLeastMS(ttl).Milliseconds(), holder.Token+"\n", holderPattern).Slice()
	if err != nil {
		return Holder{}, false, fmt.Errorf("redis claim: %w", err)
	}
	if len(res) != 2 {
		return Holder{}, false, fmt.Errorf("redis claim: unexpected answer %v", res)
	}
	ok, _ := res[0].(int64)
	cur, _ := res[1].(string)
	h, valid := decodeHolder(cur)
	if !valid {
		return Holder{}, false, fmt.Errorf("redis claim: unexpected holder %q", clipForError(cur))
	}
	return h, ok == 1, nil
}

// releaseScript lets go of KEYS[1] if its holder's token is ARGV[1]: at
// once (ARGV[2] = 0) or after ARGV[2] ms. A claim that lapsed meanwhile
// (gone, or stale) is taken again for the hold, with the value ARGV[3]:
// the call may be moving.
var releaseScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
local keep = tonumber(ARGV[2])
if not cur or redis.call('PTTL', KEYS[1]) < 0 or not string.match(cur, ARGV[4]) then
  if keep > 0 then
    redis.call('SET', KEYS[1], ARGV[3], 'PX', keep)
    return 2
  end
  if cur then
    redis.call('DEL', KEYS[1])
  end
  return 0
end
if string.sub(cur, 1, string.len(ARGV[1])) ~= ARGV[1] then
  return 0
end
if keep > 0 then
  redis.call('PEXPIRE', KEYS[1], keep)
else
  redis.call('DEL', KEYS[1])
end
return 1
`)

// Release implements Store.
func (r *Redis) Release(ctx context.Context, key string, holder Holder, keep time.Duration) error {
	value, err := encodeHolder(holder)
	if err != nil {
		return err
	}
	keepMS := int64(0)
	if keep > 0 {
		keepMS = atLeastMS(keep).Milliseconds()
	}
	if err := releaseScript.Run(ctx, r.client, []string{KeyPrefix + "claim:" + key},
		holder.Token+"\n", keepMS, value, holderPattern).Err(); err != nil {
		return fmt.Errorf("redis release: %w", err)
	}
	return nil
}

// takeScript counts one event on KEYS[1] unless ARGV[1] are counted
// already, and makes the counter expire ARGV[2] ms from now (once the window
// is over) when it has no expiry yet. 1: counted; 0: refused.
var takeScript = redis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then
  return 0
end
redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
`)

// rateGrace keeps a window's counter a little past the window's end, so
// that a replica whose clock is behind still finds it.
const rateGrace = 5 * time.Second

// Take implements Store.
func (r *Redis) Take(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	if window <= 0 {
		return false, 0, errBadWindow
	}
	now := r.now()
	start, end := fixedWindow(now, window)
	n, err := takeScript.Run(ctx, r.client, []string{KeyPrefix + "rate:" + windowKey(key, start)},
		limit, atLeastMS(end.Sub(now)+rateGrace).Milliseconds()).Int()
	if err != nil {
		return false, 0, fmt.Errorf("redis take: %w", err)
	}
	if n == 0 {
		return false, end.Sub(now), nil
	}
	return true, 0, nil
}

// untakeScript gives back one event on KEYS[1], never below 0 and never
// creating the counter.
var untakeScript = redis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then
  redis.call('DECR', KEYS[1])
end
return 1
`)

// Untake implements Store.
func (r *Redis) Untake(ctx context.Context, key string, window time.Duration) error {
	if window <= 0 {
		return errBadWindow
	}
	start, _ := fixedWindow(r.now(), window)
	if err := untakeScript.Run(ctx, r.client, []string{KeyPrefix + "rate:" + windowKey(key, start)}).Err(); err != nil {
		return fmt.Errorf("redis untake: %w", err)
	}
	return nil
}

// rememberScript puts ARGV[1] first in the list KEYS[1], keeps the ARGV[2]
// first values and makes the list expire ARGV[3] ms from now. A value of
// another type under the key (not ours) is replaced.
var rememberScript = redis.NewScript(`
if redis.call('TYPE', KEYS[1]).ok ~= 'list' then
  redis.call('DEL', KEYS[1])
end
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`)

// Remember implements Store.
func (r *Redis) Remember(ctx context.Context, userID string, t Recent, keep int, ttl time.Duration) error {
	t, keep, err := checkRemember(r.now(), userID, t, keep, ttl)
	if err != nil {
		return err
	}
	value, err := encodeRecent(t)
	if err != nil {
		return fmt.Errorf("redis remember: %w", err)
	}
	if err := rememberScript.Run(ctx, r.client, []string{KeyPrefix + "recent:" + userID},
		value, keep, atLeastMS(ttl).Milliseconds()).Err(); err != nil {
		return fmt.Errorf("redis remember: %w", err)
	}
	return nil
}

// Recent implements Store with LRANGE. Values that are not transfers as
// Remember writes them are skipped (the whole list is read, at most
// MaxRecentKeep values, so that junk does not hide good entries behind
// it), and a key of another type reads as no transfers: neither is Redis
// failing.
func (r *Redis) Recent(ctx context.Context, userID string, n int) ([]Recent, error) {
	if !isUserID(userID) {
		return nil, errBadRecentUser
	}
	if n <= 0 {
		return nil, nil
	}
	values, err := r.client.LRange(ctx, KeyPrefix+"recent:"+userID, 0, MaxRecentKeep-1).Result()
	if err != nil {
		if redis.HasErrorPrefix(err, "WRONGTYPE") {
			return nil, nil
		}
		return nil, fmt.Errorf("redis recent: %w", err)
	}
	var out []Recent
	for _, v := range values {
		if len(out) == n {
			break
		}
		if t, ok := decodeRecent(v); ok {
			out = append(out, t)
		}
	}
	return out, nil
}

// atLeastMS rounds d up to a whole millisecond, at least 1: PX and PEXPIRE
// take milliseconds, and 0 is an error to Redis.
func atLeastMS(d time.Duration) time.Duration {
	return max((d + time.Millisecond - 1).Truncate(time.Millisecond), time.Millisecond)
}

// encodeHolder writes a holder as Redis keeps it: token, user and channel,
// one per line, the token first so that the scripts can check it. Only a
// well-formed holder is written, so that any other value is recognisably
// stale (holderPattern).
func encodeHolder(h Holder) (string, error) {
	if !h.valid() {
		return "", errors.New("store: a claim's holder needs a token of letters, digits, - and _, a Slack user id (U…/W…) and a channel id (C…/D…/G…)")
	}
	return h.Token + "\n" + h.User + "\n" + h.Channel, nil
}

// decodeHolder reads a value encodeHolder wrote; ok is false for anything
// else.
func decodeHolder(v string) (h Holder, ok bool) {
	token, rest, _ := strings.Cut(v, "\n")
	user, channel, _ := strings.Cut(rest, "\n")
	h = Holder{Token: token, User: user, Channel: channel}
	return h, h.valid()
}

// valid reports whether h is a holder the bot writes: a token of letters,
// digits, - and _; a Slack user id; a channel id.
func (h Holder) valid() bool {
	return isWord(h.Token, "-_", false) &&
		len(h.User) > 1 && strings.ContainsRune("UW", rune(h.User[0])) && isWord(h.User[1:], "", true) &&
		len(h.Channel) > 1 && strings.ContainsRune("CDG", rune(h.Channel[0])) && isWord(h.Channel[1:], "", true)
}

// isWord reports whether s is 1 to 64 ASCII letters (upper case only when
// upper), digits and characters of extra.
func isWord(s, extra string, upper bool) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case '0' <= c && c <= '9', 'A' <= c && c <= 'Z':
		case 'a' <= c && c <= 'z' && !upper:
		case strings.IndexByte(extra, c) >= 0:
		default:
			return false
		}
	}
	return true
}

// clipForError keeps an unexpected value short in an error.
func clipForError(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// SetRedisLogger sends go-redis's own log lines (dial failures of its
// connection pool, which the Fallback store reports in its own words) to
// log at debug level instead of standard error. go-redis has one logger
// per process.
func SetRedisLogger(log *zap.Logger) {
	redis.SetLogger(redisLogger{log})
}

type redisLogger struct{ log *zap.Logger }

func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	l.log.Debug(fmt.Sprintf(format, v...))
}
