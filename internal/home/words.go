package home

import (
	"fmt"
	"strings"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/outcome"
	"github.com/coldtransfer/coldtransfer/internal/wording"
)

// Every sentence of the tab. A transfer reads as it does in its thread and
// in the audit channel: the words for its action and its outcome's mark
// come from wording.

const (
	title             = "Cold transfer"
	newTransferButton = "New transfer"
)

// statusText is the top of a tab: may the user transfer, where, and if
// not, why and whom to ask. A user whose groups Slack could not confirm is
// told so, and shown nothing that depends on it.
func statusText(d authz.Decision, channels []string) string {
	switch {
	case d.Allowed:
		where := "in any channel the bot can post in"
		if len(channels) > 0 {
			where = "in " + channelList(channels)
		}
		return ":white_check_mark: *You may transfer calls* " + where +
			": with *New transfer* below, `/transfer` in the channel, or *Transfer this caller* on a message about the call (⋮ → More message shortcuts)."
	case d.Denial == authz.DeniedLookup:
		return ":warning: *Slack could not confirm your user-group membership just now*, so this tab cannot say whether you may transfer calls, " +
			"and shows nothing that depends on it (destinations, typed numbers, agents). Open the tab again in a minute; if this stays, tell the bot's operator."
	default:
		return ":no_entry: *You may not transfer calls.* To be allowed, ask the bot's operator to add you to TRANSFER_ALLOWED_USERS or to an allowed user group."
	}
}

// channelList renders channel ids as mentions: "<#C1>, <#C2> or <#C3>".
func channelList(ids []string) string {
	ms := make([]string, len(ids))
	for i, id := range ids {
		ms[i] = "<#" + id + ">"
	}
	if len(ms) == 1 {
		return ms[0]
	}
	return strings.Join(ms[:len(ms)-1], ", ") + " or " + ms[len(ms)-1]
}

// destinationLines list the destinations a user may send calls to: as
// /transfer list does, label, name and endpoint.
func destinationLines(in info) []string {
	if in.dir == nil {
		return []string{"*There is no floor directory*: give the number or SIP address the call goes to, in the form or as `/transfer <to> from <agent on the call>`."}
	}
	var ls []string
	if len(in.usable) == 0 {
		ls = append(ls, "*There is no destination in the floor directory you may send calls to.*")
	} else {
		ls = append(ls, "*Destinations you may send calls to* (by name in `/transfer`, in any case):")
	}
	if in.unchecked > 0 {
		ls = append(ls, fmt.Sprintf(":warning: %d more are limited to user groups Slack could not confirm just now, and are not shown.", in.unchecked))
	}
	for _, d := range in.usable {
		ls = append(ls, fmt.Sprintf("• %s · `%s` → %s", wording.Esc(d.Label), d.Name, wording.Code(d.To.String())))
	}
	return ls
}

// typedText says whether a user may type numbers and SIP addresses, and
// within what (typed is the directory's policy, d the decision).
func typedText(d authz.Decision, typed directory.Typed) string {
	switch {
	case d.Allowed:
		var within []string
		if len(typed.Prefixes) > 0 {
			within = append(within, "numbers starting "+wording.CodeList(typed.Prefixes))
		}
		if len(typed.DenyPrefixes) > 0 {
			within = append(within, "never numbers starting "+wording.CodeList(typed.DenyPrefixes))
		}
		if len(typed.SIPDomains) > 0 {
			within = append(within, "SIP addresses only at "+wording.CodeList(typed.SIPDomains))
		}
		if len(within) == 0 {
			return "*You may also type a number or SIP address*, to anywhere."
		}
		return "*You may also type a number or SIP address*: " + strings.Join(within, "; ") + "."
	case d.Destination != nil && d.Destination.LookupFailed:
		return ":warning: Whether you may type numbers and SIP addresses could not be checked just now (a user-group lookup failed): the form does not offer it until it can be."
	case d.Destination != nil && d.Destination.Rule == authz.RuleTypedNotAllowed:
		return "Numbers and SIP addresses typed by hand are not allowed on this floor: use the destinations above."
	default:
		return "You may not type numbers or SIP addresses: use the destinations above."
	}
}

