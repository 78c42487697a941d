package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/hpo-dev/hpo/client_stubs/go/hpov1"
)

// Cell is one point of the grid.
type Cell struct {
	Workers     int    `json:"workers"`
	Experiments int    `json:"experiments"`
	Algorithm   string `json:"algorithm"`
	// Completed trials added to each experiment before measuring (AddTrial), so that
	// a history-dependent algorithm (TPE) is measured at a realistic size.
	History int `json:"history"`
}

func (c Cell) String() string {
	s := fmt.Sprintf("%s, %s, %s", c.Algorithm, plural(c.Workers, "worker"), plural(c.Experiments, "experiment"))
	if c.History > 0 {
		s += fmt.Sprintf(", %d trials of history", c.History)
	}
	return s
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Window is how long a cell runs: workers run Warmup unmeasured (connections, caches,
// the server's thread pool), then Duration measured.
type Window struct {
	Warmup, Duration time.Duration
}

// experimentSeq numbers the experiments of a run; with runID it makes names unique, so
// that cells never share an experiment and a reused -db never clashes.
var experimentSeq atomic.Int64

func newName(prefix string) string {
	return fmt.Sprintf("%s-%s-%d", prefix, runID, experimentSeq.Add(1))
}

// space is the search space of every experiment here: three doubles in [-5, 5].
var space = []string{"x", "y", "z"}

func newExperiment(name, algorithm string, seed uint32) *hpov1.CreateExperimentRequest {
	e := &hpov1.Experiment{
		Name:       name,
		Objectives: []*hpov1.Objective{{Name: "loss", Goal: hpov1.Objective_MINIMIZE}},
		Algorithm:  &hpov1.Algorithm{Name: algorithm},
		Seed:       proto.Uint32(seed), // the same suggestions on A and B
	}
	for _, p := range space {
		e.Parameters = append(e.Parameters, &hpov1.Parameter{
			Name: p,
			Domain: &hpov1.Parameter_DoubleRange{DoubleRange: &hpov1.DoubleRange{
				Min: proto.Float64(-5), Max: proto.Float64(5),
			}},
		})
	}
	return &hpov1.CreateExperimentRequest{Experiment: e}
}

// loss is the objective: a shifted sphere, so that TPE has something to model.
func loss(x, y, z float64) float64 { return (x-1)*(x-1) + (y+2)*(y+2) + z*z }

func trialLoss(t *hpov1.Trial) float64 {
	p := t.GetParameters()
	return loss(p["x"].GetNumberValue(), p["y"].GetNumberValue(), p["z"].GetNumberValue())
}

// addHistory records n completed trials in each experiment with AddTrial, from a few
// goroutines: the set-up of a TPE cell, not measured.
func addHistory(ctx context.Context, p *pool, names []string, n int) error {
	type job struct {
		experiment string
		seed       int
	}
	jobs := make(chan job)
	g, ctx := newGroup(ctx)
	for i := range min(32, len(names)*n) {
		stub := p.stub(i)
		g.Go(func() error {
			for j := range jobs {
				r := rand.New(rand.NewPCG(uint64(j.seed), 7))
				x, y, z := r.Float64()*10-5, r.Float64()*10-5, r.Float64()*10-5
				req := &hpov1.AddTrialRequest{
					Experiment: j.experiment,
					Parameters: map[string]*structpb.Value{
						"x": structpb.NewNumberValue(x),
						"y": structpb.NewNumberValue(y),
						"z": structpb.NewNumberValue(z),
					},
					Metrics: map[string]float64{"loss": loss(x, y, z)},
				}
				if _, err := stub.AddTrial(ctx, req); err != nil {
					return rpcError("AddTrial", j.experiment, err)
				}
			}
			return nil
		})
	}
feed:
	for k := range n {
		for _, name := range names {
			select {
			case jobs <- job{name, k}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	return g.Wait()
}

// workerStats is what one worker measured; workers never share one, so recording takes
// no lock.
type workerStats struct {
	suggest, report Histogram
	pairs           int64
}

// work is one worker: suggest, report, again, until the window closes. A call is
// measured if it started inside the window (so slow calls at its end are not left
// out); a pair counts towards throughput if its report returned inside it.
func work(ctx context.Context, stub hpov1.HpoServiceClient, experiment, id string, from, to time.Time, st *workerStats) error {
	suggest := &hpov1.GetTrialConfigRequest{Experiment: experiment, WorkerId: id}
	for {
		t0 := time.Now()
		if !t0.Before(to) {
			return nil
		}
		trial, err := stub.GetTrialConfig(ctx, suggest)
		t1 := time.Now()
		if err != nil {
			return rpcError("GetTrialConfig", experiment, err)
		}
		_, err = stub.ReportResult(ctx, &hpov1.ReportResultRequest{
			Experiment: experiment,
			Trial:      trial.GetNumber(),
			WorkerId:   id,
			Metrics:    map[string]float64{"loss": trialLoss(trial)},
		})
		t2 := time.Now()
		if err != nil {
			return rpcError("ReportResult", experiment, err)
		}
		if !t0.Before(from) {
			st.suggest.Record(t1.Sub(t0))
		}
		if !t1.Before(from) && t1.Before(to) {
			st.report.Record(t2.Sub(t1))
		}
		if !t2.Before(from) && !t2.After(to) {
			st.pairs++
		}
	}
}

// runCell measures one cell on one server: fresh experiments, history for TPE, then
// the workers, spread round-robin over the experiments, for the warm-up and the window.
func runCell(ctx context.Context, srv *Server, cell Cell, w Window, conns int, rep int) (Run, error) {
	p, err := dial(srv.Addr, min(cell.Workers, conns), srv.Dial...)
	if err != nil {
		return Run{}, err
	}
	defer p.Close()

	names := make([]string, cell.Experiments)
	for i := range names {
		names[i] = newName("load")
		// Seeded by position and repetition: A and B see the same sequence.
		req := newExperiment(names[i], cell.Algorithm, uint32(1000*rep+i))
		if _, err := p.stub(i).CreateExperiment(ctx, req); err != nil {
			return Run{}, rpcError("CreateExperiment", names[i], err)
		}
	}
	if cell.History > 0 {
		if err := addHistory(ctx, p, names, cell.History); err != nil {
			return Run{}, err
		}
	}

	from := time.Now().Add(w.Warmup)
	to := from.Add(w.Duration)
	stats := make([]workerStats, cell.Workers)
	g, gctx := newGroup(ctx)
	for i := range cell.Workers {
		exp := names[i%len(names)]
		id := fmt.Sprintf("worker-%d", i)
		g.Go(func() error {
			return work(gctx, p.stub(i), exp, id, from, to, &stats[i])
		})
	}
	// CPU use over the window, sampled here rather than by the workers.
	var cpu0, cpu1 [2]time.Duration
	sample := func(at time.Time, cpu *[2]time.Duration) {
		select {
		case <-time.After(time.Until(at)):
		case <-gctx.Done():
		}
		cpu[0] = clientCPU()
		cpu[1], _ = srv.CPU() // 0 if the server has gone; the error says why
	}
	sample(from, &cpu0)
	sample(to, &cpu1)
	if err := g.Wait(); err != nil {
		if alive := srv.Alive(200 * time.Millisecond); alive != nil {
			return Run{}, fmt.Errorf("%w\n%w", err, alive)
		}
		return Run{}, err
	}

	var all workerStats
	for i := range stats {
		all.suggest.Merge(&stats[i].suggest)
		all.report.Merge(&stats[i].report)
		all.pairs += stats[i].pairs
	}
	secs := w.Duration.Seconds()
	r := Run{
		Pairs:       float64(all.pairs),
		PairsPerSec: float64(all.pairs) / secs,
		Suggest:     latency(&all.suggest),
		Report:      latency(&all.report),
		ClientCores: (cpu1[0] - cpu0[0]).Seconds() / secs,
	}
	if srv.Managed() {
		r.ServerCores = (cpu1[1] - cpu0[1]).Seconds() / secs
	}
	return r, nil
}

func latency(h *Histogram) Latency {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return Latency{P50: ms(h.Quantile(0.5)), P99: ms(h.Quantile(0.99)), Max: ms(h.Max())}
}
