package slackbot

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
	"go.uber.org/zap"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/outcome"
	"github.com/coldtransfer/coldtransfer/internal/store"
)

// The Home tab: when a supervisor opens it, the bot publishes what they may
// do (transfer or not, and why; the destinations, typed numbers, the
// floor's agents) and their own last transfers, with a New transfer button.
// The tab is drawn by homeView (homeview.go) from one directory snapshot
// and the same authorisation calls as /transfer list. It works beside the
// requests: a build or a publish never holds a request slot, and the store
// write that records a transfer for its requester's tab happens after the
// request is over, in a worker of its own.

const (
	// defaultHomeInterval is the least time between two publishes of one
	// user's tab: views.publish is Tier 4, and a supervisor opening the tab
	// again and again needs no new copy each time.
	defaultHomeInterval = 10 * time.Second
	// homeKeep and homeTTL: each user's tab lists their last 10 transfers
	// of the last 7 days, kept in the shared store.
	homeKeep = 10
	homeTTL  = 7 * 24 * time.Hour
	// homeBuildTimeout bounds what a build waits for: group lookups and the
	// store. Past it, the tab shows what is known and says what is not.
	homeBuildTimeout = 5 * time.Second
	// homeWatched is how recently a user must have opened their tab for a
	// transfer of theirs to publish it again: a tab nobody looks at waits
	// for the next open, and a busy floor does not spend Slack's views.publish
	// budget on closed tabs.
	homeWatched = 15 * time.Minute
	// maxHomeTabs bounds the tabs remembered in memory (hash, times, the
	// app's DM id); past it the least recently used idle one is forgotten.
	maxHomeTabs = 10_000
	// homeRetries is how many times a publish Slack refused is tried again,
	// each later than the last (homeRetryDelay), before the next open.
	homeRetries     = 5
	maxHomeRetryGap = 5 * time.Minute
	// rememberQueue bounds the transfers waiting to be recorded for their
	// requester's tab; past it one is dropped, and logged.
	rememberQueue = 1024
	// surfacesFlush bounds how long a shutdown waits for the records and
	// audit-channel posts still queued.
	surfacesFlush = 5 * time.Second
	// homeNewTransfer is the action id of the tab's New transfer button.
	homeNewTransfer = "home_new_transfer"
	homeCallbackID  = "coldtransfer_home"
)

// homeTabs is what this replica knows of the Home tabs it published. It is
// only a cache: the content comes from the shared store and the directory,
// and the sum of what a tab shows travels in the view itself.
type homeTabs struct {
	mu     sync.Mutex
	tabs   map[string]*homeTab // by user id
	closed bool
	ctx    context.Context // ends at shutdown: builds and publishes stop
	cancel context.CancelFunc
	wg     sync.WaitGroup // builds, publishes and the record worker

	remember chan remembered
	stop     chan struct{}
}

