// Package hpo is a thin Go client for the hpo hyperparameter-optimization service,
// over the generated gRPC stub in package hpov1.
//
//	c, err := hpo.Dial("localhost:50051")
//	exp, err := c.CreateExperiment(ctx, &hpov1.Experiment{
//		Name: "bench",
//		Parameters: []*hpov1.Parameter{
//			hpo.LogUniform("lr", 1e-5, 1e-1),
//			hpo.IntRange("threads", 1, 8),
//			hpo.Choice("gc", "G1", "Parallel"),
//		},
//		Objectives: []*hpov1.Objective{hpo.Minimize("latency_ms")},
//		MaxTrials:  20,
//	})
//	w := &hpo.Worker{Client: c, Experiment: "bench"}
//	n, err := w.Run(ctx, func(ctx context.Context, t *hpo.Trial) (hpo.Metrics, error) {
//		return hpo.Metrics{"latency_ms": run(t.Int("threads"), t.String("gc"))}, nil
//	})
//
// Calls that are safe to repeat (all but AddTrial and EnqueueTrial) are retried on
// UNAVAILABLE until the context ends or the client's RetryTimeout passes. Suggest is one
// of them: the server answers a worker that asks again while its trial runs with that
// same trial, so a retry never makes a second trial. Refusals (UNAUTHENTICATED,
// PERMISSION_DENIED) and failed TLS handshakes are not retried.
//
// A server started with --auth_tokens wants a bearer token (WithToken), one with
// --tls_cert speaks TLS (WithTLS), and with --tls_client_ca also wants a client
// certificate (WithTLS's certFile and keyFile). DialOptionsFromEnv takes all of these
// from $HPO_TOKEN, $HPO_TLS_CA, $HPO_TLS_CERT and $HPO_TLS_KEY.
package hpo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/hpo-dev/hpo/client_stubs/go/hpov1"
)

// Metrics are a trial's reported values by metric name.
type Metrics map[string]float64

// Client calls one hpo server. It is safe for concurrent use.
type Client struct {
	// RPC is the generated stub, for anything this package does not cover.
	RPC hpov1.HpoServiceClient
	// RetryTimeout bounds how long a call keeps retrying UNAVAILABLE (0: never retry).
	RetryTimeout time.Duration
	conn         *grpc.ClientConn
}

// Dial connects to the server at target ("host:port"), plaintext unless opts set
// transport credentials (WithTLS, DialOptionsFromEnv, grpc.WithTransportCredentials).
// The connection is made lazily, on the first call.
//
//	c, err := hpo.Dial("localhost:50051")                          // plaintext
//	c, err := hpo.Dial("localhost:50051", hpo.WithToken(token))    // plaintext + token
//	tls, err := hpo.WithTLS("ca.pem", "client.pem", "client.key")  // mutual TLS
//	c, err := hpo.Dial("hpo.example.org:50051", tls, hpo.WithToken(token))
//	opts, err := hpo.DialOptionsFromEnv()                          // $HPO_TOKEN, $HPO_TLS_*
//	c, err := hpo.Dial("hpo.example.org:50051", opts...)
func Dial(target string, opts ...grpc.DialOption) (*Client, error) {
	// Plaintext by default; transport credentials in opts come later and win.
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, err
	}
	c := NewClient(conn)
	c.conn = conn
	return c, nil
}

// NewClient makes a client over an existing connection (which it does not close).
func NewClient(conn grpc.ClientConnInterface) *Client {
	return &Client{RPC: hpov1.NewHpoServiceClient(conn), RetryTimeout: 30 * time.Second}
}

// Close closes the connection Dial opened.
func (c *Client) Close() error {
	if c.conn == nil {
		return nil
	}
	return c.conn.Close()
}

