package slackbot_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/fakeplivo"
	"github.com/coldtransfer/coldtransfer/internal/fakeslack"
)

// The whole path of a transfer from a one-line command: ack, announcement, Plivo,
// thread reply, marked announcement, audit line.
func TestCommandTransfers(t *testing.T) {
	h := start(t, options{})
	env, ack := h.command(supervisor, floorChannel, "+1 (415) 222-5555 FROM +1 415 222 3333 as Customer")
	if text := ackText(t, ack); text != "" {
		t.Errorf("ack of a valid command carried %q; want an empty ack", text)
	}

	tr := h.threadOf(floorChannel, supervisor)
	reqs, err := h.plivo.WaitRequests(h.ctx(), 1)
	if err != nil {
		t.Fatal(err)
	}
	req := reqs[0]
	wantPath := "/v1/phlo/" + phloID + "/multi_party_call/" + nodeID
	if req.Method != http.MethodPost || req.Path != wantPath {
		t.Errorf("Plivo got %s %s, want POST %s", req.Method, req.Path, wantPath)
	}
	if !req.BasicAuthOK || req.ContentType != "application/json" {
		t.Errorf("Plivo got auth ok=%v content-type %q", req.BasicAuthOK, req.ContentType)
	}
	wantBody := `{"action":"cold_transfer","to":"+14152225555","role":"customer","trigger_source":"+14152223333"}`
	if string(req.Body) != wantBody {
		t.Errorf("Plivo body\n got %s\nwant %s", req.Body, wantBody)
	}

	if !tr.announcement.Time.Before(req.Received) || !req.Received.Before(tr.reply.Time) {
		t.Errorf("want announcement < Plivo < reply, got %v, %v, %v", tr.announcement.Time, req.Received, tr.reply.Time)
	}

	ann := tr.announcement.Arg("text")
	for _, want := range []string{"<@" + supervisor + ">", "+14152223333", "+14152225555", "customer"} {
		if !strings.Contains(ann, want) {
			t.Errorf("announcement text %q does not name %q", ann, want)
		}
	}
	if blocks := tr.announcement.Arg("blocks"); !strings.Contains(blocks, "Agent on the call") || !strings.Contains(blocks, "Asking Plivo") {
		t.Errorf("announcement blocks lack the fields or the pending status: %s", blocks)
	}
	var answer struct {
		APIID string `json:"api_id"`
	}
	// The fake Plivo hands out its api_ids; read it back from its answer.
	reply := tr.reply.Arg("text")
	if !strings.Contains(reply, "Plivo accepted the cold transfer") {
		t.Errorf("reply %q does not say the transfer was accepted", reply)
	}
	audit := h.audit(1)
	answer.APIID, _ = audit["api_id"].(string)
	if answer.APIID == "" || !strings.Contains(reply, answer.APIID) {
		t.Errorf("reply %q does not show the api_id %q", reply, answer.APIID)
	}
	if upd := tr.update.Arg("blocks"); !strings.Contains(upd, ":white_check_mark:") || !strings.Contains(upd, answer.APIID) {
		t.Errorf("announcement not marked done: %s", upd)
	}

	want := map[string]any{
		"requester": supervisor, "channel": floorChannel, "path": "command",
		"to": "+14152225555", "trigger_source": "+14152223333", "role": "customer",
		"decision": "allowed", "reason": "user " + supervisor + " allowed by id",
		"outcome": "transferred", "plivo_status": int64(201), "error": "",
	}
	for k, v := range want {
		if audit[k] != v {
			t.Errorf("audit %s = %v (%T), want %v", k, audit[k], audit[k], v)
		}
	}
	if _, ok := audit["duration"]; !ok {
		t.Error("audit line has no duration")
	}
	if got := len(h.slack.Acks(env.EnvelopeID)); got != 1 {
		t.Errorf("envelope acked %d times, want 1", got)
	}
}

func TestHelpIsAnsweredInTheAck(t *testing.T) {
	h := start(t, options{})
	for _, text := range []string{"help", "  HELP "} {
		_, ack := h.command(stranger, floorChannel, text)
		got := ackText(t, ack)
		if !strings.Contains(got, "/transfer <to> from <agent on the call>") || !strings.Contains(got, "opens a form") {
			t.Errorf("/transfer %q answered %q; want the usage", text, got)
		}
	}
	h.noneOf("chat.postMessage", "views.open", "response_url", "usergroups.users.list")
	h.noPlivo()
}

