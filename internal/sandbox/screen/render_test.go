package screen

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/internal/fakeslack"
)

// names names users and channels by id, as the tests need.
type names struct{ users, channels map[string]string }

func (n names) User(id string) (string, bool) {
	name, ok := n.users[id]
	return name, ok
}

func (n names) UserNamed(name string) (string, string, bool) {
	for id, user := range n.users {
		if strings.EqualFold(user, strings.TrimPrefix(name, "@")) {
			return id, user, true
		}
	}
	return "", "", false
}

func (n names) Channel(id string) (string, bool) {
	name, ok := n.channels[id]
	return name, ok
}

// testScreen names the sandbox's people and #floor.
var testScreen = Screen{Names: names{
	users: map[string]string{
		"U0SUPER": "supervisor", "U0LEAD": "lead", "U0INTRUDER": "intruder",
		"U0ALICE": "alice", "U0BOB": "bob", "U0CAROL": "carol",
	},
	channels: map[string]string{"C0FLOOR": "floor"},
}}

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
			if got := testScreen.plain(tt.in); got != tt.want {
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
			if got := testScreen.Message(tt.call); !slices.Equal(got, tt.want) {
				t.Errorf("messageLines =\n%q\nwant\n%q", got, tt.want)
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
			if got := testScreen.Form(*tt.view); !slices.Equal(got, tt.want) {
				t.Errorf("formLines =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func mrkdwnText(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// A Home tab reads as Slack shows it: the header, the sections in plain
// text (dates by their fallback, links by their label), the buttons and
// the dividers.
func TestHomeLines(t *testing.T) {
	v := slack.View{Blocks: slack.Blocks{BlockSet: []slack.Block{
		slack.NewHeaderBlock(plainText("Cold transfer")),
		slack.NewSectionBlock(mrkdwnText(":white_check_mark: *You may transfer calls* in <#C0FLOOR>"), nil, nil),
		slack.NewActionBlock("home_actions", slack.NewButtonBlockElement("home_new_transfer", "D0SUPER", plainText("New transfer"))),
		slack.NewDividerBlock(),
		slack.NewSectionBlock(mrkdwnText("*Your last transfers*\n• <!date^1700000000^{date_short_pretty} {time}|2023-11-14 22:13 UTC> · "+
			":white_check_mark: Transferred · Cold transfer to Billing queue · agent <@U0ALICE> · <#C0FLOOR> · "+
			"<https://fake.slack.com/archives/C0FLOOR/p1700000000000001|thread>"), nil, nil),
	}}}
	want := []string{
		"COLD TRANSFER",
		"✅ You may transfer calls in #floor",
		"[New transfer]",
		strings.Repeat("─", 40),
		"Your last transfers",
		"• 2023-11-14 22:13 UTC · ✅ Transferred · Cold transfer to Billing queue · agent @alice · #floor · thread",
	}
	if got := testScreen.Home(v); !slices.Equal(got, want) {
		t.Errorf("homeLines =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
