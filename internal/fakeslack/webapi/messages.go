package webapi

import (
	"encoding/json"
	"strings"
)

// message is a channel message as the fake holds it now. Its blocks are
// read from the call that set them when asked for (PostedMessage), so that
// a load test's thousands of messages are not kept twice.
type message struct {
	user     string // author: the bot's user id, or the person a test posted as
	threadTS string // the thread it is a reply in, if any
	text     string
	blocks   *Call // the call whose "blocks" the message shows; nil: none
	edits    int
	byTheBot bool // only these can be updated
}

// PostedMessage is a channel message as it stands: as posted, with every
// edit chat.update made.
type PostedMessage struct {
	Channel, TS string
	ThreadTS    string // the parent's ts for a reply in a thread; "" otherwise
	User        string // its author: Options.BotUserID for the bot's own
	Text        string
	Blocks      json.RawMessage // the blocks it shows; nil when none
	Edits       int             // chat.update calls that changed it
}

func messageKey(channel, ts string) string { return channel + "\x00" + ts }

// Message returns the message ts of channel as it stands now (addition:
// lets a test see the buttons a message shows after an update), and
// whether there is one: posted by the bot with chat.postMessage, or added
// by AddUserMessage or SendMessageAction.
func (a *API) Message(channel, ts string) (PostedMessage, bool) {
	a.mu.Lock()
	m := a.messages[messageKey(channel, ts)]
	var pm PostedMessage
	var blocksFrom *Call
	if m != nil {
		pm = PostedMessage{Channel: channel, TS: ts, ThreadTS: m.threadTS, User: m.user, Text: m.text, Edits: m.edits}
		blocksFrom = m.blocks
	}
	a.mu.Unlock()
	if m == nil {
		return PostedMessage{}, false
	}
	if blocksFrom != nil {
		if b := blocksFrom.Arg("blocks"); b != "" && b != "[]" && json.Valid([]byte(b)) {
			pm.Blocks = json.RawMessage(b)
		}
	}
	return pm, true
}

// AddUserMessage puts a message that user (a person, not the bot) posted
// in channel, as Slack would have it, and returns its ts: the message a
// test then uses a message shortcut on, or asks chat.getPermalink about.
// The bot cannot update it (cant_update_message).
func (a *API) AddUserMessage(channel, user, text string) string {
	ts := a.NewTS()
	a.putMessage(channel, ts, &message{user: user, text: text})
	return ts
}

// PutUserMessage makes the message ts of channel, which user (a person,
// not the bot) posted, known to the fake unless one is already there: a
// message the bot may then ask chat.getPermalink about, and cannot update.
// threadTS is its thread's parent for a reply, else "".
func (a *API) PutUserMessage(channel, ts, user, text, threadTS string) {
	a.putMessage(channel, ts, &message{user: user, text: text, threadTS: threadTS})
}

// putMessage records m as channel's message ts unless one is there.
func (a *API) putMessage(channel, ts string, m *message) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.messages[messageKey(channel, ts)] == nil {
		a.messages[messageKey(channel, ts)] = m
	}
}

func (a *API) postMessage(c Call, arg func(string) string) object {
	ch := arg("channel")
	if ch == "" {
		return slackError("channel_not_found")
	}
	text := arg("text")
	if text == "" && arg("blocks") == "" && arg("attachments") == "" {
		return slackError("no_text")
	}
	ts := a.NewTS()
	// The call is the message's blocks, if it has any (Message reads them).
	m := &message{user: a.opts.BotUserID, byTheBot: true, threadTS: arg("thread_ts"), text: text, blocks: &c}
	a.mu.Lock()
	if a.notInChannel[ch] {
		a.mu.Unlock()
		return slackError("not_in_channel")
	}
	a.messages[messageKey(ch, ts)] = m
	a.mu.Unlock()
	msg := object{"type": "message", "user": a.opts.BotUserID, "bot_id": "B1", "text": text, "ts": ts}
	if m.threadTS != "" {
		msg["thread_ts"] = m.threadTS
	}
	return object{"ok": true, "channel": ch, "ts": ts, "message": msg}
}

// updateMessage is chat.update as Slack documents it: blocks given replace
// the message's blocks (an empty array removes them); text given without
// blocks replaces the text and removes the blocks; neither keeps both.
// Only the bot's own messages can be updated.
func (a *API) updateMessage(c Call, arg func(string) string) object {
	ch, ts := arg("channel"), arg("ts")
	if ch == "" {
		return slackError("channel_not_found")
	}
	hasText, hasBlocks := c.has("text"), c.has("blocks")
	text := arg("text")
	if hasBlocks && !json.Valid([]byte(arg("blocks"))) {
		return slackError("invalid_blocks")
	}
	a.mu.Lock()
	m := a.messages[messageKey(ch, ts)]
	switch {
	case a.notInChannel[ch]:
		a.mu.Unlock()
		return slackError("not_in_channel")
	case m == nil:
		a.mu.Unlock()
		return slackError("message_not_found")
	case !m.byTheBot:
		a.mu.Unlock()
		return slackError("cant_update_message")
	}
	if hasText {
		m.text = text
	}
	switch {
	case hasBlocks:
		m.blocks = &c
	case hasText:
		m.blocks = nil
	}
	m.edits++
	text = m.text
	a.mu.Unlock()
	return object{"ok": true, "channel": ch, "ts": ts, "text": text,
		"message": object{"type": "message", "user": a.opts.BotUserID, "bot_id": "B1", "text": text}}
}

// permalink answers chat.getPermalink as Slack does: a link for a message
// it knows, with the thread for a reply.
func (a *API) permalink(ch, ts string) object {
	if ch == "" {
		return slackError("channel_not_found")
	}
	a.mu.Lock()
	m := a.messages[messageKey(ch, ts)]
	var thread string
	if m != nil {
		thread = m.threadTS
	}
	a.mu.Unlock()
	if m == nil {
		return slackError("message_not_found")
	}
	return object{"ok": true, "channel": ch, "permalink": Permalink(ch, ts, thread)}
}

// Permalink is the link chat.getPermalink gives for the message ts of
// channel (thread: the parent's ts for a reply, else ""), on the fake's
// workspace https://fake.slack.com.
func Permalink(channel, ts, thread string) string {
	link := "https://fake.slack.com/archives/" + channel + "/p" + strings.Replace(ts, ".", "", 1)
	if thread != "" && thread != ts {
		link += "?thread_ts=" + thread + "&cid=" + channel
	}
	return link
}

// has reports whether the call carried the argument name (even empty).
func (c Call) has(name string) bool {
	if c.Form != nil {
		return c.Form.Has(name)
	}
	if c.JSON == nil {
		return false
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(c.JSON, &fields) != nil {
		return false
	}
	_, ok := fields[name]
	return ok
}
