package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
)

// Latency of one RPC over a window, in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Run is one measurement of one cell on one server.
type Run struct {
	Pairs       float64 `json:"pairs"` // completed in the window; a float so Summary can take medians
	PairsPerSec float64 `json:"pairs_per_s"`
	Suggest     Latency `json:"suggest_ms"`
	Report      Latency `json:"report_ms"`
	// CPU seconds used per second of the window: about 1 means one core busy.
	ClientCores float64 `json:"client_cores"`
	ServerCores float64 `json:"server_cores,omitempty"` // only for a server this program runs
}

// figures lists a Run's numbers, so that summaries treat them all alike.
func (r *Run) figures() []*float64 {
	return []*float64{&r.Pairs, &r.PairsPerSec,
		&r.Suggest.P50, &r.Suggest.P99, &r.Suggest.Max,
		&r.Report.P50, &r.Report.P99, &r.Report.Max,
		&r.ClientCores, &r.ServerCores}
}

// CellResult is every repetition of a cell on a server, and their summary: each figure's
// median, minimum and maximum, taken separately.
type CellResult struct {
	Server string `json:"server"`
	Cell
	Median Run   `json:"median"`
	Min    Run   `json:"min"`
	Max    Run   `json:"max"`
	Runs   []Run `json:"runs"`
}

func summarize(server string, cell Cell, runs []Run) CellResult {
	c := CellResult{Server: server, Cell: cell, Runs: runs}
	med, lo, hi := c.Median.figures(), c.Min.figures(), c.Max.figures()
	for i := range med {
		var xs []float64
		for _, r := range runs {
			xs = append(xs, *r.figures()[i])
		}
		slices.Sort(xs)
		n := len(xs)
		*med[i] = (xs[(n-1)/2] + xs[n/2]) / 2
		*lo[i], *hi[i] = xs[0], xs[n-1]
	}
	return c
}

// FillResult is what the fill phase measured on one server. Memory is zero and times
// are absent where the server is not this program's to read or restart.
type FillResult struct {
	Server       string  `json:"server"`
	Experiments  int     `json:"experiments"`
	Trials       int     `json:"trials_per_experiment"`
	Mode         string  `json:"mode"`
	Seconds      float64 `json:"fill_s"`
	TrialsPerSec float64 `json:"trials_per_s"`
	AfterFill    Memory  `json:"after_fill"`
	DBBytes      int64   `json:"db_bytes,omitempty"`
	Restarted    bool    `json:"restarted"`
	ShutdownSecs float64 `json:"shutdown_s,omitempty"`
	// From exec until the port file appeared, and until GetExperiment answered OK.
	ListenSecs   float64 `json:"listen_s,omitempty"`
	StartupSecs  float64 `json:"startup_s,omitempty"`
	AfterRestart Memory  `json:"after_restart"`
	TouchSecs    float64 `json:"touch_s"`
	AfterTouch   Memory  `json:"after_touch"`
}

// Report is everything a run measured: what -json writes.
type Report struct {
	Command   string       `json:"command"`
	Machine   string       `json:"machine"`
	Servers   []string     `json:"servers"`
	Window    string       `json:"window"`
	Grid      []CellResult `json:"grid,omitempty"`
	Fill      []FillResult `json:"fill,omitempty"`
	AfterFill []CellResult `json:"grid_after_fill,omitempty"`
}

func (r *Report) writeJSON(path string) error {
	// Three decimals (a microsecond, for latencies) are all the figures are worth.
	round := func(cells []CellResult) {
		for i := range cells {
			c := &cells[i]
			runs := []*Run{&c.Median, &c.Min, &c.Max}
			for j := range c.Runs {
				runs = append(runs, &c.Runs[j])
			}
			for _, run := range runs {
				for _, f := range run.figures() {
					*f = math.Round(*f*1000) / 1000
				}
			}
		}
	}
	round(r.Grid)
	round(r.AfterFill)
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// writeMarkdown prints the report as the tables the README shows.
func (r *Report) writeMarkdown(w io.Writer, repeat int) {
	fmt.Fprintf(w, "`%s`\n\n%s; %s per cell.\n\n", r.Command, r.Machine, r.Window)
	if len(r.Grid) > 0 {
		writeGrid(w, r.Grid, repeat)
		if len(r.Servers) == 2 {
			fmt.Fprintln(w)
			writeComparison(w, r.Grid, r.Servers)
		}
	}
	if len(r.Fill) > 0 {
		fmt.Fprintln(w)
		writeFill(w, r.Fill)
	}
	if len(r.AfterFill) > 0 {
		fmt.Fprintf(w, "\nOn the filled server:\n\n")
		writeGrid(w, r.AfterFill, repeat)
		if len(r.Servers) == 2 {
			fmt.Fprintln(w)
			writeComparison(w, r.AfterFill, r.Servers)
		}
	}
}

// table writes a markdown table; the first row is the header.
func table(w io.Writer, rows [][]string) {
	for i, row := range rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
		if i == 0 {
			// Figures align right; names (server, algorithm, the row labels) left.
			seps := make([]string, len(row))
			for j, h := range row {
				seps[j] = "---:"
				if h == "" || h == "server" || h == "algorithm" {
					seps[j] = "---"
				}
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(seps, " | "))
		}
	}
}

// num formats a figure to three significant digits, and whole numbers from 1000 up.
func num(x float64) string {
	switch a := math.Abs(x); {
	case a >= 1000:
		return fmt.Sprintf("%.0f", x)
	case a >= 100:
		return fmt.Sprintf("%.1f", x)
	case a >= 10:
		return fmt.Sprintf("%.2f", x)
	default:
		return fmt.Sprintf("%.3f", x)
	}
}