// call runs f, retrying UNAVAILABLE with backoff; it returns the number of attempts.
// A failed TLS handshake is UNAVAILABLE too, but a setting to fix: not retried.
func (c *Client) call(ctx context.Context, retry bool, f func(context.Context) error) (int, error) {
	deadline := time.Now().Add(c.RetryTimeout)
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := f(ctx)
		if err == nil || !retry || status.Code(err) != codes.Unavailable || handshakeFailed(err) {
			return attempt, err
		}
		pause := backoff/2 + time.Duration(rand.Int64N(int64(backoff/2)+1))
		if time.Now().Add(pause).After(deadline) {
			return attempt, err
		}
		select {
		case <-ctx.Done():
			return attempt, err
		case <-time.After(pause):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// DefaultWorkerID is this process's worker id: host-pid.
func DefaultWorkerID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// ---------------------------------------------------------------------------------------
// Experiments

// CreateExperiment creates an experiment and returns it as stored (defaults filled in).
// A retry that finds the experiment already there returns it.
func (c *Client) CreateExperiment(ctx context.Context, e *hpov1.Experiment) (*hpov1.Experiment, error) {
	return c.create(ctx, &hpov1.CreateExperimentRequest{Experiment: e}, e.GetName())
}

// ImportExperiment creates an experiment from a spec written for another system:
// format "katib", "nni" or "kruize", content its JSON or YAML. Set fields of override
// (may be nil) take precedence over the spec's; name, if set, names the experiment.
func (c *Client) ImportExperiment(ctx context.Context, format, content, name string, override *hpov1.Experiment) (*hpov1.Experiment, error) {
	req := &hpov1.CreateExperimentRequest{
		Experiment: override,
		ImportSpec: &hpov1.ImportSpec{Format: format, Content: content, Name: name},
	}
	return c.create(ctx, req, name)
}

func (c *Client) create(ctx context.Context, req *hpov1.CreateExperimentRequest, name string) (*hpov1.Experiment, error) {
	var out *hpov1.Experiment
	attempts, err := c.call(ctx, true, func(ctx context.Context) (err error) {
		out, err = c.RPC.CreateExperiment(ctx, req)
		return err
	})
	if err != nil && attempts > 1 && name != "" && status.Code(err) == codes.AlreadyExists {
		return c.GetExperiment(ctx, name) // the first attempt went through
	}
	return out, err
}

// GetExperiment returns an experiment's spec, state and counts.
func (c *Client) GetExperiment(ctx context.Context, name string) (*hpov1.Experiment, error) {
	var out *hpov1.Experiment
	_, err := c.call(ctx, true, func(ctx context.Context) (err error) {
		out, err = c.RPC.GetExperiment(ctx, &hpov1.GetExperimentRequest{Name: name})
		return err
	})
	return out, err
}

// Stop stops an experiment handing out trials (resumable); running trials may report.
func (c *Client) Stop(ctx context.Context, name, reason string) (*hpov1.Experiment, error) {
	var out *hpov1.Experiment
	_, err := c.call(ctx, true, func(ctx context.Context) (err error) {
		out, err = c.RPC.StopExperiment(ctx, &hpov1.StopExperimentRequest{Name: name, Reason: reason})
		return err
	})
	return out, err
}

// Resume resumes a STOPPED experiment.
func (c *Client) Resume(ctx context.Context, name string) (*hpov1.Experiment, error) {
	var out *hpov1.Experiment
	_, err := c.call(ctx, true, func(ctx context.Context) (err error) {
		out, err = c.RPC.ResumeExperiment(ctx, &hpov1.ResumeExperimentRequest{Name: name})
		return err
	})
	return out, err
}

// Delete deletes an experiment and its trials.
func (c *Client) Delete(ctx context.Context, name string) error {
	attempts, err := c.call(ctx, true, func(ctx context.Context) error {
		_, err := c.RPC.DeleteExperiment(ctx, &hpov1.DeleteExperimentRequest{Name: name})
		return err
	})
	if attempts > 1 && status.Code(err) == codes.NotFound {
		return nil // the first attempt deleted it
	}
	return err
}

// ---------------------------------------------------------------------------------------
// Trials

// Trial is a trial with its parameters as Go values: float64 for numbers (use Int for
// integer parameters), string for categorical ones.
type Trial struct {
	Experiment string
	Number     int32
	WorkerID   string
	Params     map[string]any
	// Proto is the trial as the server sent it.
	Proto *hpov1.Trial
}

func newTrial(t *hpov1.Trial) *Trial {
	params := make(map[string]any, len(t.GetParameters()))
	for k, v := range t.GetParameters() {
		params[k] = v.AsInterface()
	}
	return &Trial{Experiment: t.GetExperiment(), Number: t.GetNumber(), WorkerID: t.GetWorkerId(), Params: params, Proto: t}
}

// Has reports whether the trial has the parameter (conditional ones may be absent).
func (t *Trial) Has(name string) bool { _, ok := t.Params[name]; return ok }

// Float returns a numeric parameter (0 if absent or not a number).
func (t *Trial) Float(name string) float64 { v, _ := t.Params[name].(float64); return v }

// Int returns an integer parameter (int_range, or a discrete one of whole numbers).
func (t *Trial) Int(name string) int64 { v, _ := t.Params[name].(float64); return int64(v) }

// String returns a categorical parameter ("" if absent).
func (t *Trial) String(name string) string { v, _ := t.Params[name].(string); return v }

// Names returns the trial's parameter names, sorted.
func (t *Trial) Names() []string {
	names := make([]string, 0, len(t.Params))
	for k := range t.Params {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Suggest returns the next trial of an experiment, RUNNING and leased to workerID.
// A worker that asks again before reporting gets the same trial. Errors: codes
// ResourceExhausted while parallel_trials run (see IsBusy), FailedPrecondition once the
// experiment hands out no more (see IsDone).
func (c *Client) Suggest(ctx context.Context, experiment, workerID string) (*Trial, error) {
	var out *hpov1.Trial
	_, err := c.call(ctx, true, func(ctx context.Context) (err error) {
		out, err = c.RPC.GetTrialConfig(ctx, &hpov1.GetTrialConfigRequest{Experiment: experiment, WorkerId: workerID})
		return err
	})
	if err != nil {
		return nil, err
	}
	return newTrial(out), nil
}

// GetTrial returns trial number of an experiment as stored.
func (c *Client) GetTrial(ctx context.Context, experiment string, number int32) (*Trial, error) {
	var out *hpov1.Trial
	_, err := c.call(ctx, true, func(ctx context.Context) (err error) {
		out, err = c.RPC.GetTrialConfig(ctx, &hpov1.GetTrialConfigRequest{Experiment: experiment, Trial: &number})
		return err
	})
	if err != nil {
		return nil, err
	}
	return newTrial(out), nil
}

func (c *Client) report(ctx context.Context, req *hpov1.ReportResultRequest) (*hpov1.Trial, error) {
	var out *hpov1.Trial
	_, err := c.call(ctx, true, func(ctx context.Context) (err error) {
		out, err = c.RPC.ReportResult(ctx, req)
		return err
	})
	return out, err
}

// Report completes a trial with its metrics (every objective's among them). Repeating
// an identical report is harmless.
func (c *Client) Report(ctx context.Context, t *Trial, m Metrics) (*hpov1.Trial, error) {
	return c.report(ctx, &hpov1.ReportResultRequest{Experiment: t.Experiment, Trial: t.Number, WorkerId: t.WorkerID, Metrics: m})
}

// ReportFailed ends a trial FAILED, with a reason for a person to read.
func (c *Client) ReportFailed(ctx context.Context, t *Trial, reason string) (*hpov1.Trial, error) {
	return c.report(ctx, &hpov1.ReportResultRequest{Experiment: t.Experiment, Trial: t.Number, WorkerId: t.WorkerID, Failed: true, FailureReason: reason})
}

// ReportPruned ends a trial PRUNED (stopped early), with its last metrics (may be nil).
func (c *Client) ReportPruned(ctx context.Context, t *Trial, last Metrics) (*hpov1.Trial, error) {
	return c.report(ctx, &hpov1.ReportResultRequest{Experiment: t.Experiment, Trial: t.Number, WorkerId: t.WorkerID, Pruned: true, Metrics: last})
}

// ReportIntermediate records a running trial's metrics at step and returns whether the
// experiment's early-stopping rule says to stop it now (then ReportPruned).
func (c *Client) ReportIntermediate(ctx context.Context, t *Trial, step int32, m Metrics) (bool, error) {
	var out *hpov1.ReportIntermediateResponse
	_, err := c.call(ctx, true, func(ctx context.Context) (err error) {
		out, err = c.RPC.ReportIntermediate(ctx, &hpov1.ReportIntermediateRequest{
			Experiment: t.Experiment, Trial: t.Number, Step: step, Metrics: m, WorkerId: t.WorkerID,
		})
		return err
	})
	if err != nil {
		return false, err
	}
	return out.GetShouldStop(), nil
}

// Heartbeat extends a running trial's lease.
func (c *Client) Heartbeat(ctx context.Context, t *Trial) (*hpov1.Trial, error) {
	var out *hpov1.Trial
	_, err := c.call(ctx, true, func(ctx context.Context) (err error) {
		out, err = c.RPC.Heartbeat(ctx, &hpov1.HeartbeatRequest{Experiment: t.Experiment, Trial: t.Number, WorkerId: t.WorkerID})
		return err
	})
	return out, err
}

// Release hands a running trial back unfinished, for a worker that is interrupted: the
// trial goes back to WAITING at once with the same parameters, the intermediate values
// of the abandoned run are dropped, it is handed out again before any new trial, and no
// failure is counted. Releasing a trial this worker already released is harmless; a
// finished trial, or one leased to another worker, is FAILED_PRECONDITION (IsDone).
func (c *Client) Release(ctx context.Context, t *Trial, reason string) (*hpov1.Trial, error) {
	var out *hpov1.Trial
	_, err := c.call(ctx, true, func(ctx context.Context) (err error) {
		out, err = c.RPC.ReleaseTrial(ctx, &hpov1.ReleaseTrialRequest{
			Experiment: t.Experiment, Trial: t.Number, WorkerId: t.WorkerID, Reason: reason,
		})
		return err
	})
	return out, err
}

// Best returns the best completed trial, or the Pareto front for several objectives;
// empty while none has completed.
func (c *Client) Best(ctx context.Context, experiment string) ([]*hpov1.Trial, error) {
	var out *hpov1.GetBestResponse
	_, err := c.call(ctx, true, func(ctx context.Context) (err error) {
		out, err = c.RPC.GetBest(ctx, &hpov1.GetBestRequest{Experiment: experiment})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out.GetTrials(), nil
}

// Trials returns all of an experiment's trials in number order (every page), only those
// in states when any are given.
func (c *Client) Trials(ctx context.Context, experiment string, states ...hpov1.Trial_State) ([]*hpov1.Trial, error) {
	var all []*hpov1.Trial
	token := ""
	for {
		var page *hpov1.ListTrialsResponse
		_, err := c.call(ctx, true, func(ctx context.Context) (err error) {
			page, err = c.RPC.ListTrials(ctx, &hpov1.ListTrialsRequest{
				Experiment: experiment, PageToken: token, PageSize: 500, States: states,
			})
			return err
		})
		if err != nil {
			return nil, err
		}
		all = append(all, page.GetTrials()...)
		if token = page.GetNextPageToken(); token == "" {
			return all, nil
		}
	}
}

// AddTrial records a configuration evaluated elsewhere with its metrics (warm start).
// Not retried: a retry could record it twice.
func (c *Client) AddTrial(ctx context.Context, experiment string, params map[string]any, m Metrics) (*hpov1.Trial, error) {
	values, err := toValues(params)
	if err != nil {
		return nil, err
	}
	return c.RPC.AddTrial(ctx, &hpov1.AddTrialRequest{Experiment: experiment, Parameters: values, Metrics: m})
}

// Enqueue queues a configuration (some or all parameters) to be handed out first.
// Not retried.
func (c *Client) Enqueue(ctx context.Context, experiment string, params map[string]any) (*hpov1.Trial, error) {
	values, err := toValues(params)
	if err != nil {
		return nil, err
	}
	return c.RPC.EnqueueTrial(ctx, &hpov1.EnqueueTrialRequest{Experiment: experiment, Parameters: values})
}

func toValues(params map[string]any) (map[string]*structpb.Value, error) {
	out := make(map[string]*structpb.Value, len(params))
	for k, v := range params {
		var value *structpb.Value
		switch x := v.(type) {
		case string:
			value = structpb.NewStringValue(x)
		case float64:
			value = structpb.NewNumberValue(x)
		case float32:
			value = structpb.NewNumberValue(float64(x))
		case int:
			value = structpb.NewNumberValue(float64(x))
		case int32:
			value = structpb.NewNumberValue(float64(x))
		case int64:
			value = structpb.NewNumberValue(float64(x))
		default:
			return nil, fmt.Errorf("parameters[%q]: want a number or a string, got %T", k, v)
		}
		out[k] = value
	}
	return out, nil
}

// ---------------------------------------------------------------------------------------
// Errors

// Code is the gRPC status code of err (codes.OK for nil, codes.Unknown for non-gRPC).
func Code(err error) codes.Code { return status.Code(err) }

// Message is the server's message in err.
func Message(err error) string {
	if s, ok := status.FromError(err); ok {
		return s.Message()
	}
	return err.Error()
}

// IsNotFound reports a missing experiment or trial.
func IsNotFound(err error) bool { return status.Code(err) == codes.NotFound }

// IsInvalid reports bad input (INVALID_ARGUMENT); the message names the field.
func IsInvalid(err error) bool { return status.Code(err) == codes.InvalidArgument }

// IsAlreadyExists reports an experiment name already taken.
func IsAlreadyExists(err error) bool { return status.Code(err) == codes.AlreadyExists }

// IsBusy reports RESOURCE_EXHAUSTED: parallel_trials already run; try after a report.
func IsBusy(err error) bool { return status.Code(err) == codes.ResourceExhausted }

// IsDone reports FAILED_PRECONDITION from Suggest: the experiment hands out no more
// trials (stopped, completed, failed, timed out, or all max_trials allocated).
func IsDone(err error) bool { return status.Code(err) == codes.FailedPrecondition }

// ErrPruned, returned (or wrapped) by a Worker's function, ends the trial PRUNED.
var ErrPruned = errors.New("hpo: trial pruned")
