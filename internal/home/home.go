// Package home is the Home tab: what a user may do and their last
// transfers, published at most every 10 s.
//
// When a supervisor opens the tab, the Service publishes what they may do
// (transfer or not, and why; the destinations, typed numbers, the floor's
// agents) and their own last transfers, with a New transfer button. The
// tab is drawn from one directory snapshot and the same authorisation
// calls as /transfer list. It works beside the requests: a build or a
// publish never holds a request slot, and the store write that records a
// transfer for its requester's tab happens after the request is over, in
// a worker of its own.
package home

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"go.uber.org/zap"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/intake"
	"github.com/coldtransfer/coldtransfer/internal/outcome"
	"github.com/coldtransfer/coldtransfer/internal/store"
)

// Publisher publishes a user's Home tab: *slackapi.API.
type Publisher interface {
	PublishHome(ctx context.Context, userID string, view slack.HomeTabViewRequest) error
}

// Authorizer answers what the tab shows a user they may do:
// *authz.Authorizer. Each method may ask Slack for a group's members,
// within the build's bound.
type Authorizer interface {
	Decide(ctx context.Context, userID, channelID string) authz.Decision
	UsableDestinations(ctx context.Context, userID string, dir *directory.Directory) ([]directory.Destination, []int)
	MayType(ctx context.Context, userID string, t directory.Typed) authz.Decision
	MayUseDestination(ctx context.Context, userID string, d directory.Destination) authz.Decision
}

// Store keeps each user's last transfers, shared by the replicas: a
// store.Store.
type Store interface {
	Recent(ctx context.Context, userID string, n int) ([]store.Recent, error)
	Remember(ctx context.Context, userID string, t store.Recent, keep int, ttl time.Duration) error
}

// Linker makes the link to a transfer's thread, the message ts of channel;
// "" when Slack could not say.
type Linker interface {
	ThreadLink(ctx context.Context, channel, ts string) string
}

// Config holds the tab's settings; zero values take the defaults.
type Config struct {
	// Interval is the least time between two publishes of one user's tab.
	// Default 10 s.
	Interval time.Duration
	// AllowedChannels are TRANSFER_ALLOWED_CHANNELS: the tab says where
	// transfers may be asked for, and decides its rights in the first.
	// Empty: any channel.
	AllowedChannels []string
	// Directory returns the floor directory in force, nil for none; each
	// build calls it once. Nil: no directory.
	Directory func() *directory.Directory
	// SlackTimeout bounds one views.publish, retries included. Default 30 s.
	SlackTimeout time.Duration
}

const (
	// defaultInterval is the least time between two publishes of one
	// user's tab: views.publish is Tier 4, and a supervisor opening the tab
	// again and again needs no new copy each time.
	defaultInterval = 10 * time.Second
	// keep and ttl: each user's tab lists their last 10 transfers of the
	// last 7 days, kept in the shared store.
	keep = 10
	ttl  = 7 * 24 * time.Hour
	// buildTimeout bounds what a build waits for: group lookups and the
	// store. Past it, the tab shows what is known and says what is not.
	buildTimeout = 5 * time.Second
	// storeTimeout bounds one store call, as it does a request's: the Redis
	// store bounds its own calls more tightly (and falls back to memory).
	storeTimeout = time.Second
	// watched is how recently a user must have opened their tab for a
	// transfer of theirs to publish it again: a tab nobody looks at waits
	// for the next open, and a busy floor does not spend Slack's views.publish
	// budget on closed tabs.
	watched = 15 * time.Minute
	// maxTabs bounds the tabs remembered in memory (hash, times, the app's
	// DM id); past it the least recently used idle one is forgotten.
	maxTabs = 10_000
	// retries is how many times a publish Slack refused is tried again,
	// each later than the last (retryGap), before the next open.
	retries     = 5
	maxRetryGap = 5 * time.Minute
	// rememberQueue bounds the transfers waiting to be recorded for their
	// requester's tab; past it one is dropped, and logged.
	rememberQueue = 1024
	// flushTimeout bounds how long a shutdown waits for the records still
	// queued.
	flushTimeout = 5 * time.Second
	// newTransferAction is the action id of the tab's New transfer button.
	newTransferAction = "home_new_transfer"
	callbackID        = "coldtransfer_home"
)

