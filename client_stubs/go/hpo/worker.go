package hpo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Func runs one trial and returns its metrics (every objective's among them). Returning
// an error fails the trial; returning ErrPruned (or an error wrapping it) prunes it, with
// the metrics returned beside it as its last values. ctx is cancelled when the worker is
// (the trial is then released, whatever Func returns, unless it returns ErrPruned) or
// when the trial's lease is lost (nothing is reported).
type Func func(ctx context.Context, t *Trial) (Metrics, error)

// Worker loops suggest -> run a Func -> report until the experiment hands out no more
// trials, heartbeating each trial while its Func runs and waiting while the experiment
// already runs parallel_trials trials (RESOURCE_EXHAUSTED).
type Worker struct {
	Client     *Client
	Experiment string
	// WorkerID identifies the worker to the server; default DefaultWorkerID(). Workers
	// running at once need distinct ids (RunParallel gives each its own).
	WorkerID string
	// HeartbeatInterval between heartbeats; default a third of the experiment's
	// trial_lease.
	HeartbeatInterval time.Duration
	// MaxTrials stops the worker after that many trials; 0 means until the experiment
	// ends.
	MaxTrials int
	// MaxBusyWait caps the wait between asks while RESOURCE_EXHAUSTED; default 1s.
	MaxBusyWait time.Duration
	// OnTrial, if set, is called after each trial is reported, with what Func returned.
	OnTrial func(t *Trial, m Metrics, err error)
}

const defaultLease = 10 * time.Minute

func (w *Worker) interval(ctx context.Context) (time.Duration, error) {
	if w.HeartbeatInterval > 0 {
		return w.HeartbeatInterval, nil
	}
	e, err := w.Client.GetExperiment(ctx, w.Experiment)
	if err != nil {
		return 0, err
	}
	lease := defaultLease
	if e.GetTrialLease() != nil {
		lease = e.GetTrialLease().AsDuration()
	}
	return max(lease/3, 10*time.Millisecond), nil
}

// Run runs trials until the experiment ends (nil error), MaxTrials trials ran, ctx is
// done (ctx's error) or a call fails otherwise. It returns how many trials it ran. A
// trial running when ctx is done is released (Client.Release): it goes back to WAITING
// at once and the next worker to ask, here or anywhere, runs it again from its start.
func (w *Worker) Run(ctx context.Context, fn Func) (int, error) {
	if w.WorkerID == "" {
		w.WorkerID = DefaultWorkerID()
	}
	beat, err := w.interval(ctx)
	if err != nil {
		return 0, err
	}
	maxWait := w.MaxBusyWait
	if maxWait <= 0 {
		maxWait = time.Second
	}
	ran := 0
	wait := 20 * time.Millisecond
	for w.MaxTrials == 0 || ran < w.MaxTrials {
		t, err := w.Client.Suggest(ctx, w.Experiment, w.WorkerID)
		switch {
		case IsBusy(err):
			pause := wait/2 + time.Duration(rand.Int64N(int64(wait/2)+1))
			select {
			case <-ctx.Done():
				return ran, ctx.Err()
			case <-time.After(pause):
			}
			wait = min(2*wait, maxWait)
			continue
		case IsDone(err):
			return ran, nil
		case err != nil:
			if ctx.Err() != nil {
				return ran, ctx.Err()
			}
			return ran, err
		}
		wait = 20 * time.Millisecond
		if err := w.runOne(ctx, t, beat, fn); err != nil {
			return ran, err
		}
		ran++
	}
	return ran, nil
}

// RunParallel runs n workers at once (ids WorkerID-0 ... WorkerID-(n-1)) and returns
// the trials they ran in all and the first error.
func (w *Worker) RunParallel(ctx context.Context, n int, fn Func) (int, error) {
	base := w.WorkerID
	if base == "" {
		base = DefaultWorkerID()
	}
	var (
		mu    sync.Mutex
		total int
		first error
		wg    sync.WaitGroup
	)
	for i := 0; i < n; i++ {
		one := *w
		one.WorkerID = fmt.Sprintf("%s-%d", base, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ran, err := one.Run(ctx, fn)
			mu.Lock()
			defer mu.Unlock()
			total += ran
			if err != nil && first == nil {
				first = err
			}
		}()
	}
	wg.Wait()
	return total, first
}

func (w *Worker) runOne(ctx context.Context, t *Trial, beat time.Duration, fn Func) error {
	trialCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan struct{})
	go func() { // heartbeats until fn returns
		ticker := time.NewTicker(beat)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-trialCtx.Done():
				return
			case <-ticker.C:
				_, err := w.Client.Heartbeat(trialCtx, t)
				if c := status.Code(err); c == codes.FailedPrecondition || c == codes.NotFound {
					cancel(fmt.Errorf("trial %d: lease lost: %w", t.Number, err))
					return
				}
			}
		}
	}()
	m, runErr := fn(trialCtx, t)
	close(done)
	leaseErr := context.Cause(trialCtx)
	if ctx.Err() == nil && leaseErr != nil && !errors.Is(leaseErr, context.Canceled) {
		// Another worker holds the trial now; nothing to report.
		if w.OnTrial != nil {
			w.OnTrial(t, m, leaseErr)
		}
		return nil
	}

	if ctx.Err() != nil && !errors.Is(runErr, ErrPruned) {
		// The worker was stopped, not the trial: hand it back to run again (WAITING at
		// once, no failure counted) rather than leave it to its lease. ctx is done, so
		// with a fresh, short context; if the server cannot be reached, the lease
		// expiry hands the trial out again.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer rcancel()
		_, _ = w.Client.Release(rctx, t, "the worker stopped: "+ctx.Err().Error())
		if w.OnTrial != nil {
			w.OnTrial(t, m, runErr)
		}
		return ctx.Err()
	}

	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer rcancel()
	var err error
	switch {
	case runErr != nil && errors.Is(runErr, ErrPruned):
		_, err = w.Client.ReportPruned(rctx, t, m)
	case runErr != nil:
		_, err = w.Client.ReportFailed(rctx, t, runErr.Error())
	default:
		_, err = w.Client.Report(rctx, t, m)
		if IsInvalid(err) { // e.g. a missing objective or a NaN: the trial failed
			_, err = w.Client.ReportFailed(rctx, t, "result refused: "+Message(err))
		}
	}
	if w.OnTrial != nil {
		w.OnTrial(t, m, runErr)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil && !IsDone(err) {
		return fmt.Errorf("trial %d: report: %w", t.Number, err)
	}
	return nil
}
