package webapi

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/slack-go/slack"
)

// Slack's limits on a published view.
const (
	// MaxViewBlocks is the most blocks a view may hold; views.publish and
	// views.update refuse more with invalid_arguments.
	MaxViewBlocks = 100
	// MaxViewBytes is the largest view views.publish and views.update
	// take (Slack says 250 kB); a larger one is view_too_large.
	MaxViewBytes = 250_000
)

// viewRecord is what the fake keeps of a view it opened or published:
// enough to check a views.update, not the view itself.
type viewRecord struct {
	hash       string
	externalID string
	home       string // the user whose Home tab it is; "" for a modal
}

// homeTab is a user's Home tab as last published.
type homeTab struct {
	id   string
	hash string
	view json.RawMessage // as the fake echoed it
}

// HomeTab is the Home tab of one user as last published.
type HomeTab struct {
	ID   string // the view's id: the same for every publish to the user
	Hash string // the hash a views.publish or views.update must give to replace it
	// View is the view as views.publish answered it: the view published,
	// with its id, hash, team_id and state.
	View json.RawMessage
}

// Decode returns the view as slack-go reads it.
func (h HomeTab) Decode() (slack.View, error) {
	var v slack.View
	if err := json.Unmarshal(h.View, &v); err != nil {
		return slack.View{}, fmt.Errorf("decode the Home tab %s: %w", h.ID, err)
	}
	return v, nil
}

// HomeView returns the Home tab last published for userID (by
// views.publish, or views.update of its view), and whether one was.
func (a *API) HomeView(userID string) (HomeTab, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	h := a.homes[userID]
	if h == nil {
		return HomeTab{}, false
	}
	return HomeTab{ID: h.id, Hash: h.hash, View: h.view}, true
}

// WaitHomeView waits for the first views.publish to userID, past or
// future, that Slack accepted and whose Home tab match accepts (nil: any),
// and returns that tab. match runs while the server's record is locked:
// keep it quick and do not call the Server from it.
func (a *API) WaitHomeView(ctx context.Context, userID string, match func(HomeTab) bool) (HomeTab, error) {
	c, err := a.WaitCall(ctx, "views.publish", func(c Call) bool {
		if c.Arg("user_id") != userID || c.AnswerArg("ok") != "true" {
			return false
		}
		return match == nil || match(homeTabOf(c))
	})
	if err != nil {
		return HomeTab{}, fmt.Errorf("wait for the Home tab of %s: %w", userID, err)
	}
	return homeTabOf(c), nil
}

// homeTabOf reads the Home tab from an accepted views.publish.
func homeTabOf(c Call) HomeTab {
	var ans struct {
		View json.RawMessage `json:"view"`
	}
	_ = json.Unmarshal(c.Answer, &ans)
	var head struct {
		ID   string `json:"id"`
		Hash string `json:"hash"`
	}
	_ = json.Unmarshal(ans.View, &head)
	return HomeTab{ID: head.ID, Hash: head.Hash, View: ans.View}
}

// parseView reads a view argument (a JSON object, or a string holding one
// in a form) and the fields the fake checks.
func parseView(raw string) (view map[string]json.RawMessage, typ, externalID string, ok bool) {
	if json.Unmarshal([]byte(raw), &view) != nil || view == nil {
		return nil, "", "", false
	}
	_ = json.Unmarshal(view["type"], &typ)
	_ = json.Unmarshal(view["external_id"], &externalID)
	if b, has := view["blocks"]; has {
		var blocks []json.RawMessage
		if json.Unmarshal(b, &blocks) != nil || len(blocks) > MaxViewBlocks {
			return nil, "", "", false
		}
	}
	return view, typ, externalID, true
}

func (a *API) newViewID() string { return fmt.Sprintf("V%08d", a.seqView.Add(1)) }

func (a *API) newViewHash() string {
	n := a.seqHash.Add(1)
	return fmt.Sprintf("%d.fake%d", 1700000000+n, n)
}

// viewEcho is a view as Slack answers it: the view given, with the fields
// Slack adds.
func viewEcho(view map[string]json.RawMessage, id, hash string) object {
	echo := make(object, len(view)+8)
	for k, v := range view {
		echo[k] = v
	}
	echo["id"] = id
	echo["team_id"] = "T1"
	echo["app_id"] = "A1"
	echo["bot_id"] = "B1"
	echo["hash"] = hash
	echo["root_view_id"] = id
	echo["state"] = object{"values": object{}}
	return echo
}

