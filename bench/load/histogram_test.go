package main

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	prev := -1
	for v := uint64(0); v < 1<<20; v++ {
		i := bucketOf(v)
		if i != prev && i != prev+1 {
			t.Fatalf("bucketOf(%d) = %d after %d: buckets must be contiguous", v, i, prev)
		}
		if v > bucketHigh(i) || (i > 0 && v <= bucketHigh(i-1)) {
			t.Fatalf("%d is not in bucket %d (%d..%d]", v, i, bucketHigh(i-1), bucketHigh(i))
		}
		prev = i
	}
	if i := bucketOf(1 << 62); i != numBuckets-1 {
		t.Fatalf("a huge value lands in bucket %d, want the last, %d", i, numBuckets-1)
	}
}

// The quantiles agree with sorted samples to within the bucket width.
func TestQuantiles(t *testing.T) {
	var h Histogram
	r := rand.New(rand.NewPCG(1, 2))
	samples := make([]time.Duration, 100000)
	for i := range samples {
		// Log-normal-ish latencies from microseconds to a second.
		samples[i] = time.Duration(float64(time.Microsecond) * (1 + r.ExpFloat64()*r.ExpFloat64()*300))
		h.Record(samples[i])
	}
	slices.Sort(samples)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := samples[int(q*float64(len(samples))+0.5)-1]
		got := h.Quantile(q)
		if got < want || float64(got-want) > float64(want)/subN+1 {
			t.Errorf("p%g = %v, sorted samples say %v", q*100, got, want)
		}
	}
	if h.Max() != samples[len(samples)-1] || h.Quantile(1) != h.Max() {
		t.Errorf("max %v, p100 %v, want %v", h.Max(), h.Quantile(1), samples[len(samples)-1])
	}
	var m Histogram
	m.Merge(&h)
	m.Merge(&h)
	if m.Count() != 2*h.Count() || m.Quantile(0.5) != h.Quantile(0.5) {
		t.Errorf("merge: count %d, p50 %v; want %d, %v", m.Count(), m.Quantile(0.5), 2*h.Count(), h.Quantile(0.5))
	}
}
