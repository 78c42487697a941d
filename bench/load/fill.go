package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/hpo-dev/hpo/client_stubs/go/hpov1"
)

// FillOptions say how big a server the fill phase makes, and how.
type FillOptions struct {
	Experiments, Trials int
	// "pairs": GetTrialConfig + ReportResult, the path workers take, so the fill also
	// exercises it at scale; "add": AddTrial, one call a trial.
	Mode        string
	Concurrency int // goroutines, each filling one experiment at a time
	Conns       int
	Restart     bool
}

// fill makes a big server: many experiments of many completed trials, then reads the
// server's memory, restarts it on the same database and measures how long it takes to
// answer again and what it holds afterwards. Every experiment is read back once and
// must have all its trials: a restart that loses trials is an error, not a figure.
func fill(ctx context.Context, srv *Server, o FillOptions) (FillResult, error) {
	res := FillResult{Server: srv.Label, Experiments: o.Experiments, Trials: o.Trials, Mode: o.Mode}
	names := make([]string, o.Experiments)
	for i := range names {
		names[i] = newName("fill")
	}
	p, err := dial(srv.Addr, o.Conns, srv.Dial...)
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	if err := fillExperiments(ctx, p, names, o); err != nil {
		p.Close()
		return res, err
	}
	p.Close()
	res.Seconds = time.Since(t0).Seconds()
	res.TrialsPerSec = float64(o.Experiments*o.Trials) / res.Seconds
	if res.AfterFill, err = srv.Memory(); err != nil {
		return res, err
	}
	res.DBBytes = srv.dbBytes()

	if o.Restart && srv.Managed() {
		shutdown, err := srv.Stop()
		if err != nil {
			return res, err
		}
		res.ShutdownSecs = shutdown.Seconds()
		if err := srv.Start(ctx); err != nil {
			return res, err
		}
		res.ListenSecs = time.Since(srv.started).Seconds()
		startup, err := waitAnswering(ctx, srv, names[len(names)-1])
		if err != nil {
			return res, err
		}
		res.Restarted, res.StartupSecs = true, startup.Seconds()
		if res.AfterRestart, err = srv.Memory(); err != nil {
			return res, err
		}
	}

	t0 = time.Now()
	if err := touch(ctx, srv, names, o); err != nil {
		return res, err
	}
	res.TouchSecs = time.Since(t0).Seconds()
	res.AfterTouch, err = srv.Memory()
	return res, err
}

// fillExperiments creates the experiments (random search: the sampler's cost is not
// what a fill measures) and completes their trials, printing progress every 10 s.
func fillExperiments(ctx context.Context, p *pool, names []string, o FillOptions) error {
	var done, trials atomic.Int64
	g, ctx := newGroup(ctx)
	next := atomic.Int64{}
	for w := range max(1, min(o.Concurrency, len(names))) {
		stub, id := p.stub(w), fmt.Sprintf("fill-%d", w)
		g.Go(func() error {
			for i := int(next.Add(1) - 1); i < len(names); i = int(next.Add(1) - 1) {
				if err := fillOne(ctx, stub, names[i], id, i, o, &trials); err != nil {
					return err
				}
				done.Add(1)
			}
			return nil
		})
	}
	stop := make(chan struct{})
	go func() {
		t0 := time.Now()
		tick := time.NewTicker(10 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				logf("fill: %d of %d experiments, %d trials, %.0f trials/s", done.Load(), len(names),
					trials.Load(), float64(trials.Load())/time.Since(t0).Seconds())
			}
		}
	}()
	err := g.Wait()
	close(stop)
	return err
}

