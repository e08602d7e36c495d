// Package plivo is a small client for Plivo's PHLO Multi-Party Call node,
// and the parser of the endpoints (phone numbers and SIP URIs) it is given.
//
// The node takes actions of its own (ColdTransfer, WarmTransfer), POSTed to
// the node's path, and actions on one member of the call (AbortTransfer),
// POSTed to the member's path below it. All of them are sent by one
// function with one set of rules: a member is written as the node actions
// write trigger_source (Config.NumberFormat), and Plivo's answer is read
// the same way for every action.
//
// No action is idempotent: the client never sends a request twice once it
// may have reached Plivo. It retries only when no connection was ever
// made, or when Plivo answered 429, and always within Config.Timeout.
// Failures are *Error values whose Error method is one sentence a
// contact-centre supervisor can act on, naming the action that failed.
package plivo
