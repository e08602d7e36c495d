package main

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// percentile returns the p-th percentile (0 < p ≤ 100) of ds by the
// nearest-rank method: the smallest value that at least p% of the values do
// not exceed. It is 0 for no values. ds is not modified.
func percentile[T cmp.Ordered](ds []T, p float64) T {
	if len(ds) == 0 {
		var zero T
		return zero
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	rank := int(math.Ceil(float64(len(sorted))*p/100 - 1e-9)) // the epsilon absorbs float noise
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// ms renders d in milliseconds, with precision to suit small figures.
func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	switch {
	case f < 10:
		return fmt.Sprintf("%.2f ms", f)
	case f < 100:
		return fmt.Sprintf("%.1f ms", f)
	default:
		return fmt.Sprintf("%.0f ms", f)
	}
}

// mb renders a size in kB (as /proc reports it) in MB.
func mb(kB int64) string { return fmt.Sprintf("%.1f MB", float64(kB)/1024) }
