// Command load measures the hpo service core under load: how many suggest+report pairs
// a server completes per second, and how long each call takes, as workers and
// experiments grow; how much memory a big server holds and how long it takes to restart.
//
//	go run . -server ../../bazel-bin/server/hpo-server
//	go run . -server OLD -label before -compare NEW -compare_label after -repeat 3
//	go run . -addr localhost:50051 -workers 64 -experiments 1 -algorithms random
//	go run . -server BIN -grid=false -fill_experiments 10000 -fill_trials 100
//	go run . -smoke -server BIN
//
// A worker is a goroutine with a worker_id of its own that loops GetTrialConfig then
// ReportResult with a loss computed from the trial's parameters: a pair. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"

	"github.com/hpo-dev/hpo/client_stubs/go/hpo"
)

// runID makes this run's experiment names unique (see newName).
var runID = fmt.Sprintf("%06x", rand.Uint32()>>8)

type config struct {
	server, db, addr, serverArgs, label      string
	compareServerArgs                        string
	token, tlsCA, tlsCert, tlsKey            string
	compare, compareLabel                    string
	grid, gridAfterFill, smoke               bool
	workers, tpeWorkers, experiments, algos  string
	duration, warmup                         time.Duration
	tpeHistory, conns, repeat                int
	fillExperiments, fillTrials, fillWorkers int
	fillMode                                 string
	restart                                  bool
	jsonPath, cpuProfile                     string
}

func parseFlags() *config {
	c := &config{}
	flag.StringVar(&c.server, "server", "", "hpo-server binary to start and measure (a temporary database unless -db)")
	flag.StringVar(&c.db, "db", "", "with -server: the database to use (kept afterwards)")
	flag.StringVar(&c.addr, "addr", "", "host:port of a running server instead of -server (no memory, CPU or restart figures)")
	flag.StringVar(&c.serverArgs, "server_args", "", "extra flags for the server(s), space-separated")
	flag.StringVar(&c.compareServerArgs, "compare_server_args", "", "extra flags for -compare only, after -server_args (e.g. TLS and tokens, to measure their cost)")
	flag.StringVar(&c.label, "label", "A", "name of -server (or -addr) in the tables")
	flag.StringVar(&c.token, "token", os.Getenv(hpo.EnvToken), "bearer token for every call, an admin's (default $HPO_TOKEN)")
	flag.StringVar(&c.tlsCA, "tls_ca", os.Getenv(hpo.EnvTLSCA), "PEM CA of the server's certificate; turns TLS on (default $HPO_TLS_CA)")
	flag.StringVar(&c.tlsCert, "tls_cert", os.Getenv(hpo.EnvTLSCert), "client certificate (PEM) for a server with --tls_client_ca (default $HPO_TLS_CERT)")
	flag.StringVar(&c.tlsKey, "tls_key", os.Getenv(hpo.EnvTLSKey), "its private key (default $HPO_TLS_KEY)")
	flag.StringVar(&c.compare, "compare", "", "a second server binary, measured alternately with -server, cell by cell")
	flag.StringVar(&c.compareLabel, "compare_label", "B", "name of -compare in the tables")
	flag.BoolVar(&c.grid, "grid", true, "measure the grid of cells")
	flag.StringVar(&c.workers, "workers", "1,8,64,256", "concurrent workers, comma-separated")
	flag.StringVar(&c.tpeWorkers, "tpe_workers", "", "workers for the tpe cells (default: -workers)")
	flag.StringVar(&c.experiments, "experiments", "1,64", "experiments the workers are spread over")
	flag.StringVar(&c.algos, "algorithms", "random,tpe", "algorithms (any the server knows)")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "measured time per cell")
	flag.DurationVar(&c.warmup, "warmup", 2*time.Second, "unmeasured time before it")
	flag.IntVar(&c.tpeHistory, "tpe_history", 1000, "completed trials added (AddTrial) to each tpe experiment before measuring")
	flag.IntVar(&c.conns, "conns", 8, "gRPC connections per cell, at most one per worker (see workload.go)")
	flag.IntVar(&c.repeat, "repeat", 1, "measure each cell this many times; the tables show the median and range")
	flag.IntVar(&c.fillExperiments, "fill_experiments", 0, "fill phase: create this many experiments (0: no fill)")
	flag.IntVar(&c.fillTrials, "fill_trials", 100, "fill phase: completed trials per experiment")
	flag.StringVar(&c.fillMode, "fill_mode", "pairs", "fill phase: pairs (GetTrialConfig+ReportResult) or add (AddTrial)")
	flag.IntVar(&c.fillWorkers, "fill_concurrency", 64, "fill phase: experiments filled at once")
	flag.BoolVar(&c.restart, "restart", true, "fill phase: restart the server afterwards and time it")
	flag.BoolVar(&c.gridAfterFill, "grid_after_fill", false, "measure the grid again on the filled, restarted server")
	flag.StringVar(&c.jsonPath, "json", "", "also write the results to this JSON file")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write the driver's own CPU profile here (is the client the bottleneck?)")
	flag.BoolVar(&c.smoke, "smoke", false, "a few seconds' check of everything, for CI: exits non-zero on any failure")
	flag.Parse()
	if c.smoke {
		c.smokeDefaults()
	}
	return c
}