func fillOne(ctx context.Context, stub hpov1.HpoServiceClient, name, worker string, i int, o FillOptions, trials *atomic.Int64) error {
	if _, err := stub.CreateExperiment(ctx, newExperiment(name, "random", uint32(i))); err != nil {
		return rpcError("CreateExperiment", name, err)
	}
	r := rand.New(rand.NewPCG(uint64(i), 11))
	for range o.Trials {
		if o.Mode == "add" {
			x, y, z := r.Float64()*10-5, r.Float64()*10-5, r.Float64()*10-5
			_, err := stub.AddTrial(ctx, &hpov1.AddTrialRequest{
				Experiment: name,
				Parameters: map[string]*structpb.Value{
					"x": structpb.NewNumberValue(x), "y": structpb.NewNumberValue(y), "z": structpb.NewNumberValue(z),
				},
				Metrics: map[string]float64{"loss": loss(x, y, z)},
			})
			if err != nil {
				return rpcError("AddTrial", name, err)
			}
		} else {
			t, err := stub.GetTrialConfig(ctx, &hpov1.GetTrialConfigRequest{Experiment: name, WorkerId: worker})
			if err != nil {
				return rpcError("GetTrialConfig", name, err)
			}
			_, err = stub.ReportResult(ctx, &hpov1.ReportResultRequest{
				Experiment: name, Trial: t.GetNumber(), WorkerId: worker,
				Metrics: map[string]float64{"loss": trialLoss(t)},
			})
			if err != nil {
				return rpcError("ReportResult", name, err)
			}
		}
		trials.Add(1)
	}
	return nil
}

// waitAnswering polls GetExperiment every 10 ms until it answers OK, and returns the
// time from the server's exec. Only UNAVAILABLE (not accepting yet) is retried; any
// other error, NOT_FOUND above all, is a failed restart.
func waitAnswering(ctx context.Context, srv *Server, name string) (time.Duration, error) {
	// gRPC waits a second or more before connecting again after a failure: far coarser
	// than the 10 ms polling wants.
	retry := grpc.WithConnectParams(grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: 10 * time.Millisecond, Multiplier: 1, MaxDelay: 10 * time.Millisecond},
		MinConnectTimeout: time.Second,
	})
	p, err := dial(srv.Addr, 1, append(srv.Dial, retry)...)
	if err != nil {
		return 0, err
	}
	defer p.Close()
	for {
		_, err := p.stub(0).GetExperiment(ctx, &hpov1.GetExperimentRequest{Name: name})
		if err == nil {
			return time.Since(srv.started), nil
		}
		if status.Code(err) != codes.Unavailable {
			return 0, rpcError("GetExperiment after the restart", name, err)
		}
		if err := srv.Alive(0); err != nil {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// touch reads every experiment once, concurrently, and checks it holds its trials.
func touch(ctx context.Context, srv *Server, names []string, o FillOptions) error {
	p, err := dial(srv.Addr, o.Conns, srv.Dial...)
	if err != nil {
		return err
	}
	defer p.Close()
	var wrong []string
	var wrongN atomic.Int64
	found := make([]string, len(names))
	g, ctx := newGroup(ctx)
	next := atomic.Int64{}
	for w := range max(1, min(o.Concurrency, len(names))) {
		stub := p.stub(w)
		g.Go(func() error {
			for i := int(next.Add(1) - 1); i < len(names); i = int(next.Add(1) - 1) {
				e, err := stub.GetExperiment(ctx, &hpov1.GetExperimentRequest{Name: names[i]})
				if err != nil {
					return rpcError("GetExperiment", names[i], err)
				}
				if c := e.GetStatus().GetCompleted(); int(c) != o.Trials {
					found[i] = fmt.Sprintf("%s: %d completed", names[i], c)
					wrongN.Add(1)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, f := range found {
		if f != "" && len(wrong) < 5 {
			wrong = append(wrong, f)
		}
	}
	if n := wrongN.Load(); n > 0 {
		return fmt.Errorf("%d of %d experiments do not have the %d completed trials they were filled with: %s",
			n, len(names), o.Trials, strings.Join(wrong, "; "))
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "load: "+format+"\n", args...)
}