// claimExternalID points externalID at the view id, unless another view
// has it; it drops the view's former external id. Called with a.mu held.
func (a *API) claimExternalIDLocked(rec *viewRecord, id, externalID string) bool {
	if externalID != "" {
		if other, ok := a.externalIDs[externalID]; ok && other != id {
			return false
		}
	}
	if rec.externalID != "" && rec.externalID != externalID {
		delete(a.externalIDs, rec.externalID)
	}
	if externalID != "" {
		a.externalIDs[externalID] = id
	}
	rec.externalID = externalID
	return true
}

func (a *API) openView(arg func(string) string) object {
	view, _, externalID, ok := parseView(arg("view"))
	if !ok {
		return slackError("invalid_arguments")
	}
	id := arg("trigger_id")
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.triggers[id]
	switch {
	case t == nil:
		return slackError("invalid_trigger_id")
	case t.used:
		return slackError("exchanged_trigger_id")
	case a.opts.TriggerTTL > 0 && time.Since(t.issued) > a.opts.TriggerTTL:
		return slackError("expired_trigger_id")
	}
	viewID, hash := a.newViewID(), a.newViewHash()
	rec := &viewRecord{hash: hash}
	if !a.claimExternalIDLocked(rec, viewID, externalID) {
		return slackError("duplicate_external_id")
	}
	t.used = true
	a.views[viewID] = rec
	return object{"ok": true, "view": viewEcho(view, viewID, hash)}
}

// publishView is views.publish: the user's Home tab is replaced, unless a
// hash is given that is not the tab's latest (hash_conflict).
func (a *API) publishView(arg func(string) string) object {
	user, raw := arg("user_id"), arg("view")
	if len(raw) > MaxViewBytes {
		return slackError("view_too_large")
	}
	view, typ, externalID, ok := parseView(raw)
	if user == "" || !ok || typ != "home" {
		return slackError("invalid_arguments")
	}
	hash := arg("hash")
	a.mu.Lock()
	defer a.mu.Unlock()
	home := a.homes[user]
	if hash != "" && (home == nil || home.hash != hash) {
		return slackError("hash_conflict")
	}
	var rec *viewRecord
	if home == nil {
		home = &homeTab{id: a.newViewID()}
		rec = &viewRecord{home: user}
	} else {
		rec = a.views[home.id]
	}
	if !a.claimExternalIDLocked(rec, home.id, externalID) {
		return slackError("duplicate_external_id")
	}
	a.homes[user], a.views[home.id] = home, rec
	return a.replaceViewLocked(rec, home.id, view)
}

// updateView is views.update, of a modal or a Home tab, by view_id or
// external_id, with an optional hash.
func (a *API) updateView(arg func(string) string) object {
	id, externalID, hash, raw := arg("view_id"), arg("external_id"), arg("hash"), arg("view")
	if len(raw) > MaxViewBytes {
		return slackError("view_too_large")
	}
	view, _, newExternalID, ok := parseView(raw)
	if !ok || (id == "" && externalID == "") {
		return slackError("invalid_arguments")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if id == "" {
		id = a.externalIDs[externalID]
	}
	rec := a.views[id]
	switch {
	case rec == nil:
		return slackError("not_found")
	case hash != "" && hash != rec.hash:
		return slackError("hash_conflict")
	case !a.claimExternalIDLocked(rec, id, newExternalID):
		return slackError("duplicate_external_id")
	}
	return a.replaceViewLocked(rec, id, view)
}

// replaceViewLocked gives the view id a new hash and content, keeps a Home
// tab's echo, and returns the answer. Called with a.mu held.
func (a *API) replaceViewLocked(rec *viewRecord, id string, view map[string]json.RawMessage) object {
	rec.hash = a.newViewHash()
	echo := viewEcho(view, id, rec.hash)
	if rec.home == "" {
		return object{"ok": true, "view": echo}
	}
	b, err := json.Marshal(echo)
	if err != nil {
		return slackError("invalid_arguments")
	}
	h := a.homes[rec.home]
	h.hash, h.view = rec.hash, b
	return object{"ok": true, "view": json.RawMessage(b)}
}