func writeGrid(w io.Writer, cells []CellResult, repeat int) {
	rows := [][]string{{"server", "workers", "experiments", "algorithm", "pairs/s",
		"suggest p50 ms", "p99", "max", "report p50 ms", "p99", "max", "client cores", "server cores"}}
	for _, c := range cells {
		// With repetitions, the median and, in brackets, the range.
		f := func(get func(*Run) float64) string {
			s := num(get(&c.Median))
			if repeat > 1 {
				s += fmt.Sprintf(" (%s–%s)", num(get(&c.Min)), num(get(&c.Max)))
			}
			return s
		}
		whole := func(get func(*Run) float64) string {
			s := fmt.Sprintf("%.0f", get(&c.Median))
			if repeat > 1 {
				s += fmt.Sprintf(" (%.0f–%.0f)", get(&c.Min), get(&c.Max))
			}
			return s
		}
		algo := c.Algorithm
		if c.History > 0 {
			algo += fmt.Sprintf(" @%d", c.History)
		}
		server := "–"
		if c.Median.ServerCores > 0 {
			server = f(func(r *Run) float64 { return r.ServerCores })
		}
		rows = append(rows, []string{c.Server, fmt.Sprint(c.Workers), fmt.Sprint(c.Experiments), algo,
			whole(func(r *Run) float64 { return r.PairsPerSec }),
			f(func(r *Run) float64 { return r.Suggest.P50 }),
			f(func(r *Run) float64 { return r.Suggest.P99 }),
			f(func(r *Run) float64 { return r.Suggest.Max }),
			f(func(r *Run) float64 { return r.Report.P50 }),
			f(func(r *Run) float64 { return r.Report.P99 }),
			f(func(r *Run) float64 { return r.Report.Max }),
			f(func(r *Run) float64 { return r.ClientCores }),
			server,
		})
	}
	table(w, rows)
}

// writeComparison puts the medians of the two servers side by side, with B/A: above 1
// is more throughput, or more latency, for B.
func writeComparison(w io.Writer, cells []CellResult, servers []string) {
	a, b := servers[0], servers[1]
	header := []string{"workers", "experiments", "algorithm"}
	figures := []struct {
		name string
		get  func(*Run) float64
	}{
		{"pairs/s", func(r *Run) float64 { return r.PairsPerSec }},
		{"suggest p50 ms", func(r *Run) float64 { return r.Suggest.P50 }},
		{"suggest p99 ms", func(r *Run) float64 { return r.Suggest.P99 }},
		{"report p50 ms", func(r *Run) float64 { return r.Report.P50 }},
		{"report p99 ms", func(r *Run) float64 { return r.Report.P99 }},
	}
	for _, f := range figures {
		header = append(header, f.name+" "+a, b, b+"/"+a)
	}
	rows := [][]string{header}
	for _, ca := range cells {
		if ca.Server != a {
			continue
		}
		i := slices.IndexFunc(cells, func(c CellResult) bool { return c.Server == b && c.Cell == ca.Cell })
		if i < 0 {
			continue
		}
		cb := cells[i]
		algo := ca.Algorithm
		if ca.History > 0 {
			algo += fmt.Sprintf(" @%d", ca.History)
		}
		row := []string{fmt.Sprint(ca.Workers), fmt.Sprint(ca.Experiments), algo}
		for i, f := range figures {
			x, y := f.get(&ca.Median), f.get(&cb.Median)
			ratio := "–"
			if x > 0 {
				ratio = fmt.Sprintf("%.2f", y/x)
			}
			if i == 0 { // pairs/s
				row = append(row, fmt.Sprintf("%.0f", x), fmt.Sprintf("%.0f", y), ratio)
			} else {
				row = append(row, num(x), num(y), ratio)
			}
		}
		rows = append(rows, row)
	}
	table(w, rows)
}

func writeFill(w io.Writer, fills []FillResult) {
	f0 := fills[0]
	fmt.Fprintf(w, "Fill: %d experiments × %d completed trials (%s).\n\n", f0.Experiments, f0.Trials, f0.Mode)
	header := []string{""}
	for _, f := range fills {
		header = append(header, f.Server)
	}
	rows := [][]string{header}
	row := func(name string, get func(FillResult) string) {
		r := []string{name}
		for _, f := range fills {
			r = append(r, get(f))
		}
		rows = append(rows, r)
	}
	mib := func(b int64) string {
		if b == 0 {
			return "–"
		}
		return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
	}
	withPeak := func(m Memory) string {
		if m.RSS == 0 {
			return "–"
		}
		return mib(m.RSS) + " (" + mib(m.Peak) + ")"
	}
	secs := func(s float64, ok bool) string {
		if !ok {
			return "–"
		}
		return num(s) + " s"
	}
	row("fill time", func(f FillResult) string { return secs(f.Seconds, true) })
	row("trials/s during fill", func(f FillResult) string { return num(f.TrialsPerSec) })
	row("RSS after fill (peak)", func(f FillResult) string { return withPeak(f.AfterFill) })
	row("database on disk", func(f FillResult) string { return mib(f.DBBytes) })
	row("shutdown (SIGTERM → exit)", func(f FillResult) string { return secs(f.ShutdownSecs, f.Restarted) })
	row("restart: exec → port file", func(f FillResult) string { return secs(f.ListenSecs, f.Restarted) })
	row("restart: exec → GetExperiment OK", func(f FillResult) string { return secs(f.StartupSecs, f.Restarted) })
	row("RSS after restart", func(f FillResult) string { return mib(f.AfterRestart.RSS) })
	row("GetExperiment on every experiment", func(f FillResult) string { return secs(f.TouchSecs, true) })
	row("RSS after that (peak)", func(f FillResult) string { return withPeak(f.AfterTouch) })
	table(w, rows)
}
