package main

import (
	"math"
	"testing"
)

// The estimates are histogram_quantile's: linear inside the bucket the rank
// falls in.
func TestHistogramQuantile(t *testing.T) {
	inf := math.Inf(1)
	// 100 observations: 10 up to 1 ms, 80 in (1 ms, 2 ms], 10 in (2 ms, 4 ms].
	h := histogram{bounds: []float64{.001, .002, .004, inf}, counts: []float64{10, 90, 100, 100}}
	tests := []struct {
		name string
		h    histogram
		q    float64
		want float64
	}{
		{"in the first bucket, from 0", h, .05, .0005},
		{"median, halfway through the second bucket", h, .5, .0015},
		{"p90, at a bucket's top", h, .9, .002},
		{"p99, in the third bucket", h, .99, .0038},
		{"past every finite bound: the last one", histogram{bounds: []float64{.001, inf}, counts: []float64{1, 10}}, .99, .001},
		{"empty", histogram{bounds: []float64{.001, inf}, counts: []float64{0, 0}}, .5, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.h.quantile(tt.q)
			if math.IsNaN(tt.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tt.want) > 1e-12) {
				t.Errorf("quantile(%v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

// minus leaves only what happened between two scrapes.
func TestHistogramMinus(t *testing.T) {
	inf := math.Inf(1)
	before := histogram{bounds: []float64{.001, inf}, counts: []float64{100, 100}, sum: .05}
	after := histogram{bounds: []float64{.001, inf}, counts: []float64{100, 110}, sum: .08}
	d := after.minus(before)
	if d.count() != 10 || d.counts[0] != 0 || math.Abs(d.sum-.03) > 1e-12 {
		t.Errorf("after − before = %+v, want 10 observations, all above 1 ms, summing to 0.03", d)
	}
	if before.counts[1] != 100 || after.counts[1] != 110 {
		t.Error("minus changed its operands")
	}
}

// plus sums two replicas' histograms bucket by bucket, as sum by (le) does.
func TestHistogramPlus(t *testing.T) {
	inf := math.Inf(1)
	a := histogram{bounds: []float64{.001, .002, inf}, counts: []float64{3, 4, 4}, sum: .004}
	b := histogram{bounds: []float64{.001, .002, inf}, counts: []float64{0, 5, 6}, sum: .012}
	s := a.plus(b)
	if s.counts[0] != 3 || s.counts[1] != 9 || s.count() != 10 || math.Abs(s.sum-.016) > 1e-12 {
		t.Errorf("a + b = %+v, want counts [3 9 10] summing to 0.016", s)
	}
	if got, want := s.quantile(.5), .001+.001*2/6; math.Abs(got-want) > 1e-12 {
		t.Errorf("median of a + b = %v, want %v (rank 5 of 10: 2 into the 6 in (1 ms, 2 ms])", got, want)
	}
	if a.counts[1] != 4 || b.counts[1] != 5 {
		t.Error("plus changed its operands")
	}
}
