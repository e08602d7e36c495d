package home

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/store"
	"github.com/coldtransfer/coldtransfer/internal/wording"
)

// The tab's view: what info holds, drawn as blocks. The sentences are in
// words.go.

// info is what one user's tab shows, gathered by (*Service).info.
type info struct {
	user     string
	dm       string   // the app's direct message with the user: the button's value
	channels []string // TRANSFER_ALLOWED_CHANNELS; none: any
	dir      *directory.Directory
	decision authz.Decision // may they transfer (in the first allowed channel)
	// With a directory, for a user who may transfer:
	usable       []directory.Destination
	unchecked    int            // destinations left out because a group lookup failed
	typed        authz.Decision // may they type numbers
	agents       []directory.Agent
	agentsListed bool // the directory could list its agents
	// Their own transfers, newest first, and the links to their threads by
	// channel + "/" + ts.
	recent    []store.Recent
	recentErr error
	links     map[string]string
}

// Slack's bounds on a Home tab: 100 blocks, 3000 characters a section.
// The tab stays far below the blocks; long lists are cut.
const (
	maxSectionText       = 3000
	maxDestinationBlocks = 6
)

// view draws in. Its private_metadata is a sum of its blocks: the next
// build that comes to the same sum is not published again, whichever
// replica published this one.
func view(in info) slack.HomeTabViewRequest {
	blocks := []slack.Block{
		slack.NewHeaderBlock(wording.Plain(title)),
		slack.NewSectionBlock(wording.Mrkdwn(statusText(in.decision, in.channels)), nil, nil),
	}
	d := in.decision
	if d.Allowed && (in.dir == nil || len(in.usable) > 0 || in.typed.Allowed) {
		button := slack.NewButtonBlockElement(newTransferAction, in.dm, wording.Plain(newTransferButton))
		button.Style = slack.StylePrimary
		blocks = append(blocks, slack.NewActionBlock("home_actions", button))
	}
	if d.Allowed {
		blocks = append(blocks, slack.NewDividerBlock())
		blocks = append(blocks, sections(destinationLines(in), maxDestinationBlocks)...)
		if in.dir != nil {
			blocks = append(blocks, slack.NewSectionBlock(wording.Mrkdwn(typedText(in.typed, in.dir.Typed())), nil, nil))
			blocks = append(blocks, sections(agentLines(in), 1)...)
		}
	}
	blocks = append(blocks, slack.NewDividerBlock())
	blocks = append(blocks, sections(recentLines(in), 2)...)

	sum := sha256.New()
	_ = json.NewEncoder(sum).Encode(blocks) // hashing into memory cannot fail
	return slack.HomeTabViewRequest{
		Type:            slack.VTHomeTab,
		Blocks:          slack.Blocks{BlockSet: blocks},
		CallbackID:      callbackID,
		PrivateMetadata: hex.EncodeToString(sum.Sum(nil)[:16]),
	}
}

// sections puts lines in at most n section blocks of Slack's size. When
// they do not fit, the last block ends with how many lines were left out.
func sections(lines []string, n int) []slack.Block {
	// room is a section's size less the room kept for the cut note.
	const room = maxSectionText - 100
	var texts []string
	var cur strings.Builder
	for i, l := range lines {
		l = clipBytes(l, room)
		if cur.Len() > 0 && cur.Len()+1+len(l) > room {
			if len(texts) == n-1 {
				cur.WriteString("\n" + cutText(len(lines)-i))
				break
			}
			texts = append(texts, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte('\n')
		}
		cur.WriteString(l)
	}
	if cur.Len() > 0 {
		texts = append(texts, cur.String())
	}
	blocks := make([]slack.Block, len(texts))
	for i, t := range texts {
		blocks[i] = slack.NewSectionBlock(wording.Mrkdwn(t), nil, nil)
	}
	return blocks
}

// clipBytes cuts s to at most n bytes, at a character boundary.
func clipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