// Every malformed command is answered in the ack, names what is wrong,
// shows the usage, and runs nothing.
func TestInvalidCommandsRunNothing(t *testing.T) {
	h := start(t, options{})
	cases := []struct {
		name, text string
		want       []string
	}{
		{"no from", "+14152225555", []string{"`from` is missing"}},
		{"from twice", "+14152225555 from +14152223333 from +14152224444", []string{"`from` appears more than once"}},
		{"as twice", "+14152225555 from +14152223333 as agent as customer", []string{"`as` appears more than once"}},
		{"as before from", "+14152225555 as agent from +14152223333", []string{"`as` must come after"}},
		{"unknown role", "+14152225555 from +14152223333 as boss", []string{`"agent" or "customer"`}},
		{"no role after as", "+14152225555 from +14152223333 as", []string{`"agent" or "customer"`}},
		{"no destination", "from +14152223333", []string{"Destination (before `from`)"}},
		{"no agent", "+14152225555 from", []string{"Agent on the call (after `from`)"}},
		{"no country code", "4152225555 from +14152223333", []string{"Destination", "country code"}},
		{"both bad", "12 from sip:bob", []string{"Destination", "Agent on the call"}},
		{"same endpoint", "+1 415 222 5555 from <tel:+14152225555|+1 415 222 5555>", []string{"Destination"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, ack := h.command(supervisor, floorChannel, tc.text)
			got := ackText(t, ack)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("/transfer %s answered\n%s\nwant it to contain %q", tc.text, got, w)
				}
			}
			if !strings.Contains(got, "*Cold-transfer a live call*") {
				t.Errorf("answer has no usage: %s", got)
			}
		})
	}
	h.noneOf("chat.postMessage", "views.open", "response_url")
	h.noPlivo()
	if got := h.audit(len(cases))["outcome"]; got != "invalid" {
		t.Errorf("audit outcome = %v, want invalid", got)
	}
}

