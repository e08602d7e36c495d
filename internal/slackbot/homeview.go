package slackbot

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
)

// The Home tab's view: what homeInfo holds, drawn as blocks. The sentences
// are in messages.go.

// homeInfo is what one user's tab shows, gathered by (*Bot).homeInfo.
type homeInfo struct {
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

// homeView draws info. Its private_metadata is a sum of its blocks: the
// next build that comes to the same sum is not published again, whichever
// replica published this one.
func homeView(info homeInfo) slack.HomeTabViewRequest {
	blocks := []slack.Block{
		slack.NewHeaderBlock(plainText(homeTitle)),
		slack.NewSectionBlock(mrkdwn(homeStatusText(info.decision, info.channels)), nil, nil),
	}
	d := info.decision
	if d.Allowed && (info.dir == nil || len(info.usable) > 0 || info.typed.Allowed) {
		button := slack.NewButtonBlockElement(homeNewTransfer, info.dm, plainText(homeNewTransferButton))
		button.Style = slack.StylePrimary
		blocks = append(blocks, slack.NewActionBlock("home_actions", button))
	}
	if d.Allowed {
		blocks = append(blocks, slack.NewDividerBlock())
		blocks = append(blocks, sections(homeDestinationLines(info), maxDestinationBlocks)...)
		if info.dir != nil {
			blocks = append(blocks, slack.NewSectionBlock(mrkdwn(homeTypedText(info.typed, info.dir.Typed())), nil, nil))
			blocks = append(blocks, sections(homeAgentLines(info), 1)...)
		}
	}
	blocks = append(blocks, slack.NewDividerBlock())
	blocks = append(blocks, sections(homeRecentLines(info), 2)...)

	sum := sha256.New()
	_ = json.NewEncoder(sum).Encode(blocks) // hashing into memory cannot fail
	return slack.HomeTabViewRequest{
		Type:            slack.VTHomeTab,
		Blocks:          slack.Blocks{BlockSet: blocks},
		CallbackID:      homeCallbackID,
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
				cur.WriteString("\n" + homeCutText(len(lines)-i))
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
		blocks[i] = slack.NewSectionBlock(mrkdwn(t), nil, nil)
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
