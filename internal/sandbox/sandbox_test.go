package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/internal/fakeslack"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

func TestPlain(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"mention of a known user", "requested by <@U0SUPER>", "requested by @supervisor"},
		{"mention with a legacy name", "<@U0ALICE|alice> and <@UOTHER|someone>", "@alice and @someone"},
		{"unknown mention without a name", "<@UOTHER>", "@UOTHER"},
		{"channel", "see <#C0FLOOR> or <#COTHER|other>", "see #floor or #other"},
		{"special mention", "<!here>", "@here"},
		{"link with label", "<tel:+14152225555|+1 415 222 5555>", "+1 415 222 5555"},
		{"bare link", "<https://example.com>", "https://example.com"},
		{"bold and emoji", ":white_check_mark: *Transferred* :x: :made_up:", "✅ Transferred ❌ :made_up:"},
		{"code keeps its text", "api_id `a*b*c` and `&lt;x&gt;`", "api_id a*b*c and <x>"},
		{"escaped text", "Tom &amp; Jerry &lt;not a link&gt;", "Tom & Jerry <not a link>"},
		{"unmatched backtick", "one ` tick", "one ` tick"},
		{"times are not emoji", "at 10:30:00", "at 10:30:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plain(tt.in); got != tt.want {
				t.Errorf("plain(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// call is a recorded form-encoded call with these fields.
func call(fields map[string]string) fakeslack.Call {
	form := url.Values{}
	for k, v := range fields {
		form.Set(k, v)
	}
	return fakeslack.Call{Form: form}
}

func TestMessageLines(t *testing.T) {
	blocks, err := json.Marshal([]slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, ":twisted_rightwards_arrows: *Cold transfer* by <@U0LEAD>", false, false),
			[]*slack.TextBlockObject{
				slack.NewTextBlockObject(slack.MarkdownType, "*Agent on the call*\n`+14152223333`", false, false),
				slack.NewTextBlockObject(slack.MarkdownType, "*Transfer to*\n`sip:a-very-long-queue-name@a-very-long-host-name.example.com`", false, false),
				slack.NewTextBlockObject(slack.MarkdownType, "*Joins as*\nagent", false, false),
			}, nil),
		slack.NewDividerBlock(),
		slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, ":hourglass_flowing_sand: Asking Plivo…", false, false)),
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call fakeslack.Call
		want []string
	}{
		{
			name: "blocks win over text; fields packed on lines, never split",
			call: call(map[string]string{"text": "fallback", "blocks": string(blocks)}),
			want: []string{
				"🔀 Cold transfer by @lead",
				"Agent on the call: +14152223333",
				"Transfer to: sip:a-very-long-queue-name@a-very-long-host-name.example.com",
				"Joins as: agent",
				"⏳ Asking Plivo…",
			},
		},
		{
			name: "text alone",
			call: call(map[string]string{"text": ":x: Not transferred.\nSecond line"}),
			want: []string{"❌ Not transferred.", "Second line"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := messageLines(tt.call); !slices.Equal(got, tt.want) {
				t.Errorf("messageLines =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// directoryForm is the form as the bot opens it with a directory:
// pickers for the destination and the agent, typed fields beside them.
func directoryForm() *slack.View {
	dest := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, nil, "to",
		slack.NewOptionBlockObject("billing", plainText("Billing queue"), nil),
		slack.NewOptionBlockObject("sales", plainText("Sales"), nil))
	toTyped := slack.NewPlainTextInputBlockElement(nil, "to_typed")
	agent := slack.NewOptionsSelectBlockElement(slack.OptTypeUser, nil, "agent")
	source := slack.NewPlainTextInputBlockElement(nil, "trigger_source")
	role := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, nil, "role",
		slack.NewOptionBlockObject("agent", plainText("Agent"), nil),
		slack.NewOptionBlockObject("customer", plainText("Customer"), nil))
	optional := func(b *slack.InputBlock) *slack.InputBlock { b.Optional = true; return b }
	return &slack.View{
		Title:  plainText("Cold transfer"),
		Submit: plainText("Transfer"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock("to", plainText("Transfer to"), nil, dest),
			optional(slack.NewInputBlock("to_typed", plainText("…or a number / SIP address"), nil, toTyped)),
			optional(slack.NewInputBlock("agent", plainText("Agent on the call"), nil, agent)),
			optional(slack.NewInputBlock("trigger_source", plainText("…or the number / SIP address the agent is on"), nil, source)),
			optional(slack.NewInputBlock("role", plainText("Joins the call as"), nil, role)),
		}},
	}
}

// typedForm is the form without a directory, as the bot opens it today.
func typedForm() *slack.View {
	agent := slack.NewOptionBlockObject("agent", plainText("Agent"), nil)
	return &slack.View{
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock("trigger_source", plainText("Agent on the call (phone or SIP)"), nil, slack.NewPlainTextInputBlockElement(nil, "trigger_source")),
			slack.NewInputBlock("to", plainText("Transfer to (phone or SIP)"), nil, slack.NewPlainTextInputBlockElement(nil, "to")),
			slack.NewInputBlock("role", plainText("Joins the call as"), nil, &slack.RadioButtonsBlockElement{
				Type: slack.METRadioButtons, ActionID: "role", InitialOption: agent,
				Options: []*slack.OptionBlockObject{agent, slack.NewOptionBlockObject("customer", plainText("Customer"), nil)},
			}),
		}},
	}
}