// A link Slack made of a number or SIP address is unwrapped; a SIP
// destination is sent as is.
func TestCommandUnwrapsSlackLinks(t *testing.T) {
	h := start(t, options{})
	h.command(groupMember, floorChannel, "<sip:Queue@PBX.example.com|queue> from <tel:+14152223333|+1 415 222 3333>")
	h.threadOf(floorChannel, groupMember)
	reqs, err := h.plivo.WaitRequests(h.ctx(), 1)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"action":"cold_transfer","to":"sip:Queue@pbx.example.com","role":"agent","trigger_source":"+14152223333"}`
	if string(reqs[0].Body) != want {
		t.Errorf("Plivo body\n got %s\nwant %s", reqs[0].Body, want)
	}
	if reason := h.audit(1)["reason"]; reason != "user "+groupMember+" in group "+floorGroup {
		t.Errorf("audit reason = %v", reason)
	}
}

// openedView is a form the bot opened, as the fake Slack recorded it.
type openedView struct {
	triggerID string
	view      slack.ModalViewRequest
}

func (h *harness) openedView() openedView {
	h.t.Helper()
	calls, err := h.slack.WaitCalls(h.ctx(), "views.open", 1)
	if err != nil {
		h.t.Fatalf("no views.open: %v", err)
	}
	var v openedView
	v.triggerID = calls[0].Arg("trigger_id")
	if err := json.Unmarshal([]byte(calls[0].Arg("view")), &v.view); err != nil {
		h.t.Fatalf("views.open view: %v", err)
	}
	return v
}

// submission is the view_submission of v with the fields filled in.
func (v openedView) submission(user, viewID, triggerSource, to, role string) slack.InteractionCallback {
	return slack.InteractionCallback{
		Type: slack.InteractionTypeViewSubmission,
		User: slack.User{ID: user},
		View: slack.View{
			ID:              viewID,
			Type:            slack.VTModal,
			CallbackID:      v.view.CallbackID,
			PrivateMetadata: v.view.PrivateMetadata,
			State: &slack.ViewState{Values: map[string]map[string]slack.BlockAction{
				"trigger_source": {"trigger_source": {Type: "plain_text_input", Value: triggerSource}},
				"to":             {"to": {Type: "plain_text_input", Value: to}},
				"role":           {"role": {Type: "radio_buttons", SelectedOption: slack.OptionBlockObject{Value: role}}},
			}},
		},
	}
}

func (h *harness) submit(cb slack.InteractionCallback) (fakeslack.Envelope, fakeslack.Ack) {
	h.t.Helper()
	env, err := h.slack.SendInteraction(h.ctx(), cb)
	if err != nil {
		h.t.Fatalf("send view_submission: %v", err)
	}
	return env, h.ack(env)
}

func TestModalOpensWithTheSpecifiedIDs(t *testing.T) {
	h := start(t, options{})
	env, ack := h.command(supervisor, floorChannel, "")
	if ack.Payload != nil {
		t.Errorf("ack of a bare /transfer carried %s; want an empty ack", ack.Payload)
	}
	v := h.openedView()
	var cmd slack.SlashCommand
	_ = json.Unmarshal(mustEnvelopePayload(t, env), &cmd)
	if v.triggerID != cmd.TriggerID {
		t.Errorf("views.open trigger_id %q, want the command's %q", v.triggerID, cmd.TriggerID)
	}
	if v.view.CallbackID != "cold_transfer" || v.view.Title.Text != "Cold transfer" || v.view.Submit.Text != "Transfer" {
		t.Errorf("view callback_id %q title %q submit %q", v.view.CallbackID, v.view.Title.Text, v.view.Submit.Text)
	}
	var ids []string
	for _, b := range v.view.Blocks.BlockSet {
		in, ok := b.(*slack.InputBlock)
		if !ok {
			t.Errorf("block %T is not an input block", b)
			continue
		}
		ids = append(ids, in.BlockID)
	}
	if got := strings.Join(ids, ","); got != "trigger_source,to,role,how" {
		t.Errorf("input blocks %s, want trigger_source,to,role,how", got)
	}
	raw := h.slack.Calls("views.open")[0].Arg("view")
	for _, want := range []string{`"action_id":"trigger_source"`, `"action_id":"to"`, `"action_id":"role"`, `"value":"customer"`} {
		if !strings.Contains(raw, want) {
			t.Errorf("view lacks %s:\n%s", want, raw)
		}
	}
	for _, want := range []struct{ block, initial string }{{"role", "agent"}, {"how", "cold"}} {
		i := slices.IndexFunc(v.view.Blocks.BlockSet, func(b slack.Block) bool {
			in, ok := b.(*slack.InputBlock)
			return ok && in.BlockID == want.block
		})
		if i < 0 {
			t.Errorf("no block %s", want.block)
			continue
		}
		radio, ok := v.view.Blocks.BlockSet[i].(*slack.InputBlock).Element.(*slack.RadioButtonsBlockElement)
		if !ok || radio.InitialOption == nil || radio.InitialOption.Value != want.initial {
			t.Errorf("%s element: want radio buttons starting at %s", want.block, want.initial)
		}
	}
	if !strings.Contains(v.view.PrivateMetadata, floorChannel) || len(v.view.PrivateMetadata) > 3000 {
		t.Errorf("private_metadata %q must carry the channel and stay under 3000 characters", v.view.PrivateMetadata)
	}
	h.noneOf("chat.postMessage", "response_url")
	h.noPlivo()
}

func mustEnvelopePayload(t *testing.T, env fakeslack.Envelope) []byte {
	t.Helper()
	if len(env.Payload) == 0 {
		t.Fatal("envelope without payload")
	}
	return env.Payload
}

func TestModalSubmissionTransfers(t *testing.T) {
	h := start(t, options{})
	h.command(groupMember, floorChannel, "")
	v := h.openedView()
	_, ack := h.submit(v.submission(groupMember, "V1", "sip:agent7@pbx.example.com", "+44 20 7946 0000", "agent"))
	if ack.Payload != nil {
		t.Errorf("valid submission acked with %s; want an empty ack, which closes the form", ack.Payload)
	}
	tr := h.threadOf(floorChannel, groupMember)
	reqs, err := h.plivo.WaitRequests(h.ctx(), 1)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"action":"cold_transfer","to":"+442079460000","role":"agent","trigger_source":"sip:agent7@pbx.example.com"}`
	if string(reqs[0].Body) != want {
		t.Errorf("Plivo body\n got %s\nwant %s", reqs[0].Body, want)
	}
	if !strings.Contains(tr.announcement.Arg("blocks"), "the transfer form") {
		t.Error("announcement does not say the form was used")
	}
	if a := h.audit(1); a["path"] != "modal" || a["outcome"] != "transferred" {
		t.Errorf("audit path %v outcome %v, want modal transferred", a["path"], a["outcome"])
	}
}

