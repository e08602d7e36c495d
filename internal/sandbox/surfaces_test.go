package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

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
	if got := homeLines(v); !slices.Equal(got, want) {
		t.Errorf("homeLines =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A form opened by the shortcut starts with the message's author as the
// agent; the form shows it, and submits it unless another is given. A form
// opened from the Home tab asks for the channel, starting at one.
func TestPresetForms(t *testing.T) {
	v := directoryForm()
	for _, bl := range v.Blocks.BlockSet {
		if in, ok := bl.(*slack.InputBlock); ok && in.BlockID == "agent" {
			in.Element.(*slack.SelectBlockElement).InitialUser = "U0BOB"
		}
	}
	channel := slack.NewOptionsSelectBlockElement(slack.OptTypeConversations, nil, "channel")
	channel.InitialConversation = channelID
	v.Blocks.BlockSet = append([]slack.Block{slack.NewInputBlock("channel", plainText("Announce in"), nil, channel)}, v.Blocks.BlockSet...)

	lines := formLines(*v)
	for _, want := range []string{"• Announce in: pick a channel (◉ #floor)", "• Agent on the call: pick a Slack user (◉ @bob)"} {
		if !slices.Contains(lines, want) {
			t.Errorf("formLines lacks %q:\n%s", want, strings.Join(lines, "\n"))
		}
	}

	state, filled, _ := fillForm(v, map[string]string{"to": "billing"})
	if got := state.Values["agent"]["agent"].SelectedUser; got != "U0BOB" {
		t.Errorf("the preset agent is submitted as %q, want U0BOB", got)
	}
	if !slices.Contains(filled, "Agent on the call: @bob") {
		t.Errorf("filled %q does not show the preset agent", filled)
	}
	state, _, _ = fillForm(v, map[string]string{"to": "billing", "agent": "@alice"})
	if got := state.Values["agent"]["agent"].SelectedUser; got != "U0ALICE" {
		t.Errorf("the agent given is submitted as %q, want U0ALICE", got)
	}
}

// The bot's log tells the session what came of opening a Home tab: a tab
// put off (at most one publish in 10 s) is waited for until it is settled.
func TestBotLogKeepsHomeLines(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "bot.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l := newBotLog(f)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	type result struct {
		result string
		later  bool
	}
	got := make(chan result, 1)
	go func() {
		r, later, err := l.waitHome(ctx, "U0SUPER", 0)
		if err != nil {
			t.Error(err)
		}
		got <- result{r, later}
	}()
	for _, w := range []string{
		`{"msg":"home tab","user":"U0LEAD","result":"published"}` + "\n",
		`{"msg":"home tab","user":"U0SUPER","result":"later"}` + "\n",
		`{"msg":"home tab","user":"U0SUPER","result":"published"}` + "\n",
	} {
		if _, err := l.Write([]byte(w)); err != nil {
			t.Fatal(err)
		}
	}
	if r := <-got; r != (result{"published", true}) {
		t.Errorf("waitHome = %+v, want published after being put off", r)
	}
	if n := l.homeCount(); n != 3 {
		t.Errorf("homeCount %d, want 3", n)
	}
	if r, later, err := l.waitHome(ctx, "U0LEAD", 0); r != "published" || later || err != nil {
		t.Errorf("waitHome(U0LEAD) = %q, %v, %v", r, later, err)
	}
}
