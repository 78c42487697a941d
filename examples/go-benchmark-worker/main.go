// Command go-benchmark-worker tunes a small Go workload with hpo, the way Kruize HPO
// tunes a benchmark: it creates the experiment from a Kruize search space
// (search_space.json), then loops: get a trial config from the server, apply it, run
// the workload and measure it, report the measured response time, until the
// experiment's total_trials are done. It prints the best configuration at the end.
//
//	go run . -server localhost:50051 -spec search_space.json
//
// The workload sorts 2^20 pseudo-random 64-bit keys in chunks, each chunk freshly
// allocated (so GOGC matters), with a pool of goroutines (workers), by chunk size
// (chunk_kb) and with one of two algorithms. Each trial runs it -reps times and reports
// the median wall time in milliseconds as response_time, and the throughput.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/hpo-dev/hpo/client_stubs/go/hpo"
)

const keys = 1 << 20

func main() {
	server := flag.String("server", envOr("HPO_SERVER", "localhost:50051"), "hpo server host:port")
	spec := flag.String("spec", "search_space.json", "Kruize HPO search space (EXP_TRIAL_GENERATE_NEW request or its search_space)")
	name := flag.String("name", "", "experiment name (default: the spec's experiment_name)")
	reps := flag.Int("reps", 3, "measured runs per trial (the median is reported)")
	join := flag.Bool("join", false, "join an existing experiment instead of creating it")
	flag.Parse()

	ctx := context.Background()
	// $HPO_TOKEN and $HPO_TLS_CA (and a client certificate) for a secured server.
	opts, err := hpo.DialOptionsFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	c, err := hpo.Dial(*server, opts...)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	experiment := *name
	if !*join {
		content, err := os.ReadFile(*spec)
		if err != nil {
			log.Fatal(err)
		}
		e, err := c.ImportExperiment(ctx, "kruize", string(content), *name, nil)
		if err != nil {
			log.Fatalf("creating the experiment: %v", err)
		}
		experiment = e.GetName()
		log.Printf("experiment %s: %d tunables, %d trials, minimizing %s", experiment,
			len(e.GetParameters()), e.GetMaxTrials(), e.GetObjectives()[0].GetName())
	} else if experiment == "" {
		log.Fatal("-join needs -name")
	}

	w := &hpo.Worker{
		Client:     c,
		Experiment: experiment,
		OnTrial: func(t *hpo.Trial, m hpo.Metrics, err error) {
			if err != nil {
				log.Printf("trial %d %v: failed: %v", t.Number, t.Params, err)
				return
			}
			log.Printf("trial %d %v: response_time=%.2fms throughput=%.1fMkeys/s",
				t.Number, t.Params, m["response_time"], m["throughput"])
		},
	}
	ran, err := w.Run(ctx, func(ctx context.Context, t *hpo.Trial) (hpo.Metrics, error) {
		return benchmark(ctx, config{
			gogc:      int(t.Int("gogc")),
			workers:   int(t.Int("workers")),
			chunkKB:   int(t.Int("chunk_kb")),
			algorithm: t.String("algorithm"),
		}, *reps)
	})
	if err != nil {
		log.Fatal(err)
	}
	best, err := c.Best(ctx, experiment)
	if err != nil {
		log.Fatal(err)
	}
	if len(best) == 0 {
		log.Fatal("no trial completed")
	}
	params, _ := json.Marshal(best[0].GetParameters())
	fmt.Printf("ran %d trials; best: trial %d response_time=%.2fms %s\n",
		ran, best[0].GetNumber(), best[0].GetMetrics()["response_time"], params)
}

type config struct {
	gogc, workers, chunkKB int
	algorithm              string
}

// benchmark applies cfg, runs the workload reps times and measures it.
func benchmark(ctx context.Context, cfg config, reps int) (hpo.Metrics, error) {
	if cfg.workers < 1 || cfg.chunkKB < 1 {
		return nil, fmt.Errorf("bad config %+v", cfg)
	}
	old := debug.SetGCPercent(cfg.gogc)
	defer debug.SetGCPercent(old)
	times := make([]float64, 0, reps)
	for i := 0; i < reps; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		start := time.Now()
		sum, err := workload(cfg)
		if err != nil {
			return nil, err
		}
		elapsed := time.Since(start)
		if sum == 0 {
			return nil, errors.New("workload checksum is 0")
		}
		times = append(times, float64(elapsed.Microseconds())/1000)
	}
	sort.Float64s(times)
	median := times[len(times)/2]
	return hpo.Metrics{
		"response_time": median,
		"throughput":    keys / (median / 1000) / 1e6,
	}, nil
}

// workload sorts keys pseudo-random keys in chunks of chunkKB KiB, workers at a time,
// and returns a checksum of the sorted chunks.
func workload(cfg config) (uint64, error) {
	per := max(cfg.chunkKB*1024/8, 1)
	chunks := (keys + per - 1) / per
	jobs := make(chan int)
	var mu sync.Mutex
	var total uint64
	var wg sync.WaitGroup
	for w := 0; w < cfg.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local uint64
			for c := range jobs {
				n := min(per, keys-c*per)
				data := make([]uint64, n) // fresh garbage for the collector
				rng := rand.New(rand.NewPCG(uint64(c), 42))
				for i := range data {
					data[i] = rng.Uint64()
				}
				switch cfg.algorithm {
				case "radix":
					radixSort(data)
				default:
					slices.Sort(data)
				}
				local += data[0] ^ data[n-1] + uint64(n)
			}
			mu.Lock()
			total += local
			mu.Unlock()
		}()
	}
	for c := 0; c < chunks; c++ {
		jobs <- c
	}
	close(jobs)
	wg.Wait()
	return total, nil
}

// radixSort sorts in place: LSD radix sort, 8 bits per pass.
func radixSort(a []uint64) {
	buf := make([]uint64, len(a))
	src, dst := a, buf
	for shift := uint(0); shift < 64; shift += 8 {
		var count [257]int
		for _, v := range src {
			count[(v>>shift)&0xff+1]++
		}
		for i := 1; i < 257; i++ {
			count[i] += count[i-1]
		}
		for _, v := range src {
			b := (v >> shift) & 0xff
			dst[count[b]] = v
			count[b]++
		}
		src, dst = dst, src
	}
	// Eight passes: the result is back in a.
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