func TestModalInvalidSubmissionShowsErrorsUnderTheFields(t *testing.T) {
	h := start(t, options{})
	h.command(supervisor, floorChannel, "")
	v := h.openedView()
	cases := []struct {
		name                    string
		triggerSource, to, role string
		wantBlocks              []string
		wantText                string
	}{
		{"no country code", "+14152223333", "4152225555", "agent", []string{"to"}, "country code"},
		{"both bad", "", "12", "agent", []string{"to", "trigger_source"}, ""},
		{"same number", "+14152223333", "+1 415 222 3333", "agent", []string{"to"}, ""},
		{"no role", "+14152223333", "+14152225555", "", []string{"role"}, "agent or customer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, ack := h.submit(v.submission(supervisor, "V1", tc.triggerSource, tc.to, tc.role))
			var resp slack.ViewSubmissionResponse
			if err := json.Unmarshal(ack.Payload, &resp); err != nil {
				t.Fatalf("ack payload %s: %v", ack.Payload, err)
			}
			if resp.ResponseAction != "errors" || len(resp.Errors) != len(tc.wantBlocks) {
				t.Fatalf("ack = %s; want errors on %v", ack.Payload, tc.wantBlocks)
			}
			for _, b := range tc.wantBlocks {
				if resp.Errors[b] == "" {
					t.Errorf("no error under %s: %v", b, resp.Errors)
				}
			}
			if tc.wantText != "" && !strings.Contains(strings.Join(mapValues(resp.Errors), " "), tc.wantText) {
				t.Errorf("errors %v do not say %q", resp.Errors, tc.wantText)
			}
		})
	}
	// The form stayed open; fixing it and submitting the same view works.
	_, ack := h.submit(v.submission(supervisor, "V1", "+14152223333", "+14152225555", "agent"))
	if ack.Payload != nil {
		t.Fatalf("corrected submission acked with %s", ack.Payload)
	}
	h.threadOf(floorChannel, supervisor)
	if n := h.plivo.Count(); n != 1 {
		t.Errorf("Plivo got %d requests, want exactly the corrected one", n)
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// Refusals: an ephemeral message to the requester only, no Plivo request, no
// channel message, one audit line.
func TestRefusals(t *testing.T) {
	restricted := authz.Policy{Users: []string{supervisor}, Groups: []string{floorGroup}, Channels: []string{floorChannel}}
	cases := []struct {
		name       string
		policy     *authz.Policy
		user       string
		channel    string
		groupsFail bool
		text       string
		wantMsg    string
		wantReason string
	}{
		{"unknown user", nil, stranger, floorChannel, false, "+14152225555 from +14152223333",
			"You are not allowed to transfer calls", "user " + stranger + " not allowed by id or in any allowed group"},
		{"unknown user opening the form", nil, stranger, floorChannel, false, "",
			"You are not allowed to transfer calls", "user " + stranger + " not allowed by id or in any allowed group"},
		{"group lookup fails", nil, groupMember, floorChannel, true, "+14152225555 from +14152223333",
			"could not confirm your user-group membership", "group lookup failed: " + floorGroup + ": usergroups.users.list: missing_scope"},
		{"channel not allowed", &restricted, supervisor, otherChannel, false, "+14152225555 from +14152223333",
			"can't be transferred from this channel", "channel " + otherChannel + " not allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, options{policy: tc.policy})
			if tc.groupsFail {
				h.slack.Fail("usergroups.users.list", fakeslack.Failure{Error: "missing_scope", Times: 10})
			}
			_, ack := h.command(tc.user, tc.channel, tc.text)
			if ack.Payload != nil {
				t.Errorf("ack carried %s; the refusal comes after the ack", ack.Payload)
			}
			msgs := h.responses(1)
			if !strings.Contains(msgs[0], tc.wantMsg) {
				t.Errorf("requester told %q, want %q", msgs[0], tc.wantMsg)
			}
			a := h.audit(1)
			if a["outcome"] != "refused" || a["decision"] != "refused" || a["reason"] != tc.wantReason {
				t.Errorf("audit outcome %v decision %v reason %q; want refused, %q", a["outcome"], a["decision"], a["reason"], tc.wantReason)
			}
			h.noneOf("chat.postMessage", "chat.postEphemeral", "views.open")
			h.noPlivo()
		})
	}
}

