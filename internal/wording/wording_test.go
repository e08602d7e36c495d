package wording

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/directory"
	"github.com/coldtransfer/coldtransfer/internal/outcome"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
	"github.com/coldtransfer/coldtransfer/internal/store"
)

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
		want string
	}{
		{"under a second rounds up", 300 * time.Millisecond, "1 second"},
		{"seconds", 42 * time.Second, "42 seconds"},
		{"a part second rounds up", 41*time.Second + time.Millisecond, "42 seconds"},
		{"whole minutes", 3 * time.Minute, "3 min"},
		{"minutes and seconds", 3*time.Minute + 5*time.Second, "3 min 5 s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := humanDuration(tt.d); got != tt.want {
				t.Errorf("humanDuration(%v) = %q, want %q", tt.d, got, tt.want)
			}
		})
	}
}

// The outcome decides the reply and the status line: a Plivo error that
// surely did nothing is a failure, anything else that failed may have
// transferred the call.
func TestResultOutcome(t *testing.T) {
	tests := []struct {
		name   string
		r      Result
		want   outcome.Outcome
		reply  string
		status string
	}{
		{"accepted", Result{Action: outcome.ColdTransfer, Plivo: plivo.Result{APIID: "a1"}}, outcome.Transferred,
			":white_check_mark: Plivo accepted the cold transfer. api_id: `a1`", ":white_check_mark: Transferred · api_id `a1`"},
		{"dry run", Result{DryRun: "cold_transfer to=+1"}, outcome.DryRun,
			":test_tube: Dry run: Plivo was not called. It would have been sent `cold_transfer to=+1`.", ":test_tube: Dry run: nothing was sent to Plivo."},
		{"refused by Plivo", Result{Err: &plivo.Error{Kind: plivo.KindNotFound}}, outcome.Failed, ":x: Not transferred. ", ":x: Not transferred · see thread"},
		{"not a Plivo error", Result{Err: errors.New("boom")}, outcome.Unknown,
			":warning: Transfer outcome unknown. Something unexpected went wrong", ":warning: Outcome unknown: check the call · see thread"},
		{"claim lost", Result{LostTo: &store.Holder{User: "U1", Channel: "C1"}}, outcome.CallClaimed,
			":x: Not transferred: while this request waited on Slack, <@U1> started", ":x: Not transferred · see thread"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.Outcome(); got != tt.want {
				t.Errorf("Outcome() = %q, want %q", got, tt.want)
			}
			if got := tt.r.Reply(); !strings.HasPrefix(got, tt.reply) {
				t.Errorf("Reply() = %q, want it to start %q", got, tt.reply)
			}
			if got := tt.r.Status(); got != tt.status {
				t.Errorf("Status() = %q, want %q", got, tt.status)
			}
		})
	}
}

// Only an https link that cannot break out of mrkdwn's <…|…> is shown.
func TestAnswerLink(t *testing.T) {
	tests := []struct {
		name, permalink, want string
	}{
		{"none", "", ""},
		{"https", "https://acme.slack.com/archives/C1/p1?a=1&b=2", "<https://acme.slack.com/archives/C1/p1?a=1&amp;b=2|in answer to this message>"},
		{"not https", "http://acme.slack.com/archives/C1/p1", ""},
		{"breaks out", "https://x/|click>", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := answerLink(tt.permalink); got != tt.want {
				t.Errorf("answerLink(%q) = %q, want %q", tt.permalink, got, tt.want)
			}
		})
	}
}

// A long list stops at maxListLines and says how many more the form has.
func TestListIsCut(t *testing.T) {
	var b strings.Builder
	b.WriteString("destinations:\n")
	for i := range maxListLines + 5 {
		fmt.Fprintf(&b, "  - name: d%03d\n    label: Desk %d\n    to: \"+1415555%04d\"\n", i, i, i)
	}
	dir, err := directory.Parse([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	got := List(dir, "U1", dir.Destinations(), false)
	if n := strings.Count(got, "\n• "); n != maxListLines {
		t.Errorf("%d destinations listed, want %d", n, maxListLines)
	}
	for _, want := range []string{"…and 5 more: `/transfer` opens a form", "You may not type numbers", "e.g. `/transfer d000 from +1 415 222 3333`"} {
		if !strings.Contains(got, want) {
			t.Errorf("the list lacks %q:\n%s", want, got)
		}
	}
}
