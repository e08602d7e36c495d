// Package wording is what the bot says about a transfer, wherever it says
// it: the announcement that opens the transfer's thread and its status
// line, the thread reply, and what only the requester reads (usage,
// refusals, busy, failures). It draws, and asks nobody anything: the bot
// decides what happened, this package says it.
//
// The Home tab and the audit channel write their own lines from its words
// (Kind, Mark, Esc, Code), so that one transfer reads the same in its
// thread, on its requester's tab and in the audit channel.
package wording

import (
	"strings"

	"github.com/slack-go/slack"

	"github.com/coldtransfer/coldtransfer/internal/outcome"
)

// mrkdwnEscaper escapes what Slack's mrkdwn treats as control characters.
var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Esc escapes s for Slack's mrkdwn: what a person typed or a file named
// shows as written, and never as a mention or a link.
func Esc(s string) string { return mrkdwnEscaper.Replace(s) }

// Code renders s as inline code; endpoints never contain a backtick.
func Code(s string) string { return "`" + Esc(s) + "`" }

// CodeList renders items as inline code joined by "or".
func CodeList(items []string) string {
	quoted := make([]string, len(items))
	for i, it := range items {
		quoted[i] = Code(it)
	}
	return strings.Join(quoted, " or ")
}

// LinkURL is a link from Slack as a mrkdwn link target: & escaped.
func LinkURL(u string) string { return strings.ReplaceAll(u, "&", "&amp;") }

// Mrkdwn is s as a block's mrkdwn text.
func Mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// Plain is s as a block's plain text (headers, buttons).
func Plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

// Kind is the action in a supervisor's words: "cold transfer", "warm
// transfer", "abort".
func Kind(a outcome.Action) string {
	switch a {
	case outcome.WarmTransfer:
		return "warm transfer"
	case outcome.AbortTransfer:
		return "abort"
	}
	return "cold transfer"
}

// Capitalize upper-cases the first letter of s.
func Capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Mark is the mark an outcome shows with, as the thread's status line
// does: the Home tab and the audit channel show the same.
func Mark(o outcome.Outcome) string {
	switch o {
	case outcome.Transferred:
		return ":white_check_mark:"
	case outcome.DryRun:
		return ":test_tube:"
	case outcome.Failed:
		return ":x:"
	case outcome.Refused, outcome.RefusedDestination, outcome.CallClaimed:
		return ":no_entry:"
	case outcome.RateLimited, outcome.Busy:
		return ":hourglass:"
	}
	return ":warning:" // unknown, claim_unchecked, not_announced, invalid
}