// Authorisation is asked again on submission: a form opened by someone
// allowed, then submitted by someone who is not, runs nothing.
func TestModalSubmissionIsAuthorisedAgain(t *testing.T) {
	h := start(t, options{})
	h.command(supervisor, floorChannel, "")
	v := h.openedView()
	h.submit(v.submission(stranger, "V9", "+14152223333", "+14152225555", "agent"))
	msgs := h.responses(1)
	if !strings.Contains(msgs[0], "not allowed") {
		t.Errorf("requester told %q", msgs[0])
	}
	if a := h.audit(1); a["outcome"] != "refused" || a["path"] != "modal" {
		t.Errorf("audit %v", a)
	}
	h.noneOf("chat.postMessage")
	h.noPlivo()
}

func TestNotInChannelRunsNothing(t *testing.T) {
	h := start(t, options{})
	h.slack.SetNotInChannel("GPRIVATE")
	h.command(supervisor, "GPRIVATE", "+14152225555 from +14152223333")
	msgs := h.responses(1)
	if !strings.Contains(msgs[0], "invite <@UBOT0001>") || !strings.Contains(msgs[0], "nothing was transferred") {
		t.Errorf("requester told %q; want how to invite the bot", msgs[0])
	}
	if a := h.audit(1); a["outcome"] != "not_announced" || a["decision"] != "allowed" {
		t.Errorf("audit %v", a)
	}
	h.noPlivo()
}

func TestDryRunSendsNothingToPlivo(t *testing.T) {
	h := start(t, options{dryRun: true})
	h.command(supervisor, floorChannel, "+14152225555 from +14152223333")
	tr := h.threadOf(floorChannel, supervisor)
	if !strings.Contains(tr.announcement.Arg("blocks"), "Dry run") {
		t.Errorf("announcement does not say dry run: %s", tr.announcement.Arg("blocks"))
	}
	reply := tr.reply.Arg("text")
	if !strings.Contains(reply, "Dry run") || !strings.Contains(reply, "to=+14152225555 trigger_source=+14152223333 role=agent") {
		t.Errorf("reply %q does not say what a real run would send", reply)
	}
	if a := h.audit(1); a["outcome"] != "dry_run" {
		t.Errorf("audit outcome %v", a["outcome"])
	}
	h.noPlivo()
}

// Each Plivo outcome, as the supervisor reads it in the thread, and how many
// requests Plivo saw.
func TestPlivoOutcomesInTheThread(t *testing.T) {
	cases := []struct {
		name        string
		responses   []fakeplivo.Response
		refused     bool // Plivo unreachable
		timeout     time.Duration
		wantReply   string
		wantOutcome string
		wantPOSTs   int
	}{
		{"400 with text", []fakeplivo.Response{{Status: 400, Body: `{"api_id":"a-400","error":"to is a mandatory param."}`}},
			false, 0, "Plivo refused the transfer (HTTP 400): to is a mandatory param.", "failed", 1},
		{"401", []fakeplivo.Response{{Status: 401, Body: `{"api_id":"a-401","error":"Authentication failed"}`}},
			false, 0, "check PLIVO_AUTH_ID and PLIVO_AUTH_TOKEN", "failed", 1},
		{"403", []fakeplivo.Response{{Status: 403, Body: `{"api_id":"a-403","error":"PHLO not enabled"}`}},
			false, 0, "HTTP 403", "failed", 1},
		{"404 empty", []fakeplivo.Response{{Status: 404}},
			false, 0, "check PLIVO_PHLO_ID and PLIVO_NODE_ID", "failed", 1},
		{"429 then success", []fakeplivo.Response{{Status: 429, Body: `{"error":"too many requests"}`}, {}},
			false, 0, "Plivo accepted the cold transfer", "transferred", 2},
		{"500", []fakeplivo.Response{{Status: 500, Body: `{"api_id":"a-500","error":"internal"}`}},
			false, 0, "may or may not have been transferred", "unknown", 1},
		{"proxy HTML", []fakeplivo.Response{{Status: 502, Body: "<html><body>Bad gateway</body></html>", Header: http.Header{"Content-Type": {"text/html"}}}},
			false, 0, "not JSON", "unknown", 1},
		{"2xx with error", []fakeplivo.Response{{Status: 201, Body: `{"api_id":"a-201","error":"member not found"}`}},
			false, 0, "member not found", "failed", 1},
		{"timeout", []fakeplivo.Response{{Delay: time.Minute}},
			false, 300 * time.Millisecond, "did not answer within 300ms", "unknown", 1},
		{"connection refused", nil,
			true, 300 * time.Millisecond, "Could not reach Plivo", "failed", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := options{plivoTimeout: tc.timeout}
			if tc.refused {
				opts.plivoURL = refusedURL(t)
			}
			h := start(t, opts)
			h.plivo.Respond(tc.responses...)
			h.command(supervisor, floorChannel, "+14152225555 from +14152223333")
			tr := h.threadOf(floorChannel, supervisor)
			reply := tr.reply.Arg("text")
			if !strings.Contains(reply, tc.wantReply) {
				t.Errorf("supervisor read %q; want %q", reply, tc.wantReply)
			}
			a := h.audit(1)
			if a["outcome"] != tc.wantOutcome {
				t.Errorf("audit outcome %v, want %s", a["outcome"], tc.wantOutcome)
			}
			if n := h.plivo.Count(); n != tc.wantPOSTs {
				t.Errorf("Plivo received %d POSTs, want %d", n, tc.wantPOSTs)
			}
			for _, secret := range []string{plivoAuthToken, "goroutine", "dial tcp", "&{"} {
				if strings.Contains(reply, secret) {
					t.Errorf("reply %q contains %q", reply, secret)
				}
			}
		})
	}
}