// smokeDefaults shrinks the run to seconds; flags given explicitly still win.
func (c *config) smokeDefaults() {
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	defaults := map[string]string{
		"workers": "1,8", "tpe_workers": "", "experiments": "1,2", "algorithms": "random,tpe",
		"tpe_history": "20", "duration": "250ms", "warmup": "50ms", "repeat": "1",
		"fill_experiments": "20", "fill_trials": "5", "restart": "true", "grid": "true",
	}
	for name, value := range defaults {
		if !set[name] {
			flag.Set(name, value)
		}
	}
}

func parseInts(s string) ([]int, error) {
	var xs []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		x, err := strconv.Atoi(f)
		if err != nil || x < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		xs = append(xs, x)
	}
	return xs, nil
}

// cells lists the grid, in the order the tables show it.
func (c *config) cells() ([]Cell, error) {
	workers, err := parseInts(c.workers)
	if err != nil {
		return nil, fmt.Errorf("-workers: %w", err)
	}
	tpeWorkers := workers
	if c.tpeWorkers != "" {
		if tpeWorkers, err = parseInts(c.tpeWorkers); err != nil {
			return nil, fmt.Errorf("-tpe_workers: %w", err)
		}
	}
	experiments, err := parseInts(c.experiments)
	if err != nil {
		return nil, fmt.Errorf("-experiments: %w", err)
	}
	var cells []Cell
	for _, algo := range strings.Split(c.algos, ",") {
		if algo = strings.TrimSpace(algo); algo == "" {
			continue
		}
		ws, history := workers, 0
		if algo == "tpe" {
			ws, history = tpeWorkers, c.tpeHistory
		}
		for _, e := range experiments {
			for _, w := range ws {
				cells = append(cells, Cell{Workers: w, Experiments: e, Algorithm: algo, History: history})
			}
		}
	}
	return cells, nil
}

func main() {
	c := parseFlags()
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "load: -cpuprofile: %v\n", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile() // os.Exit skips it: only a successful run is profiled
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	servers, err := c.servers()
	for _, s := range servers {
		if err == nil {
			s.Dial, err = c.securityOptions(s)
		}
	}
	if err == nil {
		err = run(ctx, c, servers)
	}
	stop()
	for _, s := range servers {
		if _, serr := s.Stop(); serr != nil {
			err = errors.Join(err, serr)
		}
		if s.Dir != "" {
			os.RemoveAll(s.Dir)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "load: %v\n", err)
		if c.smoke {
			fmt.Fprintln(os.Stderr, "load smoke: FAILED")
		}
		os.Exit(1)
	}
	if c.smoke {
		fmt.Println("load smoke: OK")
	}
}

