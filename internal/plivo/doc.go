// Package plivo is a small client for Plivo's PHLO Multi-Party Call node,
// and the parser of the endpoints (phone numbers and SIP URIs) it is given.
//
// A transfer is not idempotent: the client never sends a request twice once
// it may have reached Plivo. It retries only when no connection was ever
// made, or when Plivo answered 429, and always within Config.Timeout.
// Failures are *Error values whose Error method is one sentence a
// contact-centre supervisor can act on.
package plivo
