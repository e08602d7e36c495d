// Package screen is Slack's client as a terminal plays it: it shows the
// bot's messages, forms and Home tab, and its audit lines, as plain lines of
// text, and it does what a person does there: types a slash command, fills
// in a form.
//
// It knows no users or channels of its own: the caller's Names say who and
// what Slack's ids are.
package screen

// TextWidth is where the text of Slack messages is wrapped, as Slack would.
const TextWidth = 90

// Names is who and what Slack's ids stand for, as the screen names them.
type Names interface {
	// User returns the name of the user whose id is id, without a leading
	// @, and whether there is one.
	User(id string) (name string, ok bool)
	// UserNamed returns the id and the name of the user called name, in
	// any case, with or without a leading @, and whether there is one.
	UserNamed(name string) (id, canonical string, ok bool)
	// Channel returns the name of the channel whose id is id, without a
	// leading #, and whether there is one.
	Channel(id string) (name string, ok bool)
}

// Screen shows Slack's surfaces and takes what is typed on them, naming
// users and channels by Names.
type Screen struct {
	Names Names
	// PressHint follows the buttons under a message: how to press them
	// here, e.g. "   (press abort)". A Home tab's buttons go without it.
	PressHint string
}

// Call is what the screen needs of a recorded Web API call: its arguments
// by name.
type Call interface{ Arg(string) string }
