package intake

import (
	"encoding/json"
	"testing"

	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/internal/directory"
)

const formDirectory = `
destinations:
  - name: billing
    label: Billing queue
    to: "+14155550100"
agents:
  - slack: U0ALICE
    endpoint: "+14152223333"
`

// submitted is view with the values of its blocks set as Slack sends them.
func submitted(t *testing.T, view slack.ModalViewRequest, values map[string]slack.BlockAction) slack.View {
	t.Helper()
	state := &slack.ViewState{Values: map[string]map[string]slack.BlockAction{}}
	for block, v := range values {
		state.Values[block] = map[string]slack.BlockAction{block: v}
	}
	return slack.View{CallbackID: view.CallbackID, PrivateMetadata: view.PrivateMetadata, State: state}
}

// A form opened where there is no channel (the Home tab) asks for one
// first, starting at the preset channel, and the submission takes the
// channel picked; one opened in a channel does not ask.
func TestFormAsksForTheChannelWhenItHasNone(t *testing.T) {
	dir, err := directory.Parse([]byte(formDirectory))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		dir    *directory.Directory
		values map[string]slack.BlockAction
	}{
		{"without a directory", nil, map[string]slack.BlockAction{
			"trigger_source": {Value: "+14152223333"}, "to": {Value: "+14155550100"}, "role": {SelectedOption: slack.OptionBlockObject{Value: "agent"}},
		}},
		{"with a directory", dir, map[string]slack.BlockAction{"to": {SelectedOption: slack.OptionBlockObject{Value: "billing"}}, "agent": {SelectedUser: "U0ALICE"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var usable []directory.Destination
			var idx []int
			if tt.dir != nil {
				usable, idx = tt.dir.Destinations(), []int{0}
			}
			view, err := Form(Origin{}, Preset{Channel: "CFLOOR"}, tt.dir, usable, idx, false)
			if err != nil {
				t.Fatal(err)
			}
			first, ok := view.Blocks.BlockSet[0].(*slack.InputBlock)
			if !ok || first.BlockID != "channel" {
				t.Fatalf("first block %#v, want the channel picker", view.Blocks.BlockSet[0])
			}
			sel, ok := first.Element.(*slack.SelectBlockElement)
			if !ok || sel.Type != slack.OptTypeConversations || sel.InitialConversation != "CFLOOR" {
				t.Errorf("channel picker %#v, want a conversations_select starting at CFLOOR", first.Element)
			}

			values := map[string]slack.BlockAction{"channel": {SelectedConversation: "COTHER"}}
			for k, v := range tt.values {
				values[k] = v
			}
			origin, spec, errs := ParseSubmission(submitted(t, view, values), tt.dir)
			if errs != nil || origin.ChannelID != "COTHER" || spec.To.String() != "+14155550100" {
				t.Errorf("submission: origin %+v spec %+v errors %v; want channel COTHER, to +14155550100", origin, spec, errs)
			}

			delete(values, "channel")
			_, _, errs = ParseSubmission(submitted(t, view, values), tt.dir)
			if errs["channel"] == "" {
				t.Errorf("submission without a channel: errors %v, want one under the channel", errs)
			}
		})
	}

	inChannel, err := Form(Origin{ChannelID: "CFLOOR"}, Preset{}, nil, nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if in, ok := inChannel.Blocks.BlockSet[0].(*slack.InputBlock); ok && in.BlockID == "channel" {
		t.Error("a form opened in a channel asks for a channel")
	}
	// A form of a bot that knew no channel picker, without a channel, is out
	// of date.
	meta, _ := json.Marshal(Origin{ResponseURL: "https://hooks.slack.com/x"})
	if _, _, errs := ParseSubmission(slack.View{PrivateMetadata: string(meta)}, nil); errs[BlockTo] != outOfDateText {
		t.Errorf("errors %v, want the form out of date", errs)
	}
}

// The link of the message a shortcut was used on travels in the form.
func TestFormCarriesThePermalink(t *testing.T) {
	link := "https://acme.slack.com/archives/CFLOOR/p1700000000000100"
	view, err := Form(Origin{ChannelID: "CFLOOR", Permalink: link}, Preset{}, nil, nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	origin, _, _ := ParseSubmission(submitted(t, view, nil), nil)
	if origin.Permalink != link {
		t.Errorf("permalink %q after the round trip, want %q", origin.Permalink, link)
	}
}
