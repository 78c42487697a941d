package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// diskSync measures what one durable commit costs at least on this machine: a
// 4 KiB write followed by fdatasync, in dir (where the servers' databases go).
// Every acknowledged call waits for one, so on a slow disk it bounds the
// latency of a single worker and, with group commit, how often a batch of
// writes can become durable.
func diskSync(dir string, samples int) string {
	f, err := os.CreateTemp(dir, "fsync-probe-*")
	if err != nil {
		return "fsync: not measured (" + err.Error() + ")"
	}
	defer os.Remove(f.Name())
	defer f.Close()
	page := make([]byte, 4096)
	took := make([]time.Duration, 0, samples)
	for i := 0; i < samples; i++ {
		start := time.Now()
		if _, err := f.WriteAt(page, int64(i%16)*4096); err != nil {
			return "fsync: not measured (" + err.Error() + ")"
		}
		if err := f.Sync(); err != nil {
			return "fsync: not measured (" + err.Error() + ")"
		}
		took = append(took, time.Since(start))
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return fmt.Sprintf("a 4 KiB write + fsync in %s: p50 %.3f ms, p99 %.3f ms (%d, before the run)",
		filepath.Clean(dir), ms(took[len(took)/2]), ms(took[len(took)*99/100]), samples)
}
