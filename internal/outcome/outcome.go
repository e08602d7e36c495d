// Package outcome names how a request ended, as its audit line and the
// coldtransfer_requests_total counter say it: one typed set, so that the
// bot and its metrics cannot spell an outcome two ways.
package outcome

// Outcome is how one request ended.
type Outcome string

// The outcomes, in the order the docs list them.
const (
	Transferred        Outcome = "transferred"         // Plivo accepted the transfer (✅)
	DryRun             Outcome = "dry_run"             // DRY_RUN: everything but the Plivo request
	Failed             Outcome = "failed"              // Plivo surely did nothing (❌)
	Unknown            Outcome = "unknown"             // Plivo may have acted (⚠️): check the call
	Refused            Outcome = "refused"             // the requester may not transfer here
	RefusedDestination Outcome = "refused_destination" // the directory's destination policy
	CallClaimed        Outcome = "call_claimed"        // another transfer holds the call
	ClaimUnchecked     Outcome = "claim_unchecked"     // the shared store could not say: nothing ran
	RateLimited        Outcome = "rate_limited"        // past TRANSFER_RATE_PER_USER
	NotAnnounced       Outcome = "not_announced"       // no announcement, so no transfer
	Invalid            Outcome = "invalid"             // a malformed command
	Busy               Outcome = "busy"                // past MAX_IN_FLIGHT, or a held channel's share
)

// All are every outcome, for series created at zero.
var All = []Outcome{
	Transferred, DryRun, Failed, Unknown, Refused, RefusedDestination,
	CallClaimed, ClaimUnchecked, RateLimited, NotAnnounced, Invalid, Busy,
}

// Path is how a request reached the bot.
type Path string

// The paths.
const (
	Command Path = "command" // the slash command
	Modal   Path = "modal"   // the form
	Button  Path = "button"  // a button under a transfer's thread reply
)

// Paths are every path, for series created at zero.
var Paths = []Path{Command, Modal, Button}

// Action is what a request asks Plivo to do, in Plivo's words.
type Action string

// The actions.
const (
	ColdTransfer  Action = "cold_transfer"  // the agent leaves at once
	WarmTransfer  Action = "warm_transfer"  // the agent talks to the destination first
	AbortTransfer Action = "abort_transfer" // the agent who started a transfer backs out
)

// Actions are every action, for series created at zero.
var Actions = []Action{ColdTransfer, WarmTransfer, AbortTransfer}

// Plivo reports whether Plivo accepted the request or may have: the call
// is moving, or may be.
func (o Outcome) Plivo() bool { return o == Transferred || o == Unknown }