// servers describes the servers under test, A and perhaps B; none is started yet.
func (c *config) servers() ([]*Server, error) {
	switch {
	case c.server == "" && c.addr == "":
		return nil, errors.New("give -server BINARY (or -addr HOST:PORT)")
	case c.server != "" && c.addr != "":
		return nil, errors.New("-server and -addr exclude each other")
	case c.compare != "" && c.server == "":
		return nil, errors.New("-compare needs -server")
	case c.compare != "" && c.db != "":
		return nil, errors.New("-compare runs each server on a database of its own: drop -db")
	case c.fillMode != "pairs" && c.fillMode != "add":
		return nil, fmt.Errorf("-fill_mode %q: pairs or add", c.fillMode)
	}
	if c.addr != "" {
		return []*Server{{Label: c.label, Addr: c.addr, Remote: true}}, nil
	}
	var servers []*Server
	bins := []string{c.server, c.compare}
	for i, label := range []string{c.label, c.compareLabel} {
		if bins[i] == "" {
			continue
		}
		bin, err := filepath.Abs(bins[i])
		if err != nil {
			return servers, err
		}
		dir, err := os.MkdirTemp("", "hpo-load-")
		if err != nil {
			return servers, err
		}
		args := strings.Fields(c.serverArgs)
		if i == 1 {
			args = append(args, strings.Fields(c.compareServerArgs)...)
		}
		s := &Server{Label: label, Bin: bin, Args: args, Dir: dir, DB: c.db}
		if s.DB == "" {
			s.DB = filepath.Join(dir, "hpo.db")
		}
		servers = append(servers, s)
	}
	if len(servers) == 2 && servers[0].Label == servers[1].Label {
		return servers, errors.New("-label and -compare_label must differ")
	}
	return servers, nil
}

// securityOptions are the dial options of -tls_ca, -tls_cert, -tls_key and -token for
// one server: all of them for -addr; for a server started here, TLS if its flags have
// --tls_cert and the token if they have --auth_tokens, so that a plaintext server and
// a secured one can be compared in one run (-compare_server_args). A server whose
// flags ask for TLS or tokens without the matching client flags is refused now, rather
// than with a handshake error or UNAUTHENTICATED later. With -server the driver
// connects to 127.0.0.1: the server's certificate must name it.
func (c *config) securityOptions(s *Server) ([]grpc.DialOption, error) {
	has := func(flag string) bool {
		if s.Remote {
			return true
		}
		for _, f := range s.Args {
			if name, _, _ := strings.Cut(strings.TrimLeft(f, "-"), "="); name == flag {
				return true
			}
		}
		return false
	}
	if !s.Remote {
		switch {
		case has("tls_cert") && c.tlsCA == "" && c.tlsCert == "":
			return nil, fmt.Errorf("%s's flags have --tls_cert: give -tls_ca, the CA that signed it", s.Label)
		case has("tls_client_ca") && c.tlsCert == "":
			return nil, fmt.Errorf("%s's flags have --tls_client_ca: give -tls_cert and -tls_key, a client certificate it signed", s.Label)
		case has("auth_tokens") && c.token == "":
			return nil, fmt.Errorf("%s's flags have --auth_tokens: give -token, an admin's (the driver creates experiments)", s.Label)
		}
	}
	var opts []grpc.DialOption
	if has("tls_cert") && (c.tlsCA != "" || c.tlsCert != "" || c.tlsKey != "") {
		tls, err := hpo.WithTLS(c.tlsCA, c.tlsCert, c.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("-tls_ca, -tls_cert, -tls_key: %w", err)
		}
		opts = append(opts, tls)
	}
	if has("auth_tokens") && c.token != "" {
		opts = append(opts, hpo.WithToken(c.token))
	}
	return opts, nil
}