// agentLines list the floor's agents, or when the directory cannot list
// them, how many there are and whether the user is one.
func agentLines(in info) []string {
	if !in.agentsListed {
		line := fmt.Sprintf("*Agents on the floor*: %d in the floor directory; pick the agent on the call in the form, or name them with `from @name`.", in.dir.NumAgents())
		if a, ok := in.dir.Agent(in.user); ok {
			line += fmt.Sprintf(" You are one of them, on %s: `from me` names you.", wording.Code(a.Endpoint.String()))
		}
		return []string{line}
	}
	if len(in.agents) == 0 {
		return []string{"*There are no agents in the floor directory*: give the number or SIP address the agent is on the call with."}
	}
	ls := []string{"*Agents on the floor* (the agent on the call: pick them in the form, or `from @name`):"}
	for _, a := range in.agents {
		ls = append(ls, fmt.Sprintf("• <@%s> · %s", a.Slack, wording.Code(a.Endpoint.String())))
	}
	return ls
}

// recentLines list a user's own last transfers, newest first.
func recentLines(in info) []string {
	ls := []string{fmt.Sprintf("*Your last transfers* (the last %d, kept %d days)", keep, int(ttl.Hours()/24))}
	switch {
	case in.recentErr != nil:
		return append(ls, ":warning: Your last transfers could not be read just now; open the tab again in a minute.")
	case len(in.recent) == 0:
		return append(ls, fmt.Sprintf("None in the last %d days.", int(ttl.Hours()/24)))
	}
	for _, r := range in.recent {
		o := outcome.Outcome(r.Outcome)
		line := fmt.Sprintf("• <!date^%d^{date_short_pretty} {time}|%s> · %s %s · %s", r.At.Unix(), r.At.UTC().Format("2006-01-02 15:04 UTC"),
			wording.Mark(o), outcomeWords(o), wording.Capitalize(wording.Kind(outcome.Action(r.Action))))
		if r.Destination != "" {
			dest := wording.Code(r.Destination)
			if in.dir != nil {
				if d, ok := in.dir.Destination(r.Destination); ok {
					dest = wording.Esc(d.Label)
				}
			}
			line += " to " + dest
		}
		if r.Agent != "" {
			line += " · agent " + agentMention(r.Agent)
		}
		if r.Channel != "" {
			line += " · <#" + r.Channel + ">"
		}
		if link := in.links[r.Channel+"/"+r.ThreadTS]; link != "" && r.ThreadTS != "" {
			line += " · <" + wording.LinkURL(link) + "|thread>"
		}
		ls = append(ls, line)
	}
	return ls
}

// cutText ends a list cut to fit the tab.
func cutText(n int) string {
	return fmt.Sprintf("…and %d more: the form offers them all.", n)
}

// agentMention renders an agent as the tab shows it: a Slack user by
// mention, an address as code.
func agentMention(agent string) string {
	if isSlackUser(agent) {
		return "<@" + agent + ">"
	}
	return wording.Code(agent)
}

// isSlackUser reports whether s is a Slack user id (U… or W…, then
// upper-case letters and digits); an endpoint never is.
func isSlackUser(s string) bool {
	if len(s) < 3 || (s[0] != 'U' && s[0] != 'W') {
		return false
	}
	for _, c := range s[1:] {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// outcomeWords is an outcome in a supervisor's words.
func outcomeWords(o outcome.Outcome) string {
	switch o {
	case outcome.Transferred:
		return "Transferred"
	case outcome.DryRun:
		return "Dry run"
	case outcome.Failed:
		return "Not transferred"
	case outcome.Unknown:
		return "Outcome unknown"
	case outcome.Refused:
		return "Refused"
	case outcome.RefusedDestination:
		return "Destination refused"
	case outcome.CallClaimed:
		return "Call already being transferred"
	case outcome.RateLimited:
		return "Too many transfers"
	case outcome.ClaimUnchecked, outcome.NotAnnounced:
		return "Not started"
	}
	return wording.Capitalize(strings.ReplaceAll(string(o), "_", " "))
}