func TestFillForm(t *testing.T) {
	tests := []struct {
		name       string
		view       *slack.View
		values     map[string]string
		wantState  map[string]slack.BlockAction // by block id (= action id)
		wantFilled []string
		wantNotes  int
	}{
		{
			name:   "typed form: text fields, role chosen",
			view:   typedForm(),
			values: map[string]string{"to": "+1 415 555 0100", "agent": "+1 415 222 3333", "role": "Customer"},
			wantState: map[string]slack.BlockAction{
				"to":             {Value: "+1 415 555 0100"},
				"trigger_source": {Value: "+1 415 222 3333"},
				"role":           {SelectedOption: *slack.NewOptionBlockObject("customer", plainText("Customer"), nil)},
			},
			wantFilled: []string{"Agent on the call (phone or SIP): +1 415 222 3333", "Transfer to (phone or SIP): +1 415 555 0100", "Joins the call as: Customer"},
		},
		{
			name:   "typed form: the preselected role is submitted when none is given",
			view:   typedForm(),
			values: map[string]string{"to": "+1 415 555 0100"},
			wantState: map[string]slack.BlockAction{
				"to":   {Value: "+1 415 555 0100"},
				"role": {SelectedOption: *slack.NewOptionBlockObject("agent", plainText("Agent"), nil)},
			},
			wantFilled: []string{"Transfer to (phone or SIP): +1 415 555 0100"},
		},
		{
			name:   "directory form: a name is picked, a person is picked",
			view:   directoryForm(),
			values: map[string]string{"to": "Billing", "agent": "@alice"},
			wantState: map[string]slack.BlockAction{
				"to":    {SelectedOption: *slack.NewOptionBlockObject("billing", plainText("Billing queue"), nil)},
				"agent": {SelectedUser: "U0ALICE"},
			},
			wantFilled: []string{"Transfer to: Billing queue", "Agent on the call: @alice"},
		},
		{
			name:   "directory form: a number is typed in the fields beside the pickers",
			view:   directoryForm(),
			values: map[string]string{"to": "+1 415 555 0199", "agent": "+1 415 222 3333", "role": "customer"},
			wantState: map[string]slack.BlockAction{
				"to_typed":       {Value: "+1 415 555 0199"},
				"trigger_source": {Value: "+1 415 222 3333"},
				"role":           {SelectedOption: *slack.NewOptionBlockObject("customer", plainText("Customer"), nil)},
			},
			wantFilled: []string{"…or a number / SIP address: +1 415 555 0199", "…or the number / SIP address the agent is on: +1 415 222 3333", "Joins the call as: Customer"},
		},
		{
			name:      "a form with no place for a value says so",
			view:      &slack.View{},
			values:    map[string]string{"to": "billing", "agent": "@bob", "role": "agent"},
			wantState: map[string]slack.BlockAction{},
			wantNotes: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, filled, notes := fillForm(tt.view, tt.values)
			got := map[string]slack.BlockAction{}
			for block, actions := range state.Values {
				if len(actions) != 1 {
					t.Errorf("block %s has %d actions, want 1", block, len(actions))
				}
				for action, a := range actions {
					if action != block {
						t.Errorf("block %s: action id %s, want the block id", block, action)
					}
					got[block] = a
				}
			}
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(tt.wantState)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("state\n%s\nwant\n%s", gotJSON, wantJSON)
			}
			if !slices.Equal(filled, tt.wantFilled) {
				t.Errorf("filled %q, want %q", filled, tt.wantFilled)
			}
			if len(notes) != tt.wantNotes {
				t.Errorf("notes %q, want %d", notes, tt.wantNotes)
			}
		})
	}
}