// Service publishes the Home tabs. What it keeps of them is only a cache:
// the content comes from the shared store and the directory, and the sum
// of what a tab shows travels in the view itself, so that any replica can
// tell that a build is what the tab shows already.
type Service struct {
	cfg   Config
	pub   Publisher
	authz Authorizer
	store Store
	links Linker
	log   *zap.Logger

	mu     sync.Mutex
	tabs   map[string]*tab // by user id
	closed bool
	ctx    context.Context // ends at shutdown: builds and publishes stop
	cancel context.CancelFunc
	wg     sync.WaitGroup // builds, publishes and the record worker

	remember chan remembered
	stop     chan struct{}
}

// tab is one user's tab.
type tab struct {
	shown     string      // the content sum of the view it shows (view's private_metadata)
	dm        string      // the app's direct-message channel with the user, from app_home_opened
	opened    time.Time   // when the user last opened it
	published time.Time   // the last publish tried
	due       *time.Timer // a publish waiting for its time
	busy      bool        // a build or publish is running
	again     bool        // asked for again while busy
	failures  int         // publishes Slack refused in a row
	used      time.Time
}

// remembered is a transfer to record for its requester's tab.
type remembered struct {
	user string
	rec  store.Recent
}

// New returns the Home tab's service. It publishes nothing until Start.
func New(cfg Config, pub Publisher, az Authorizer, st Store, links Linker, log *zap.Logger) *Service {
	if cfg.Interval <= 0 {
		cfg.Interval = defaultInterval
	}
	if cfg.SlackTimeout <= 0 {
		cfg.SlackTimeout = 30 * time.Second
	}
	if cfg.Directory == nil {
		cfg.Directory = func() *directory.Directory { return nil }
	}
	return &Service{cfg: cfg, pub: pub, authz: az, store: st, links: links, log: log,
		tabs: make(map[string]*tab), remember: make(chan remembered, rememberQueue), closed: true}
}

// Start starts the record worker and lets tabs be published; the function
// it returns stops them, after a last flush of the transfers queued (within
// 5 s), and cancels the builds and publishes in flight.
func (s *Service) Start() (stop func()) {
	s.mu.Lock()
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.closed = false
	s.stop = make(chan struct{})
	s.wg.Add(1)
	s.mu.Unlock()
	go s.recordTransfers()
	return func() {
		s.mu.Lock()
		s.closed = true
		for _, t := range s.tabs {
			if t.due != nil {
				t.due.Stop()
				t.due = nil
			}
		}
		close(s.stop)
		s.mu.Unlock()
		// The record worker flushes what is queued; builds and publishes
		// in flight are cancelled once it is done.
		done := make(chan struct{})
		go func() {
			s.wg.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(flushTimeout):
		}
		s.cancel()
		<-done
	}
}

