package main

import (
	"math/bits"
	"time"
)

// Histogram records durations in log-linear buckets, the way HdrHistogram does: every
// power of two is split into 64 equal sub-buckets, so a recorded value is known to within
// 1/64 (1.6 %) at any magnitude. Recording is an add to a fixed array: no allocation and
// no lock, which matters because every worker records two values per pair. Each worker
// keeps its own histogram and they are merged once the window closes.
type Histogram struct {
	counts [numBuckets]uint64
	n      uint64
	max    int64 // exact, in nanoseconds
}

const (
	subBits = 6 // 64 sub-buckets per power of two
	subN    = 1 << subBits
	// Values up to 2^41 ns (about 37 minutes); anything longer lands in the last bucket.
	maxBits    = 41
	numBuckets = (maxBits - subBits + 1) * subN
)

// bucketOf maps v >= 0 to its bucket. Below 2*subN the buckets are exact; above, a value
// keeps its top subBits+1 bits, and the shift it took to get there picks the range.
func bucketOf(v uint64) int {
	if v < 2*subN {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1
	i := shift*subN + int(v>>shift)
	return min(i, numBuckets-1)
}

// bucketHigh is the largest value that maps to bucket i.
func bucketHigh(i int) uint64 {
	if i < 2*subN {
		return uint64(i)
	}
	shift := i/subN - 1
	top := uint64(i%subN + subN)
	return (top+1)<<shift - 1
}

// Record adds one duration.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucketOf(uint64(v))]++
	h.n++
	h.max = max(h.max, v)
}

// Merge adds o's values to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// Count is the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest value recorded, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Quantile returns the value at quantile q (0..1): the upper end of the bucket holding
// it, as HdrHistogram reports, but never above the exact maximum. 0 when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	// The rank of the value wanted, 1-based: p99 of 100 values is the 99th.
	rank := uint64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(int64(bucketHigh(i)), h.max))
		}
	}
	return time.Duration(h.max)
}