func run(ctx context.Context, c *config, servers []*Server) error {
	cells, err := c.cells()
	if err != nil {
		return err
	}
	rep := &Report{
		Command: "load " + strings.Join(os.Args[1:], " "),
		Machine: machine() + "; " + diskSync(os.TempDir(), 200),
		Window:  fmt.Sprintf("%v warm-up + %v measured", c.warmup, c.duration),
	}
	for _, s := range servers {
		rep.Servers = append(rep.Servers, s.Label)
		if err := s.Start(ctx); err != nil {
			return err
		}
		if s.Managed() {
			logf("%s: %s on %s, database %s", s.Label, s.Bin, s.Addr, s.DB)
		}
	}
	window := Window{Warmup: c.warmup, Duration: c.duration}

	if c.grid {
		if rep.Grid, err = grid(ctx, servers, cells, window, c); err != nil {
			return err
		}
	}
	if c.fillExperiments > 0 {
		for _, s := range servers {
			logf("%s: fill, %d experiments × %d trials (%s)", s.Label, c.fillExperiments, c.fillTrials, c.fillMode)
			f, err := fill(ctx, s, FillOptions{
				Experiments: c.fillExperiments, Trials: c.fillTrials, Mode: c.fillMode,
				Concurrency: c.fillWorkers, Conns: c.conns, Restart: c.restart,
			})
			if err != nil {
				if alive := s.Alive(200 * time.Millisecond); alive != nil {
					err = fmt.Errorf("%w\n%w", err, alive)
				}
				return fmt.Errorf("%s: fill: %w", s.Label, err)
			}
			logf("%s: filled in %.3g s (%.0f trials/s); restart to GetExperiment OK %.3g s", s.Label, f.Seconds, f.TrialsPerSec, f.StartupSecs)
			rep.Fill = append(rep.Fill, f)
		}
		if c.gridAfterFill {
			if rep.AfterFill, err = grid(ctx, servers, cells, window, c); err != nil {
				return err
			}
		}
	}

	rep.writeMarkdown(os.Stdout, c.repeat)
	if c.jsonPath != "" {
		if err := rep.writeJSON(c.jsonPath); err != nil {
			return err
		}
	}
	if c.smoke {
		return smokeCheck(rep, c)
	}
	return nil
}

// grid measures every cell on every server, c.repeat times. The servers take turns
// cell by cell, so that a drift of the machine (another job, thermal throttling) lands
// on both rather than on whichever ran later.
func grid(ctx context.Context, servers []*Server, cells []Cell, w Window, c *config) ([]CellResult, error) {
	runs := make([][][]Run, len(cells))
	for i, cell := range cells {
		runs[i] = make([][]Run, len(servers))
		for r := range c.repeat {
			for j, s := range servers {
				run, err := runCell(ctx, s, cell, w, c.conns, r)
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", s.Label, cell, err)
				}
				logf("%s: %s: %.0f pairs/s, suggest p50 %.3f ms p99 %.3f ms, report p50 %.3f ms p99 %.3f ms, cores client %.2f server %.2f",
					s.Label, cell, run.PairsPerSec, run.Suggest.P50, run.Suggest.P99, run.Report.P50, run.Report.P99,
					run.ClientCores, run.ServerCores)
				runs[i][j] = append(runs[i][j], run)
			}
		}
	}
	var results []CellResult
	for j, s := range servers {
		for i, cell := range cells {
			results = append(results, summarize(s.Label, cell, runs[i][j]))
		}
	}
	return results, nil
}

// smokeCheck fails the smoke run unless every cell completed pairs and the fill (checked
// in fill itself) survived the restart.
func smokeCheck(rep *Report, c *config) error {
	for _, cr := range rep.Grid {
		for _, r := range cr.Runs {
			if r.Pairs == 0 {
				return fmt.Errorf("%s: %s: no pair completed", cr.Server, cr.Cell)
			}
		}
	}
	if len(rep.Grid) == 0 {
		return errors.New("no cell was measured")
	}
	for _, f := range rep.Fill {
		if c.addr == "" && c.restart && !f.Restarted {
			return fmt.Errorf("%s: the server was not restarted", f.Server)
		}
	}
	if len(rep.Fill) == 0 {
		return errors.New("no fill phase")
	}
	return nil
}

// machine describes where the figures come from: CPU, cores, memory, kernel.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("%d × %s%s, Linux %s, %s", runtime.NumCPU(), cpu, mem,
		strings.TrimSpace(string(kernel)), runtime.Version())
}
