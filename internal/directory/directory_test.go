package directory

import (
	"slices"
	"sync"
	"testing"

	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

// atFile has destinations that share an address under different
// spellings, and one that only looks alike.
const atFile = `
destinations:
  - {name: vip, to: "sip:vip@floor.sip.plivo.com", who: [USUPER1]}
  - {name: billing, to: "+1 415 555 0100"}
  - {name: vipdesk, to: "SIP:%76ip@Floor.sip.plivo.com:5060", who: [SLEADS01]}
  - {name: vipupper, to: "sip:VIP@floor.sip.plivo.com"}
  - {name: vipport, to: "sip:vip@floor.sip.plivo.com:5061"}
`

func TestDestinationsAt(t *testing.T) {
	d, err := Parse([]byte(atFile))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		to   string
		want []string // names, in file order
	}{
		{"the address as the file has it", "sip:vip@floor.sip.plivo.com", []string{"vip", "vipdesk"}},
		{"an escaped letter and the default port", "sip:%76ip@floor.sip.plivo.com:5060", []string{"vip", "vipdesk"}},
		{"host in capitals", "sip:vip@FLOOR.SIP.PLIVO.COM", []string{"vip", "vipdesk"}},
		{"user in capitals is another address", "sip:VIP@floor.sip.plivo.com", []string{"vipupper"}},
		{"another port is another address", "sip:vip@floor.sip.plivo.com:5061", []string{"vipport"}},
		{"a number as typed", "+14155550100", []string{"billing"}},
		{"a number as a tel link", "<tel:+14155550100|+1 415 555 0100>", []string{"billing"}},
		{"no destination there", "sip:alice@floor.sip.plivo.com", nil},
		{"another number", "+14155550101", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to, err := plivo.ParseEndpoint(tt.to)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, dest := range d.DestinationsAt(to) {
				got = append(got, dest.Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("DestinationsAt(%s) = %q, want %q", tt.to, got, tt.want)
			}
		})
	}
}

// The lookup is built on first use; requests of one snapshot ask at once.
func TestDestinationsAtConcurrent(t *testing.T) {
	d, err := Parse([]byte(atFile))
	if err != nil {
		t.Fatal(err)
	}
	to, _ := plivo.ParseEndpoint("sip:vip@floor.sip.plivo.com")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := d.DestinationsAt(to); len(got) != 2 {
				t.Errorf("DestinationsAt = %d destinations, want 2", len(got))
			}
		}()
	}
	wg.Wait()
}

func TestDestinationsAtZeroDirectory(t *testing.T) {
	var d Directory
	to, _ := plivo.ParseEndpoint("+14155550100")
	if got := d.DestinationsAt(to); got != nil {
		t.Errorf("zero Directory: DestinationsAt = %v, want nil", got)
	}
}
