package screen

import (
	"slices"
	"testing"
)

func TestAuditText(t *testing.T) {
	line := `{"level":"warn","ts":"2026-01-01T00:00:00Z","msg":"transfer","requester":"U0SUPER","reason":"user U0SUPER allowed by id","outcome":"failed","plivo_status":404,"error":"","duration":0.25}`
	want := `level=warn msg=transfer requester=U0SUPER reason="user U0SUPER allowed by id" outcome=failed plivo_status=404 error="" duration=0.25`
	if got := auditText([]byte(line)); got != want {
		t.Errorf("auditText =\n%s\nwant\n%s", got, want)
	}
	if got := wrap(splitWords(want), 40); !slices.Equal(got, []string{
		"level=warn msg=transfer",
		"requester=U0SUPER",
		`reason="user U0SUPER allowed by id"`,
		`outcome=failed plivo_status=404 error=""`,
		"duration=0.25",
	}) {
		t.Errorf("wrap = %q", got)
	}
}

func TestWrapProse(t *testing.T) {
	got := WrapProse("  • one two three four five", 14)
	want := []string{"  • one two", "    three four", "    five"}
	if !slices.Equal(got, want) {
		t.Errorf("WrapProse = %q, want %q", got, want)
	}
	if got := WrapProse("short", 14); !slices.Equal(got, []string{"short"}) {
		t.Errorf("WrapProse(short) = %q", got)
	}
}