// Opened asks for userID's tab to be published: at once, unless it was
// published less than the interval ago (then when that is over). dm is the
// app's direct message with the user ("" when not known); view is what
// Slack says the tab holds now, published by any replica, or nil: a build
// that comes to the same is not published again.
func (s *Service) Opened(userID, dm string, view *slack.View) {
	shown := ""
	if view != nil && view.CallbackID == callbackID {
		shown = view.PrivateMetadata
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	now := time.Now()
	t := s.tabLocked(userID, now)
	t.opened = now
	if dm != "" {
		t.dm = dm
	}
	if shown != "" {
		t.shown = shown
	}
	if !s.scheduleLocked(userID, t, now) {
		s.log.Info("home tab", zap.String("user", userID), zap.String("result", "later"),
			zap.Duration("interval", s.cfg.Interval))
	}
}

// Channel is where the tab's rights are decided and where its form's
// channel picker starts: the first allowed channel, or "" for any.
func (s *Service) Channel() string {
	if len(s.cfg.AllowedChannels) > 0 {
		return s.cfg.AllowedChannels[0]
	}
	return ""
}

// NewTransferPress returns the press of the tab's New transfer button in
// cb, or nil when cb is not one. The button's value is the app's direct
// message with the presser.
func NewTransferPress(cb slack.InteractionCallback) *slack.BlockAction {
	for _, a := range cb.ActionCallback.BlockActions {
		if a != nil && a.ActionID == newTransferAction {
			return a
		}
	}
	return nil
}

// refresh publishes userID's tab again when they looked at it lately: a
// transfer of theirs was just recorded.
func (s *Service) refresh(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tabs[userID]
	if s.closed || t == nil || time.Since(t.opened) > watched {
		return
	}
	s.scheduleLocked(userID, t, time.Now())
}

// scheduleLocked starts a build of t now, or makes sure one will come:
// after the one running, or once the interval has passed since the last
// publish. It reports whether the build starts now. Called with s.mu held.
func (s *Service) scheduleLocked(userID string, t *tab, now time.Time) bool {
	switch {
	case t.busy:
		t.again = true
		return false
	case t.due != nil:
		return false
	}
	if wait := t.published.Add(s.cfg.Interval).Sub(now); !t.published.IsZero() && wait > 0 {
		t.due = time.AfterFunc(wait, func() { s.due(userID) })
		return false
	}
	t.busy = true
	s.wg.Add(1)
	go s.publish(userID)
	return true
}

// due starts a build whose time has come.
func (s *Service) due(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tabs[userID]
	if s.closed || t == nil {
		return
	}
	t.due = nil
	if t.busy {
		t.again = true
		return
	}
	t.busy = true
	s.wg.Add(1)
	go s.publish(userID)
}

// tabLocked returns userID's tab, made when new; past maxTabs the least
// recently used idle tab is forgotten (its next open publishes it anew).
func (s *Service) tabLocked(userID string, now time.Time) *tab {
	t := s.tabs[userID]
	if t == nil {
		if len(s.tabs) >= maxTabs {
			s.forgetOldestLocked()
		}
		t = &tab{}
		s.tabs[userID] = t
	}
	t.used = now
	return t
}

func (s *Service) forgetOldestLocked() {
	oldest := ""
	var at time.Time
	for id, t := range s.tabs {
		if t.busy || t.due != nil {
			continue
		}
		if oldest == "" || t.used.Before(at) {
			oldest, at = id, t.used
		}
	}
	if oldest != "" {
		delete(s.tabs, oldest)
	}
}

// publish builds userID's tab and publishes it unless it shows that
// already. A refusal from Slack is logged and tried again later; whatever
// happens, nothing waits for it.
func (s *Service) publish(userID string) {
	defer s.wg.Done()
	s.mu.Lock()
	t := s.tabs[userID]
	dm, shown := t.dm, t.shown
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(s.ctx, buildTimeout)
	in := s.info(ctx, userID, dm)
	cancel()
	v := view(in)

	var err error
	result := "unchanged"
	if v.PrivateMetadata != shown {
		result = "published"
		pctx, pcancel := context.WithTimeout(s.ctx, s.cfg.SlackTimeout)
		err = s.pub.PublishHome(pctx, userID, v)
		pcancel()
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	t.busy = false
	now := time.Now()
	switch {
	case err != nil:
		t.published = now
		t.failures++
		if s.closed || t.failures > retries {
			s.log.Error("home tab not published; it is tried again when the user opens it", zap.String("user", userID),
				zap.Int("attempts", t.failures), zap.Error(err))
			t.failures = 0
			break
		}
		gap := s.retryGap(t.failures, err)
		s.log.Warn("home tab not published; trying again later", zap.String("user", userID),
			zap.Duration("retry_in", gap), zap.Error(err))
		t.due = time.AfterFunc(gap, func() { s.due(userID) })
		return
	case result == "published":
		t.published, t.shown, t.failures = now, v.PrivateMetadata, 0
	}
	s.log.Info("home tab", zap.String("user", userID), zap.String("result", result))
	if t.again && !s.closed {
		t.again = false
		s.scheduleLocked(userID, t, now)
	}
}

// retryGap is how long after its n-th refusal in a row a publish is tried
// again: Slack's Retry-After when it gave one, else the interval,
// doubling, up to maxRetryGap.
func (s *Service) retryGap(n int, err error) time.Duration {
	gap := s.cfg.Interval << min(n-1, 10)
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		gap = max(gap, rl.RetryAfter)
	}
	return min(gap, maxRetryGap)
}

// info gathers what userID's tab shows, within ctx: one directory
// snapshot, the same authorisation calls as /transfer list, and their own
// transfers from the shared store.
func (s *Service) info(ctx context.Context, userID, dm string) info {
	in := info{user: userID, dm: dm, channels: s.cfg.AllowedChannels, dir: s.cfg.Directory()}
	in.decision = s.authz.Decide(ctx, userID, s.Channel())
	if in.decision.Allowed && in.dir != nil {
		in.usable, _ = s.authz.UsableDestinations(ctx, userID, in.dir)
		in.unchecked = uncheckedDestinations(ctx, s.authz, userID, in.dir, len(in.usable))
		in.typed = s.authz.MayType(ctx, userID, in.dir.Typed())
		in.agents, in.agentsListed = floorAgents(in.dir)
	}
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	in.recent, in.recentErr = s.store.Recent(sctx, userID, keep)
	cancel()
	in.links = make(map[string]string, len(in.recent))
	for _, r := range in.recent {
		if r.ThreadTS == "" {
			continue
		}
		if link := s.links.ThreadLink(ctx, r.Channel, r.ThreadTS); link != "" {
			in.links[r.Channel+"/"+r.ThreadTS] = link
		}
	}
	return in
}

// uncheckedDestinations counts the destinations of dir that az left out
// for userID only because a group in their who could not be looked up: the
// tab says that some are missing, rather than that there are none.
func uncheckedDestinations(ctx context.Context, az Authorizer, userID string, dir *directory.Directory, usable int) int {
	if usable == len(dir.Destinations()) {
		return 0
	}
	n := 0
	for _, d := range dir.Destinations() {
		if len(d.Who) == 0 {
			continue
		}
		if dd := az.MayUseDestination(ctx, userID, d); !dd.Allowed && dd.Destination != nil && dd.Destination.LookupFailed {
			n++
		}
	}
	return n
}

// floorAgents returns the directory's agents; listed is false without a
// directory.
func floorAgents(dir *directory.Directory) (agents []directory.Agent, listed bool) {
	if dir == nil {
		return nil, false
	}
	return dir.Agents(), true
}

// Transfer is how one request ended, as its requester's tab lists it.
type Transfer struct {
	Requester string
	At        time.Time
	Channel   string
	Thread    string // ts of its announcement; "" when none was posted
	Outcome   outcome.Outcome
	Spec      intake.Spec
}

// Record records t for its requester's tab, once its outcome is known. It
// never waits: the store write happens in the record worker. Invalid and
// busy requests transferred nothing and are not kept.
func (s *Service) Record(t Transfer) {
	switch {
	case t.Outcome == "" || t.Outcome == outcome.Invalid || t.Outcome == outcome.Busy:
		return
	case t.Spec.To.String() == "" && t.Spec.PlivoAction() != outcome.AbortTransfer:
		return // refused before it named a destination (a form not opened)
	}
	dest := t.Spec.Destination
	if dest == "" {
		dest = t.Spec.To.String()
	}
	agent := t.Spec.Agent
	if agent == "" {
		agent = t.Spec.TriggerSource.String()
	}
	rec := store.Recent{At: t.At, Channel: t.Channel, ThreadTS: t.Thread, Destination: dest, Agent: agent,
		Outcome: string(t.Outcome), Action: string(t.Spec.PlivoAction())}
	select {
	case s.remember <- remembered{user: t.Requester, rec: rec}:
	default:
		s.log.Warn("transfer not recorded for the requester's Home tab: too many waiting",
			zap.String("requester", t.Requester), zap.Int("queued", rememberQueue))
	}
}

// recordTransfers is the record worker: each transfer goes to the shared
// store, then to its requester's tab if they look at it. At shutdown it
// records what is queued, within flushTimeout.
func (s *Service) recordTransfers() {
	defer s.wg.Done()
	for {
		select {
		case r := <-s.remember:
			s.recordTransfer(r)
		case <-s.stop:
			for {
				select {
				case r := <-s.remember:
					s.recordTransfer(r)
				default:
					return
				}
			}
		}
	}
}

func (s *Service) recordTransfer(r remembered) {
	ctx, cancel := context.WithTimeout(s.ctx, storeTimeout)
	defer cancel()
	if err := s.store.Remember(ctx, r.user, r.rec, keep, ttl); err != nil {
		s.log.Warn("transfer not recorded for the requester's Home tab", zap.String("requester", r.user), zap.Error(err))
		return
	}
	s.refresh(r.user)
}
