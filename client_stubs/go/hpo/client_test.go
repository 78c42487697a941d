package hpo_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/hpo-dev/hpo/client_stubs/go/hpo"
	"github.com/hpo-dev/hpo/client_stubs/go/hpov1"
)

var nameCounter atomic.Int32

// newExperiment returns a fresh experiment name for the test.
func newName(t *testing.T) string {
	base := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(base) > 50 {
		base = base[:50]
	}
	return fmt.Sprintf("%s-%d", base, nameCounter.Add(1))
}

func dial(t *testing.T, addr string) *hpo.Client {
	t.Helper()
	c, err := hpo.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func simple(name string) *hpov1.Experiment {
	return &hpov1.Experiment{
		Name: name,
		Parameters: []*hpov1.Parameter{
			hpo.LogUniform("lr", 1e-4, 1e-1),
			hpo.IntStep("units", 8, 64, 8),
			hpo.Choice("opt", "adam", "sgd"),
			hpo.When(hpo.Uniform("momentum", 0, 0.99), "opt", "sgd"),
			hpo.Discrete("batch", 32, 64),
		},
		Objectives: []*hpov1.Objective{hpo.Maximize("accuracy")},
	}
}

// mustErr is what must panics with; each test's deferred check turns it into t.Fatal.
type mustErr struct{ err error }

// must returns v, or ends the test (through check) if err is set.
func must[T any](v T, err error) T {
	if err != nil {
		panic(mustErr{err})
	}
	return v
}

// check, deferred first thing in a test that uses must, fails the test with must's
// error.
func check(t *testing.T) {
	if r := recover(); r != nil {
		if m, ok := r.(mustErr); ok {
			t.Fatal(m.err)
		}
		panic(r)
	}
}

func TestCreateSuggestReportBest(t *testing.T) {
	defer check(t)
	ctx := context.Background()
	c := dial(t, shared.addr())
	name := newName(t)
	e := must(c.CreateExperiment(ctx, simple(name)))
	if e.GetAlgorithm().GetName() != "auto" || e.Seed == nil || e.GetState() != hpov1.Experiment_CREATED {
		t.Fatalf("defaults not filled in: %v", e)
	}
	got := must(c.GetExperiment(ctx, name))
	if len(got.GetParameters()) != 5 {
		t.Fatalf("parameters: %v", got.GetParameters())
	}
	for i := 0; i < 5; i++ {
		tr := must(c.Suggest(ctx, name, "w1"))
		if tr.Number != int32(i) || tr.WorkerID != "w1" {
			t.Fatalf("trial %d: %+v", i, tr)
		}
		if lr := tr.Float("lr"); lr < 1e-4 || lr > 1e-1 {
			t.Errorf("lr %v", lr)
		}
		if u := tr.Int("units"); u%8 != 0 || u < 8 || u > 64 {
			t.Errorf("units %v", u)
		}
		if tr.Has("momentum") != (tr.String("opt") == "sgd") {
			t.Errorf("momentum present: %v with opt %q", tr.Has("momentum"), tr.String("opt"))
		}
		again := must(c.Suggest(ctx, name, "w1"))
		if again.Number != tr.Number {
			t.Fatalf("asking again gave trial %d, not %d", again.Number, tr.Number)
		}
		done := must(c.Report(ctx, tr, hpo.Metrics{"accuracy": float64(i % 3), "loss": 1}))
		if done.GetState() != hpov1.Trial_COMPLETED {
			t.Fatalf("state %v", done.GetState())
		}
		if _, err := c.Report(ctx, tr, hpo.Metrics{"accuracy": float64(i % 3), "loss": 1}); err != nil {
			t.Fatalf("an identical retry: %v", err)
		}
	}
	best := must(c.Best(ctx, name))
	if len(best) != 1 || best[0].GetNumber() != 2 {
		t.Fatalf("best: %v", best)
	}
	tr := must(c.GetTrial(ctx, name, 3))
	if tr.Proto.GetMetrics()["accuracy"] != 0 {
		t.Fatalf("trial 3: %v", tr.Proto)
	}
}

func TestErrorsCarryCodeAndMessage(t *testing.T) {
	defer check(t)
	ctx := context.Background()
	c := dial(t, shared.addr())
	_, err := c.GetExperiment(ctx, "nope")
	if !hpo.IsNotFound(err) || hpo.Message(err) != `name: experiment "nope" does not exist` {
		t.Fatalf("got %v", err)
	}
	bad := simple("Bad Name")
	if _, err := c.CreateExperiment(ctx, bad); !hpo.IsInvalid(err) || !strings.HasPrefix(hpo.Message(err), "experiment.name:") {
		t.Fatalf("got %v", err)
	}
	name := newName(t)
	e := simple(name)
	e.MaxTrials, e.ParallelTrials = 2, 1
	must(c.CreateExperiment(ctx, e))
	if _, err := c.CreateExperiment(ctx, e); !hpo.IsAlreadyExists(err) {
		t.Fatalf("got %v", err)
	}
	a := must(c.Suggest(ctx, name, "a"))
	if _, err := c.Suggest(ctx, name, "b"); !hpo.IsBusy(err) || hpo.Code(err) != codes.ResourceExhausted {
		t.Fatalf("got %v", err)
	}
	must(c.Report(ctx, a, hpo.Metrics{"accuracy": 1}))
	b := must(c.Suggest(ctx, name, "b"))
	if _, err := c.Report(ctx, b, hpo.Metrics{"loss": 1}); !hpo.IsInvalid(err) ||
		hpo.Message(err) != `metrics: missing the objective metric "accuracy"` {
		t.Fatalf("got %v", err)
	}
	must(c.Report(ctx, b, hpo.Metrics{"accuracy": 1}))
	if _, err := c.Suggest(ctx, name, "c"); !hpo.IsDone(err) {
		t.Fatalf("got %v", err)
	}
}

func TestStopResumeDelete(t *testing.T) {
	defer check(t)
	ctx := context.Background()
	c := dial(t, shared.addr())
	name := newName(t)
	must(c.CreateExperiment(ctx, simple(name)))
	tr := must(c.Suggest(ctx, name, "w"))
	if e := must(c.Stop(ctx, name, "pause")); e.GetState() != hpov1.Experiment_STOPPED {
		t.Fatalf("state %v", e.GetState())
	}
	if _, err := c.Suggest(ctx, name, "w2"); !hpo.IsDone(err) {
		t.Fatalf("got %v", err)
	}
	must(c.Report(ctx, tr, hpo.Metrics{"accuracy": 0.5}))
	if e := must(c.Resume(ctx, name)); e.GetState() != hpov1.Experiment_RUNNING {
		t.Fatalf("state %v", e.GetState())
	}
	must(c.Suggest(ctx, name, "w2"))
	if err := c.Delete(ctx, name); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetExperiment(ctx, name); !hpo.IsNotFound(err) {
		t.Fatalf("got %v", err)
	}
	if err := c.Delete(ctx, name); !hpo.IsNotFound(err) {
		t.Fatalf("got %v", err)
	}
}

func TestIntermediateHeartbeatPruneFail(t *testing.T) {
	defer check(t)
	ctx := context.Background()
	c := dial(t, shared.addr())
	name := newName(t)
	must(c.CreateExperiment(ctx, simple(name)))
	tr := must(c.Suggest(ctx, name, "w"))
	for step := int32(1); step <= 3; step++ {
		stop, err := c.ReportIntermediate(ctx, tr, step, hpo.Metrics{"accuracy": 0.1 * float64(step)})
		if err != nil || stop {
			t.Fatalf("step %d: %v %v", step, stop, err)
		}
	}
	if beat := must(c.Heartbeat(ctx, tr)); beat.GetState() != hpov1.Trial_RUNNING {
		t.Fatalf("state %v", beat.GetState())
	}
	pruned := must(c.ReportPruned(ctx, tr, hpo.Metrics{"accuracy": 0.3}))
	if pruned.GetState() != hpov1.Trial_PRUNED || len(pruned.GetIntermediateValues()) != 3 {
		t.Fatalf("pruned: %v", pruned)
	}
	if _, err := c.Heartbeat(ctx, tr); !hpo.IsDone(err) {
		t.Fatalf("heartbeat after the end: %v", err)
	}
	f := must(c.Suggest(ctx, name, "w"))
	failed := must(c.ReportFailed(ctx, f, "out of memory"))
	if failed.GetState() != hpov1.Trial_FAILED || failed.GetFailureReason() != "out of memory" {
		t.Fatalf("failed: %v", failed)
	}
}

func TestTrialsAddAndEnqueue(t *testing.T) {
	defer check(t)
	ctx := context.Background()
	c := dial(t, shared.addr())
	name := newName(t)
	must(c.CreateExperiment(ctx, simple(name)))
	added := must(c.AddTrial(ctx, name, map[string]any{"lr": 0.01, "units": 16, "opt": "adam", "batch": 32}, hpo.Metrics{"accuracy": 0.7}))
	if added.GetOrigin() != hpov1.Trial_ADDED {
		t.Fatalf("added: %v", added)
	}
	if _, err := c.AddTrial(ctx, name, map[string]any{"lr": 0.01, "units": 12, "opt": "adam", "batch": 32}, hpo.Metrics{"accuracy": 0.7}); !hpo.IsInvalid(err) {
		t.Fatalf("got %v", err)
	}
	q := must(c.Enqueue(ctx, name, map[string]any{"opt": "sgd", "momentum": 0.9}))
	tr := must(c.Suggest(ctx, name, "w"))
	if tr.Number != q.GetNumber() || tr.String("opt") != "sgd" || tr.Float("momentum") != 0.9 || !tr.Has("lr") {
		t.Fatalf("enqueued trial: %+v", tr.Params)
	}
	must(c.ReportFailed(ctx, tr, "x"))
	for i := 0; i < 3; i++ {
		tr := must(c.Suggest(ctx, name, "w"))
		must(c.Report(ctx, tr, hpo.Metrics{"accuracy": 0.1}))
	}
	all := must(c.Trials(ctx, name))
	if len(all) != 5 {
		t.Fatalf("%d trials", len(all))
	}
	failed := must(c.Trials(ctx, name, hpov1.Trial_FAILED))
	if len(failed) != 1 || failed[0].GetNumber() != 1 {
		t.Fatalf("failed: %v", failed)
	}
}

func TestImportKruizeSpec(t *testing.T) {
	defer check(t)
	ctx := context.Background()
	c := dial(t, shared.addr())
	name := newName(t)
	spec := `{"experiment_name": "x", "total_trials": 4, "parallel_trials": 1,
	  "hpo_algo_impl": "random", "objective_function": "response_time", "direction": "minimize",
	  "tunables": [{"value_type": "integer", "name": "threads", "lower_bound": 1, "upper_bound": 8, "step": 1}]}`
	e := must(c.ImportExperiment(ctx, "kruize", spec, name, nil))
	if e.GetName() != name || e.GetMaxTrials() != 4 || e.GetObjectives()[0].GetGoal() != hpov1.Objective_MINIMIZE {
		t.Fatalf("imported: %v", e)
	}
}

func TestWorkerRunsUntilTheExperimentEnds(t *testing.T) {
	defer check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := dial(t, shared.addr())
	name := newName(t)
	e := simple(name)
	e.MaxTrials, e.ParallelTrials = 10, 2
	// Shorter than a trial: only heartbeats keep the trials.
	e.TrialLease = durationpb.New(600 * time.Millisecond)
	must(c.CreateExperiment(ctx, e))

	var running, most atomic.Int32
	var mu sync.Mutex
	var seen []int32
	w := &hpo.Worker{Client: c, Experiment: name, WorkerID: "bench"}
	ran, err := w.RunParallel(ctx, 4, func(ctx context.Context, tr *hpo.Trial) (hpo.Metrics, error) {
		now := running.Add(1)
		defer running.Add(-1)
		for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
		}
		mu.Lock()
		seen = append(seen, tr.Number)
		mu.Unlock()
		select {
		case <-time.After(900 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		switch tr.Number {
		case 3:
			return nil, errors.New("diverged")
		case 4:
			return hpo.Metrics{"accuracy": 0.1}, fmt.Errorf("told to stop: %w", hpo.ErrPruned)
		}
		return hpo.Metrics{"accuracy": tr.Float("lr")}, nil
	})
	if err != nil || ran != 10 {
		t.Fatalf("ran %d, err %v", ran, err)
	}
	if most.Load() > 2 {
		t.Fatalf("%d trials ran at once, parallel_trials is 2", most.Load())
	}
	sort.Slice(seen, func(i, j int) bool { return seen[i] < seen[j] })
	for i, n := range seen {
		if n != int32(i) {
			t.Fatalf("trials run: %v", seen)
		}
	}
	got := must(c.GetExperiment(ctx, name))
	s := got.GetStatus()
	if got.GetState() != hpov1.Experiment_COMPLETED || s.GetCompleted() != 8 || s.GetFailed() != 1 || s.GetPruned() != 1 {
		t.Fatalf("experiment: %v %v", got.GetState(), s)
	}
	trials := must(c.Trials(ctx, name))
	if trials[3].GetFailureReason() != "diverged" {
		t.Fatalf("trial 3: %v", trials[3])
	}
}

func TestReleaseHandsTheTrialBackToRunAgain(t *testing.T) {
	defer check(t)
	ctx := context.Background()
	c := dial(t, shared.addr())
	name := newName(t)
	must(c.CreateExperiment(ctx, simple(name)))
	tr := must(c.Suggest(ctx, name, "w1"))
	if _, err := c.ReportIntermediate(ctx, tr, 3, hpo.Metrics{"accuracy": 0.4}); err != nil {
		t.Fatal(err)
	}
	other := *tr
	other.WorkerID = "w2"
	if _, err := c.Release(ctx, &other, "not mine"); !hpo.IsDone(err) ||
		!strings.Contains(hpo.Message(err), `leased to worker "w1"`) {
		t.Fatalf("release by another worker: %v", err)
	}
	back := must(c.Release(ctx, tr, "interrupted"))
	if back.GetState() != hpov1.Trial_WAITING || len(back.GetIntermediateValues()) != 0 {
		t.Fatalf("released: %v", back)
	}
	if again := must(c.Release(ctx, tr, "interrupted")); again.GetState() != hpov1.Trial_WAITING {
		t.Fatalf("a retried release: %v", again)
	}

	// The next worker to ask gets the same trial, with the same parameters, before any
	// new one, and runs it from its first step; no failure is counted.
	next := must(c.Suggest(ctx, name, "w2"))
	if next.Number != tr.Number || next.WorkerID != "w2" {
		t.Fatalf("handed out after the release: trial %d to %q, want trial %d", next.Number, next.WorkerID, tr.Number)
	}
	for _, p := range tr.Names() {
		if fmt.Sprint(next.Params[p]) != fmt.Sprint(tr.Params[p]) {
			t.Fatalf("%s: %v, was %v", p, next.Params[p], tr.Params[p])
		}
	}
	if _, err := c.ReportIntermediate(ctx, next, 1, hpo.Metrics{"accuracy": 0.3}); err != nil {
		t.Fatalf("step 1 of the new run: %v", err)
	}
	must(c.Report(ctx, next, hpo.Metrics{"accuracy": 0.9}))
	if s := must(c.GetExperiment(ctx, name)).GetStatus(); s.GetFailed() != 0 || s.GetCompleted() != 1 {
		t.Fatalf("status: %v", s)
	}
	if _, err := c.Release(ctx, next, "too late"); !hpo.IsDone(err) {
		t.Fatalf("release of a finished trial: %v", err)
	}
}

func TestWorkerReleasesItsTrialWhenStopped(t *testing.T) {
	defer check(t)
	c := dial(t, shared.addr())
	name := newName(t)
	e := simple(name)
	e.MaxTrials = 4
	// Far longer than the test: only the release can hand the trial out again in time.
	e.TrialLease = durationpb.New(10 * time.Minute)
	must(c.CreateExperiment(context.Background(), e))
	ctx, cancel := context.WithCancel(context.Background())
	w := &hpo.Worker{Client: c, Experiment: name, WorkerID: "first"}
	var n atomic.Int32
	var interrupted *hpo.Trial
	ran, err := w.Run(ctx, func(ctx context.Context, tr *hpo.Trial) (hpo.Metrics, error) {
		if n.Add(1) == 3 {
			interrupted = tr
			cancel()
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return hpo.Metrics{"accuracy": 1}, nil
	})
	if !errors.Is(err, context.Canceled) || ran != 2 {
		t.Fatalf("ran %d, err %v", ran, err)
	}
	back := must(c.GetTrial(context.Background(), name, interrupted.Number))
	if back.Proto.GetState() != hpov1.Trial_WAITING {
		t.Fatalf("the interrupted trial: %v", back.Proto)
	}

	// Another worker runs it first, with its parameters, and finishes the experiment.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	var order []int32
	second := &hpo.Worker{Client: c, Experiment: name, WorkerID: "second"}
	start := time.Now()
	ran, err = second.Run(ctx2, func(ctx context.Context, tr *hpo.Trial) (hpo.Metrics, error) {
		order = append(order, tr.Number)
		if tr.Number == interrupted.Number && tr.Float("lr") != interrupted.Float("lr") {
			return nil, fmt.Errorf("lr %v, was %v", tr.Float("lr"), interrupted.Float("lr"))
		}
		return hpo.Metrics{"accuracy": 1}, nil
	})
	if err != nil || ran != 2 || len(order) != 2 || order[0] != interrupted.Number {
		t.Fatalf("second worker: ran %d (trials %v), err %v; want trial %d first",
			ran, order, err, interrupted.Number)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the second worker took %v", d)
	}
	got := must(c.GetExperiment(context.Background(), name))
	if s := got.GetStatus(); got.GetState() != hpov1.Experiment_COMPLETED || s.GetCompleted() != 4 || s.GetFailed() != 0 {
		t.Fatalf("experiment: %v %v", got.GetState(), s)
	}
}

func TestRetryRidesOutAServerRestart(t *testing.T) {
	defer check(t)
	s, err := startServer(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.stop() }() // the restarted one, by then
	ctx := context.Background()
	c := dial(t, s.addr())
	name := newName(t)
	must(c.CreateExperiment(ctx, simple(name)))
	first := must(c.Suggest(ctx, name, "w"))
	s.stop()
	restarted := make(chan error, 1)
	go func() {
		time.Sleep(time.Second)
		again, err := startServer(s.dir, s.port)
		if err == nil {
			s = again
		}
		restarted <- err
	}()
	again, err := c.Suggest(ctx, name, "w") // UNAVAILABLE until the server is back
	if rerr := <-restarted; rerr != nil {
		t.Fatal(rerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if again.Number != first.Number {
		t.Fatalf("retry made trial %d, had %d", again.Number, first.Number)
	}
	if trials := must(c.Trials(ctx, name)); len(trials) != 1 {
		t.Fatalf("%d trials", len(trials))
	}
}

func TestTheGeneratedStubWorksDirectly(t *testing.T) {
	defer check(t)
	conn, err := grpc.NewClient(shared.addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stub := hpov1.NewHpoServiceClient(conn)
	page, err := stub.ListExperiments(context.Background(), &hpov1.ListExperimentsRequest{PageSize: 1})
	if err != nil || len(page.GetExperiments()) > 1 {
		t.Fatalf("%v %v", page, err)
	}
	if os.Getenv("HPO_SERVER_BIN") == "" {
		t.Log("server found at the default path")
	}
}