func TestFormLines(t *testing.T) {
	// The form as the bot opens it for a requester who may both pick and
	// type: each of the agent and the destination is a picker and a typed
	// field, both optional in Slack's terms, one of them required.
	both := directoryForm()
	for _, bl := range both.Blocks.BlockSet {
		if in, ok := bl.(*slack.InputBlock); ok {
			in.Optional = true
		}
	}
	tests := []struct {
		name string
		view *slack.View
		want []string
	}{
		{
			name: "pickers with typed fields beside them: one of each two is required",
			view: both,
			want: []string{
				"Cold transfer [Transfer]",
				"• Transfer to: pick one of ○ billing (Billing queue)  ○ Sales",
				"  …or a number / SIP address: text",
				"  (one of these two is required, not both)",
				"• Agent on the call: pick a Slack user",
				"  …or the number / SIP address the agent is on: text",
				"  (one of these two is required, not both)",
				"• Joins the call as: pick one of ○ Agent  ○ Customer (optional)",
			},
		},
		{
			name: "a required picker and an optional field are shown as they are",
			view: directoryForm(),
			want: []string{
				"Cold transfer [Transfer]",
				"• Transfer to: pick one of ○ billing (Billing queue)  ○ Sales",
				"• …or a number / SIP address: text (optional)",
				"• Agent on the call: pick a Slack user",
				"  …or the number / SIP address the agent is on: text",
				"  (one of these two is required, not both)",
				"• Joins the call as: pick one of ○ Agent  ○ Customer (optional)",
			},
		},
		{
			name: "without a directory every field is required",
			view: typedForm(),
			want: []string{
				"form",
				"• Agent on the call (phone or SIP): text",
				"• Transfer to (phone or SIP): text",
				"• Joins the call as: ◉ Agent  ○ Customer",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formLines(*tt.view); !slices.Equal(got, tt.want) {
				t.Errorf("formLines =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// failingReader returns its text, then err.
type failingReader struct {
	text string
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.text == "" {
		return 0, r.err
	}
	n := copy(p, r.text)
	r.text = r.text[n:]
	return n, nil
}

func TestScanLines(t *testing.T) {
	long := strings.Repeat("x", maxLine)
	broken := errors.New("input/output error")
	tests := []struct {
		name string
		in   io.Reader
		want []inputLine
	}{
		{
			name: "lines, CRLF, and a last line without an ending",
			in:   strings.NewReader("one\r\n\ntwo\nthree"),
			want: []inputLine{{n: 1, text: "one"}, {n: 2}, {n: 3, text: "two"}, {n: 4, text: "three"}},
		},
		{
			name: "a line of exactly the limit is kept",
			in:   strings.NewReader(long + "\r\nnext\n"),
			want: []inputLine{{n: 1, text: long}, {n: 2, text: "next"}},
		},
		{
			name: "a longer line is skipped, and the next ones still come",
			in:   strings.NewReader("first\n" + long + "xy\nnext\n" + long + "z"),
			want: []inputLine{{n: 1, text: "first"}, {n: 2, tooLong: maxLine + 3}, {n: 3, text: "next"}, {n: 4, tooLong: maxLine + 1}},
		},
		{
			name: "a read error ends the input, said so",
			in:   &failingReader{text: "one\ntw", err: broken},
			want: []inputLine{{n: 1, text: "one"}, {n: 2, err: broken}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan struct{})
			defer close(done)
			var got []inputLine
			for l := range scanLines(tt.in, done) {
				got = append(got, l)
			}
			if !slices.EqualFunc(got, tt.want, func(a, b inputLine) bool {
				return a.n == b.n && a.text == b.text && a.tooLong == b.tooLong && errors.Is(a.err, b.err)
			}) {
				t.Errorf("lines (text cut to 20 bytes):\n%s\nwant\n%s", showLines(got), showLines(tt.want))
			}
		})
	}
}

func showLines(ls []inputLine) string {
	var b strings.Builder
	for _, l := range ls {
		fmt.Fprintf(&b, "  %d %.20q tooLong=%d err=%v\n", l.n, l.text, l.tooLong, l.err)
	}
	return b.String()
}

func TestParseFormValues(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]string
		wantErr bool
	}{
		{in: "", want: map[string]string{}},
		{in: "to=+1 415 555 0100 agent=+1 415 222 3333 role=customer",
			want: map[string]string{"to": "+1 415 555 0100", "agent": "+1 415 222 3333", "role": "customer"}},
		{in: "FROM=@alice   To=billing", want: map[string]string{"agent": "@alice", "to": "billing"}},
		{in: "to= agent=x", want: map[string]string{"to": "", "agent": "x"}},
		{in: "billing", wantErr: true},
		{in: "x to=billing", wantErr: true},
		{in: "to=a to=b", wantErr: true},
		{in: "agent=a from=b", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseFormValues(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseFormValues(%q) error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && !mapsEqual(got, tt.want) {
			t.Errorf("parseFormValues(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestParseSteering(t *testing.T) {
	const id = "5a4d0e00-0000-4000-8000-000000000001"
	tests := []struct {
		args       string
		wantStatus int
		wantBody   string
		wantDelay  time.Duration
		wantHijack bool
		wantWhat   string
		wantNormal bool
		wantErr    bool
	}{
		{args: "500", wantStatus: 500, wantBody: `{"api_id":"` + id + `","error":"internal server error"}`,
			wantWhat: `500 Internal Server Error {"api_id":"` + id + `","error":"internal server error"}`},
		{args: "404", wantStatus: 404, wantBody: "{}", wantWhat: "404 Not Found {}"},
		{args: "400 to is a mandatory param.", wantStatus: 400, wantBody: `{"api_id":"` + id + `","error":"to is a mandatory param."}`},
		{args: "201 oops", wantStatus: 201, wantBody: `{"api_id":"` + id + `","error":"oops"}`},
		{args: "429", wantStatus: 429, wantBody: `{"api_id":"` + id + `","error":"too many requests"}`},
		{args: "timeout", wantDelay: time.Hour, wantWhat: "no answer (the bot gives up after PLIVO_TIMEOUT, 2s here)"},
		{args: "hangup", wantHijack: true},
		{args: "html", wantStatus: 502, wantBody: proxyPage},
		{args: "OK", wantNormal: true},
		{args: "ok please", wantErr: true},
		{args: "", wantErr: true},
		{args: "teapot", wantErr: true},
		{args: "199", wantErr: true},
		{args: "600", wantErr: true},
	}
	for _, tt := range tests {
		s, normal, err := parseSteering(strings.Fields(tt.args), id)
		if (err != nil) != tt.wantErr || normal != tt.wantNormal {
			t.Errorf("plivo %s: normal %v, error %v; want normal %v, error %v", tt.args, normal, err, tt.wantNormal, tt.wantErr)
			continue
		}
		if s.resp.Status != tt.wantStatus || s.resp.Body != tt.wantBody || s.resp.Delay != tt.wantDelay || s.resp.Hijack != tt.wantHijack {
			t.Errorf("plivo %s: response %+v", tt.args, s.resp)
		}
		if tt.wantWhat != "" && s.what != tt.wantWhat {
			t.Errorf("plivo %s: described as %q, want %q", tt.args, s.what, tt.wantWhat)
		}
		if !tt.wantErr && !tt.wantNormal && s.what == "" {
			t.Errorf("plivo %s: no description", tt.args)
		}
	}
	if s, _, _ := parseSteering([]string{"429"}, id); s.resp.Header.Get("Retry-After") != "1" {
		t.Errorf("plivo 429: Retry-After %q, want 1", s.resp.Header.Get("Retry-After"))
	}
}

func TestSlackText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"billing from @alice", "billing from <@U0ALICE|alice>"},
		{"+1 415 from @Bob as customer", "+1 415 from <@U0BOB|bob> as customer"},
		{"x from @nobody", "x from @nobody"},
		{"a&b <c>", "a&amp;b &lt;c&gt;"},
	}
	for _, tt := range tests {
		if got := slackText(tt.in); got != tt.want {
			t.Errorf("slackText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAuditText(t *testing.T) {
	line := `{"level":"warn","ts":"2026-01-01T00:00:00Z","msg":"transfer","requester":"U0SUPER","reason":"user U0SUPER allowed by id","outcome":"failed","plivo_status":404,"error":"","duration":0.25}`
	want := `level=warn msg=transfer requester=U0SUPER reason="user U0SUPER allowed by id" outcome=failed plivo_status=404 error="" duration=0.25`
	if got := auditText([]byte(line)); got != want {
		t.Errorf("auditText =\n%s\nwant\n%s", got, want)
	}
	if got := wrap(splitWords(want), 40); !slices.Equal(got, []string{
		"level=warn msg=transfer",
		"requester=U0SUPER",
		`reason="user U0SUPER allowed by id"`,
		`outcome=failed plivo_status=404 error=""`,
		"duration=0.25",
	}) {
		t.Errorf("wrap = %q", got)
	}
}

func TestWrapProse(t *testing.T) {
	got := wrapProse("  • one two three four five", 14)
	want := []string{"  • one two", "    three four", "    five"}
	if !slices.Equal(got, want) {
		t.Errorf("wrapProse = %q, want %q", got, want)
	}
	if got := wrapProse("short", 14); !slices.Equal(got, []string{"short"}) {
		t.Errorf("wrapProse(short) = %q", got)
	}
}

func TestBotLogKeepsAuditLines(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "bot.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l := newBotLog(f)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	got := make(chan []byte, 1)
	go func() {
		line, err := l.waitAudit(ctx, 0)
		if err != nil {
			t.Error(err)
		}
		got <- line
	}()
	// A line split across writes, and lines that are not audit lines.
	for _, w := range []string{`{"msg":"starting"}` + "\n" + `{"msg":"tra`, `nsfer","outcome":"refused"}` + "\n", "not json\n"} {
		if _, err := l.Write([]byte(w)); err != nil {
			t.Fatal(err)
		}
	}
	if line := <-got; string(line) != `{"msg":"transfer","outcome":"refused"}` {
		t.Errorf("audit line %q", line)
	}
	if l.count() != 1 || l.audit(1) != nil {
		t.Errorf("count %d, want 1", l.count())
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"msg":"starting"}` + "\n" + `{"msg":"transfer","outcome":"refused"}` + "\nnot json\n"; string(data) != want {
		t.Errorf("file %q, want %q", data, want)
	}
}

// TestDirectoryEndpoints checks every endpoint of the sample directory with
// the bot's own parser, as the directory loader will.
func TestDirectoryEndpoints(t *testing.T) {
	yaml := directoryYAML()
	for _, d := range destinations {
		if _, err := plivo.ParseEndpoint(d.to); err != nil {
			t.Errorf("destination %s: %v", d.name, err)
		}
		if !strings.Contains(yaml, "- name: "+d.name+"\n") || !strings.Contains(yaml, `to: "`+d.to+`"`) {
			t.Errorf("destination %s missing from the file:\n%s", d.name, yaml)
		}
	}
	for _, p := range people {
		if p.agentAt == "" {
			continue
		}
		if _, err := plivo.ParseEndpoint(p.agentAt); err != nil {
			t.Errorf("agent %s: %v", p.name, err)
		}
		if !strings.Contains(yaml, "- slack: "+p.id) {
			t.Errorf("agent %s missing from the file:\n%s", p.name, yaml)
		}
	}
	for _, name := range []string{"supervisor", "lead"} {
		if p, _ := personNamed(name); p.agentAt == "" {
			t.Errorf("@%s may transfer but has no agent entry: \"from me\", which the bot suggests, would not work", name)
		}
	}
	if !strings.Contains(yaml, "typed:\n  allow: true\n  who: ["+people[0].id+"]") {
		t.Errorf("typed numbers are not allowed to the supervisor:\n%s", yaml)
	}
}
