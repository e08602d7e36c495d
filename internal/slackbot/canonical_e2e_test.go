package slackbot_test

import (
	"strings"
	"testing"
)

// keptFloor keeps vip and leads for some people while typed SIP addresses
// are allowed at vip's domain, and typed numbers anywhere.
const keptFloor = `
destinations:
  - name: billing
    label: Billing queue
    to: "+14155550100"
  - name: vip
    label: VIP desk
    to: "sip:vip@floor.sip.plivo.com"
    who: [USUPER1]
  - name: leads
    label: Team leads
    to: "+14155550102"
    who: [SLEADS01]
agents:
  - slack: USUPER1
    endpoint: "+14152223333"
typed:
  allow: true
  sip_domains: [floor.sip.plivo.com]
`

// Typing a destination's address, in any spelling, is judged by its who
// too: where the name is refused, so is the address, and the requester is
// told which destination it is.
func TestTypedAddressOfANameIsJudgedByItsWho(t *testing.T) {
	cases := []struct {
		name, user, text string
		wantMsg          string
		wantReason       string
	}{
		{
			"vip's address as the directory has it", groupMember, "sip:vip@floor.sip.plivo.com from +14152224444",
			"`sip:vip@floor.sip.plivo.com` is the address of VIP desk (`vip`), which you may not send calls to, by name or typed, so nothing was transferred.",
			"typed destination sip:vip@floor.sip.plivo.com is the address of destination vip; destination vip not allowed to user " + groupMember,
		},
		{
			"vip's address spelled another way", groupMember, "SIP:%76ip@FLOOR.sip.plivo.com:5060 from +14152224444",
			"`sip:%76ip@floor.sip.plivo.com:5060` is the address of VIP desk (`vip`), which you may not send calls to",
			"typed destination sip:%76ip@floor.sip.plivo.com:5060 is the address of destination vip",
		},
		{
			"leads' number in another format", supervisor, "+1 (415) 555-0102 from me",
			"`+14155550102` is the address of Team leads (`leads`), which you may not send calls to",
			"typed destination +14155550102 is the address of destination leads; destination leads not allowed to user " + supervisor,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := startWithDirectory(t, keptFloor, options{})
			_, ack := h.command(tc.user, floorChannel, tc.text)
			if ack.Payload != nil {
				t.Errorf("ack carried %s; the refusal comes after the ack", ack.Payload)
			}
			msg := h.responses(1)[0]
			if !strings.Contains(msg, tc.wantMsg) {
				t.Errorf("requester told\n%s\nwant\n%s", msg, tc.wantMsg)
			}
			if !strings.Contains(msg, "Destinations you may use:") {
				t.Errorf("requester told\n%s\nwant the destinations they may use", msg)
			}
			a := h.audit(1)
			wantAudit(t, a, map[string]any{"outcome": "refused_destination", "decision": "refused", "destination": ""})
			if r, _ := a["reason"].(string); !strings.Contains(r, tc.wantReason) {
				t.Errorf("audit reason %q, want %q", r, tc.wantReason)
			}
			h.noneOf("chat.postMessage", "chat.postEphemeral", "views.open")
			h.noPlivo()
		})
	}
}

// Someone the name's who lists still transfers by typing its address, and
// Plivo gets the address as typed: the spelling only matters to the checks.
func TestTypedAddressOfANameAllowedByItsWho(t *testing.T) {
	h, _ := startWithDirectory(t, keptFloor, options{})
	h.command(supervisor, floorChannel, "sip:%76ip@Floor.sip.plivo.com:5060 from me")
	h.threadOf(floorChannel, supervisor)
	if body, want := h.plivoBody(1), `{"action":"cold_transfer","to":"sip:%76ip@floor.sip.plivo.com:5060","role":"agent","trigger_source":"+14152223333"}`; body != want {
		t.Errorf("Plivo body\n got %s\nwant %s", body, want)
	}
	a := h.audit(1)
	wantAudit(t, a, map[string]any{"outcome": "transferred", "destination": ""})
	if r, _ := a["reason"].(string); !strings.Contains(r, "destination vip allowed to user "+supervisor) {
		t.Errorf("audit reason %q, want vip's who in it", r)
	}
}

// The form's typed destination is the same check as the command's.
func TestTypedAddressOfANameInTheForm(t *testing.T) {
	h, _ := startWithDirectory(t, keptFloor, options{})
	h.command(groupMember, floorChannel, "")
	v, _ := h.rawView()
	if _, ack := h.submit(v.pickSubmission(groupMember, "V1", pick{toTyped: "sip:vip@floor.sip.plivo.com:5060", triggerSource: "+1 415 222 4444"})); ack.Payload != nil {
		t.Fatalf("submission acked with %s; the refusal comes after the ack", ack.Payload)
	}
	a := h.audit(1)
	wantAudit(t, a, map[string]any{"path": "modal", "outcome": "refused_destination", "decision": "refused"})
	if r, _ := a["reason"].(string); !strings.Contains(r, "is the address of destination vip") {
		t.Errorf("audit reason %q, want vip named", r)
	}
	h.noneOf("chat.postMessage")
	h.noPlivo()
}