// homeTab is one user's tab.
type homeTab struct {
	shown     string      // the content sum of the view it shows (homeView's private_metadata)
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

func newHomeTabs() *homeTabs {
	return &homeTabs{tabs: make(map[string]*homeTab), remember: make(chan remembered, rememberQueue), closed: true}
}

// startSurfaces starts the Home tab's and the audit channel's workers; the
// function it returns stops them, after a last flush of what is queued.
func (b *Bot) startSurfaces() (stop func()) {
	stopHome := b.home.start(b)
	stopAudit := b.auditPost.start(b)
	return func() {
		stopAudit()
		stopHome()
	}
}

func (h *homeTabs) start(b *Bot) (stop func()) {
	h.mu.Lock()
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.closed = false
	h.stop = make(chan struct{})
	h.wg.Add(1)
	h.mu.Unlock()
	go b.recordTransfers()
	return func() {
		h.mu.Lock()
		h.closed = true
		for _, t := range h.tabs {
			if t.due != nil {
				t.due.Stop()
				t.due = nil
			}
		}
		close(h.stop)
		h.mu.Unlock()
		// The record worker flushes what is queued; builds and publishes
		// in flight are cancelled once it is done.
		done := make(chan struct{})
		go func() {
			h.wg.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(surfacesFlush):
		}
		h.cancel()
		<-done
	}
}

// onEvent handles an Events API event, already acked: the Home tab. It runs
// on the event loop: the tab is built and published in its own goroutine.
func (b *Bot) onEvent(evt socketmode.Event) {
	e, ok := evt.Data.(slackevents.EventsAPIEvent)
	if !ok {
		return
	}
	var open *slackevents.AppHomeOpenedEvent
	switch d := e.InnerEvent.Data.(type) {
	case *slackevents.AppHomeOpenedEvent:
		open = d
	case slackevents.AppHomeOpenedEvent:
		open = &d
	}
	if open == nil || open.Tab != "home" || open.User == "" {
		return // the Messages tab, or another event
	}
	shown := ""
	if open.View != nil && open.View.CallbackID == homeCallbackID {
		shown = open.View.PrivateMetadata
	}
	b.homeOpened(open.User, open.Channel, shown)
}

// homeOpened asks for userID's tab to be published: at once, unless it was
// published less than HomeInterval ago (then when that is over). shown is
// the content sum of the view Slack says the tab holds now, published by
// any replica: a build that comes to the same is not published again.
func (b *Bot) homeOpened(userID, dm, shown string) {
	h := b.home
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	now := time.Now()
	t := h.tabLocked(userID, now)
	t.opened = now
	if dm != "" {
		t.dm = dm
	}
	if shown != "" {
		t.shown = shown
	}
	if !b.scheduleHomeLocked(userID, t, now) {
		b.log.Info("home tab", zap.String("user", userID), zap.String("result", "later"),
			zap.Duration("interval", b.cfg.HomeInterval))
	}
}

// refreshHome publishes userID's tab again when they looked at it lately:
// a transfer of theirs was just recorded.
func (b *Bot) refreshHome(userID string) {
	h := b.home
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.tabs[userID]
	if h.closed || t == nil || time.Since(t.opened) > homeWatched {
		return
	}
	b.scheduleHomeLocked(userID, t, time.Now())
}

// scheduleHomeLocked starts a build of t now, or makes sure one will come:
// after the one running, or once HomeInterval has passed since the last
// publish. It reports whether the build starts now. Called with h.mu held.
func (b *Bot) scheduleHomeLocked(userID string, t *homeTab, now time.Time) bool {
	h := b.home
	switch {
	case t.busy:
		t.again = true
		return false
	case t.due != nil:
		return false
	}
	if wait := t.published.Add(b.cfg.HomeInterval).Sub(now); !t.published.IsZero() && wait > 0 {
		t.due = time.AfterFunc(wait, func() { b.homeDue(userID) })
		return false
	}
	t.busy = true
	h.wg.Add(1)
	go b.publishHome(userID)
	return true
}

// homeDue starts a build whose time has come.
func (b *Bot) homeDue(userID string) {
	h := b.home
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.tabs[userID]
	if h.closed || t == nil {
		return
	}
	t.due = nil
	if t.busy {
		t.again = true
		return
	}
	t.busy = true
	h.wg.Add(1)
	go b.publishHome(userID)
}

// tabLocked returns userID's tab, made when new; past maxHomeTabs the least
// recently used idle tab is forgotten (its next open publishes it anew).
func (h *homeTabs) tabLocked(userID string, now time.Time) *homeTab {
	t := h.tabs[userID]
	if t == nil {
		if len(h.tabs) >= maxHomeTabs {
			h.forgetOldestLocked()
		}
		t = &homeTab{}
		h.tabs[userID] = t
	}
	t.used = now
	return t
}

func (h *homeTabs) forgetOldestLocked() {
	oldest := ""
	var at time.Time
	for id, t := range h.tabs {
		if t.busy || t.due != nil {
			continue
		}
		if oldest == "" || t.used.Before(at) {
			oldest, at = id, t.used
		}
	}
	if oldest != "" {
		delete(h.tabs, oldest)
	}
}

// publishHome builds userID's tab and publishes it unless it shows that
// already. A refusal from Slack is logged and tried again later; whatever
// happens, nothing waits for it.
func (b *Bot) publishHome(userID string) {
	h := b.home
	defer h.wg.Done()
	h.mu.Lock()
	t := h.tabs[userID]
	dm, shown := t.dm, t.shown
	h.mu.Unlock()

	ctx, cancel := context.WithTimeout(h.ctx, homeBuildTimeout)
	info := b.homeInfo(ctx, userID, dm)
	cancel()
	view := homeView(info)

	var err error
	result := "unchanged"
	if view.PrivateMetadata != shown {
		result = "published"
		pctx, pcancel := context.WithTimeout(h.ctx, b.cfg.SlackTimeout)
		err = b.api.PublishHome(pctx, userID, view)
		pcancel()
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	t.busy = false
	now := time.Now()
	switch {
	case err != nil:
		t.published = now
		t.failures++
		if h.closed || t.failures > homeRetries {
			b.log.Error("home tab not published; it is tried again when the user opens it", zap.String("user", userID),
				zap.Int("attempts", t.failures), zap.Error(err))
			t.failures = 0
			break
		}
		gap := b.homeRetryGap(t.failures, err)
		b.log.Warn("home tab not published; trying again later", zap.String("user", userID),
			zap.Duration("retry_in", gap), zap.Error(err))
		t.due = time.AfterFunc(gap, func() { b.homeDue(userID) })
		return
	case result == "published":
		t.published, t.shown, t.failures = now, view.PrivateMetadata, 0
	}
	b.log.Info("home tab", zap.String("user", userID), zap.String("result", result))
	if t.again && !h.closed {
		t.again = false
		b.scheduleHomeLocked(userID, t, now)
	}
}

// homeRetryGap is how long after its n-th refusal in a row a publish is
// tried again: Slack's Retry-After when it gave one, else the interval,
// doubling, up to maxHomeRetryGap.
func (b *Bot) homeRetryGap(n int, err error) time.Duration {
	gap := b.cfg.HomeInterval << min(n-1, 10)
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		gap = max(gap, rl.RetryAfter)
	}
	return min(gap, maxHomeRetryGap)
}

// homeInfo gathers what userID's tab shows, within ctx: one directory
// snapshot, the same authorisation calls as /transfer list, and their own
// transfers from the shared store.
func (b *Bot) homeInfo(ctx context.Context, userID, dm string) homeInfo {
	info := homeInfo{user: userID, dm: dm, channels: b.cfg.AllowedChannels, dir: b.cfg.Directory()}
	info.decision = b.authorizer.Decide(ctx, userID, b.homeChannel())
	if info.decision.Allowed && info.dir != nil {
		info.usable, _ = b.authorizer.UsableDestinations(ctx, userID, info.dir)
		info.unchecked = uncheckedDestinations(ctx, b.authorizer, userID, info.dir, len(info.usable))
		info.typed = b.authorizer.MayType(ctx, userID, info.dir.Typed())
		info.agents, info.agentsListed = floorAgents(info.dir)
	}
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	info.recent, info.recentErr = b.store.Recent(sctx, userID, homeKeep)
	cancel()
	info.links = make(map[string]string, len(info.recent))
	for _, r := range info.recent {
		if r.ThreadTS == "" {
			continue
		}
		if link := b.threadLink(ctx, r.Channel, r.ThreadTS); link != "" {
			info.links[r.Channel+"/"+r.ThreadTS] = link
		}
	}
	return info
}

// uncheckedDestinations counts the destinations of dir that p left out for
// userID only because a group in their who could not be looked up: the tab
// says that some are missing, rather than that there are none.
func uncheckedDestinations(ctx context.Context, p policy, userID string, dir *directory.Directory, usable int) int {
	if usable == len(dir.Destinations()) {
		return 0
	}
	n := 0
	for _, d := range dir.Destinations() {
		if len(d.Who) == 0 {
			continue
		}
		if dd := p.MayUseDestination(ctx, userID, d); !dd.Allowed && dd.Destination != nil && dd.Destination.LookupFailed {
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

// homeChannel is where the tab's rights are decided and where its form's
// channel picker starts: the first allowed channel, or "" for any.
func (b *Bot) homeChannel() string {
	if len(b.cfg.AllowedChannels) > 0 {
		return b.cfg.AllowedChannels[0]
	}
	return ""
}

// rememberForHome records e's transfer for its requester's tab, once its
// outcome is known. It never waits: the store write happens in the record
// worker. Invalid and busy requests transferred nothing and are not kept.
func (b *Bot) rememberForHome(e *auditLine) {
	switch {
	case e.outcome == "" || e.outcome == outcome.Invalid || e.outcome == outcome.Busy:
		return
	case e.spec.To.String() == "" && e.spec.PlivoAction() != outcome.AbortTransfer:
		return // refused before it named a destination (a form not opened)
	}
	dest := e.spec.Destination
	if dest == "" {
		dest = e.spec.To.String()
	}
	agent := e.spec.Agent
	if agent == "" {
		agent = e.spec.TriggerSource.String()
	}
	rec := store.Recent{At: e.start, Channel: e.channel, ThreadTS: e.thread, Destination: dest, Agent: agent,
		Outcome: string(e.outcome), Action: string(e.spec.PlivoAction())}
	select {
	case b.home.remember <- remembered{user: e.requester, rec: rec}:
	default:
		b.log.Warn("transfer not recorded for the requester's Home tab: too many waiting",
			zap.String("requester", e.requester), zap.Int("queued", rememberQueue))
	}
}

// recordTransfers is the record worker: each transfer goes to the shared
// store, then to its requester's tab if they look at it. At shutdown it
// records what is queued, within surfacesFlush.
func (b *Bot) recordTransfers() {
	h := b.home
	defer h.wg.Done()
	for {
		select {
		case r := <-h.remember:
			b.recordTransfer(r)
		case <-h.stop:
			for {
				select {
				case r := <-h.remember:
					b.recordTransfer(r)
				default:
					return
				}
			}
		}
	}
}

func (b *Bot) recordTransfer(r remembered) {
	ctx, cancel := context.WithTimeout(b.home.ctx, storeTimeout)
	defer cancel()
	if err := b.store.Remember(ctx, r.user, r.rec, homeKeep, homeTTL); err != nil {
		b.log.Warn("transfer not recorded for the requester's Home tab", zap.String("requester", r.user), zap.Error(err))
		return
	}
	b.refreshHome(r.user)
}

// onHomeAction handles the tab's New transfer button: the form, with a
// channel picker that starts at the first allowed channel. The button's
// value is the app's direct message with the presser, where they are told
// what keeps the form from opening (a Home tab has no response_url).
func (b *Bot) onHomeAction(evt socketmode.Event, cb slack.InteractionCallback, press *slack.BlockAction) {
	dm := press.Value
	j := &request{path: outcome.Modal, userID: cb.User.ID, channelID: b.homeChannel(), received: time.Now(),
		dir: b.cfg.Directory(), pickChannel: true}
	if ok, busy := b.tryStart(""); !ok {
		b.ack(evt.Request, nil)
		b.inflight.Add(1)
		go func() {
			defer b.inflight.Done()
			b.tellInDM(j.userID, dm, busy)
		}()
		return
	}
	first := func() bool { return b.firstTime(evt.Request, "trigger", cb.TriggerID) }
	b.ackThenRun(evt.Request, j, "", func() {
		// Decided here first, so that a refusal is told in the DM; the form
		// then finds the decision in the group cache.
		ctx, cancel := context.WithDeadline(b.work, j.received.Add(formBudget))
		d := b.authorizer.Decide(ctx, j.userID, j.channelID)
		pending := d.Denial == authz.DeniedLookup && ctx.Err() != nil
		cancel()
		if d.Allowed || pending {
			b.openModal(j, cb.TriggerID, first)
			return
		}
		if first() {
			e := j.entry(outcome.Refused)
			e.decision = &d
			b.audit(e)
			b.tellInDM(j.userID, dm, refusalText(d))
			b.homeOpened(j.userID, dm, "") // the tab still offers the button: redraw it
		}
	})
}

// tellInDM tells userID text in the app's direct message dm, seen by them
// only; without a dm it can only be logged.
func (b *Bot) tellInDM(userID, dm, text string) {
	if dm == "" {
		b.log.Warn("requester not told: no direct message with them known", zap.String("requester", userID), zap.String("message", text))
		return
	}
	ctx, cancel := b.slackCtx()
	defer cancel()
	if err := b.api.PostEphemeral(ctx, dm, userID, text); err != nil {
		b.log.Error("requester not told", zap.String("requester", userID), zap.String("channel", dm),
			zap.String("message", text), zap.Error(err))
	}
}

// isHomeAction returns the New transfer press of cb, if it is one.
func isHomeAction(cb slack.InteractionCallback) *slack.BlockAction {
	for _, a := range cb.ActionCallback.BlockActions {
		if a != nil && a.ActionID == homeNewTransfer {
			return a
		}
	}
	return nil
}

// threadLinks makes the links to transfers' threads for the Home tab and
// the audit channel. A message's link is its workspace's archive URL, the
// channel and the ts without its dot: one chat.getPermalink answer teaches
// the archive URL, and the rest are made without asking Slack again.
type threadLinks struct {
	mu      sync.Mutex
	archive string // e.g. "https://acme.slack.com/archives/"; "" until learnt
}

// threadLink returns the link to the message ts of channel (a thread's
// parent), or "" when Slack could not say.
func (b *Bot) threadLink(ctx context.Context, channel, ts string) string {
	b.links.mu.Lock()
	archive := b.links.archive
	b.links.mu.Unlock()
	if archive != "" {
		return archive + channel + "/p" + strings.Replace(ts, ".", "", 1)
	}
	link, err := b.api.Permalink(ctx, channel, ts)
	if err != nil {
		b.log.Warn("no link to a transfer's thread", zap.String("channel", channel), zap.String("ts", ts), zap.Error(err))
		return ""
	}
	// Learnt only when the answer is exactly what the rule makes of it.
	if i := strings.Index(link, "/archives/"); i > 0 {
		if guess := link[:i+len("/archives/")]; guess+channel+"/p"+strings.Replace(ts, ".", "", 1) == link {
			b.links.mu.Lock()
			b.links.archive = guess
			b.links.mu.Unlock()
		}
	}
	return link
}