// No token and no Plivo auth token reaches any log line, at any level, or
// any Slack message, whatever happens.
func TestSecretsNeverLeave(t *testing.T) {
	h := start(t, options{plivoTimeout: 300 * time.Millisecond})
	h.plivo.Respond(
		fakeplivo.Response{},
		fakeplivo.Response{Status: 400, Body: `{"api_id":"x","error":"bad credentials ` + plivoAuthToken + `"}`},
		fakeplivo.Response{Status: 401, Body: `{"error":"` + plivoAuthID + `:` + plivoAuthToken + `"}`},
		fakeplivo.Response{Status: 502, Body: "<html>" + plivoAuthToken + "</html>"},
		fakeplivo.Response{Delay: time.Minute},
	)
	for i := range 5 {
		h.command(supervisor, floorChannel, fmt.Sprintf("+1415666%04d from +1415777%04d", i, i))
		h.audit(i + 1)
	}
	h.command(stranger, floorChannel, "+14152225555 from +14152223333")
	h.command(supervisor, floorChannel, "not a command at all")
	h.command(supervisor, floorChannel, "")
	v := h.openedView()
	h.submit(v.submission(supervisor, "VSECRET", "+14152223333", "12", "agent"))
	h.slack.Fail("chat.postMessage", fakeslack.Failure{Error: "invalid_auth"})
	h.submit(v.submission(supervisor, "VSECRET", "+14152220001", "+14152229999", "agent"))
	h.audit(8)
	if err := h.shutdown(); err != nil {
		t.Fatal(err)
	}

	logs := h.raw.String()
	if !strings.Contains(logs, `"msg":"transfer"`) || !strings.Contains(logs, "[redacted]") {
		t.Fatalf("the audit lines, with Plivo's answer echoing the token redacted, were not captured: %s", logs)
	}
	var slackText strings.Builder
	for _, c := range h.slack.AllCalls() {
		fmt.Fprintf(&slackText, "%s %v %s\n", c.Method, c.Form, c.JSON)
	}
	for name, secret := range map[string]string{
		"SLACK_BOT_TOKEN": botToken, "SLACK_APP_TOKEN": appToken, "PLIVO_AUTH_TOKEN": plivoAuthToken,
		"bot token's secret part": "bottokensecret", "app token's secret part": "apptokensecret",
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("%s appears in the logs", name)
		}
		if strings.Contains(slackText.String(), secret) {
			t.Errorf("%s appears in a Slack message", name)
		}
	}
}

// Once a response_url has expired, the requester is told with
// chat.postEphemeral instead.
func TestExpiredResponseURLFallsBackToPostEphemeral(t *testing.T) {
	h := start(t, options{})
	h.slack.Fail("response_url", fakeslack.Failure{Status: 404, Error: "expired_url"})
	h.command(stranger, floorChannel, "+14152225555 from +14152223333")
	calls, err := h.slack.WaitCalls(h.ctx(), "chat.postEphemeral", 1)
	if err != nil {
		t.Fatal(err)
	}
	c := calls[0]
	if c.Arg("user") != stranger || c.Arg("channel") != floorChannel || !strings.Contains(c.Arg("text"), "not allowed") {
		t.Errorf("chat.postEphemeral to %s in %s: %q", c.Arg("user"), c.Arg("channel"), c.Arg("text"))
	}
	h.noneOf("chat.postMessage")
	h.noPlivo()
}
