package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
)

// Server is one hpo-server under test: a process this program started (Bin set), which
// it can restart and whose memory and CPU it can read, or a server someone else runs
// (only Addr set), which it can only call.
type Server struct {
	Label string
	Bin   string
	Args  []string // extra flags, after the ones this program sets
	// How to connect: TLS and a token when Args (or -addr) call for them.
	Dial   []grpc.DialOption
	Remote bool // -addr: a server this program did not start
	DB     string
	Dir    string // the server's scratch directory: port file, log, and the database unless -db

	Addr    string
	started time.Time // when the running process was exec'd
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// Managed reports whether this program runs the server, and so can read /proc for it.
func (s *Server) Managed() bool { return s.Bin != "" }

// PID of the running server process; 0 when not managed.
func (s *Server) PID() int {
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// flags are the server's command line: a free port reported through a file, our
// database, and no HTTP server where the binary has one (it is not measured, and would
// otherwise want port 8080). Older binaries lack some of these flags, so --helpfull
// decides; that lets -compare run a server built from an old commit.
func (s *Server) flags() ([]string, error) {
	help, _ := exec.Command(s.Bin, "--helpfull").CombinedOutput() // exits 1 by design
	has := func(flag string) bool {
		return strings.Contains(string(help), "--"+flag+" (") || strings.Contains(string(help), "-"+flag+" (")
	}
	for _, f := range []string{"grpc_port", "port_file", "db"} {
		if !has(f) {
			return nil, fmt.Errorf("%s: no --%s flag in its --helpfull output", s.Bin, f)
		}
	}
	args := []string{"--grpc_port=0", "--port_file=" + s.portFile(), "--db=" + s.DB}
	if has("host") {
		args = append(args, "--host=127.0.0.1")
	}
	switch {
	case has("http"):
		args = append(args, "--http=false")
	case has("http_port"):
		args = append(args, "--http_port=0")
	}
	return append(args, s.Args...), nil
}

func (s *Server) portFile() string { return filepath.Join(s.Dir, "port") }

// Start execs the server and waits until it has written its port file, which it does
// once it serves. It does not wait for the server to answer: see WaitAnswering.
func (s *Server) Start(ctx context.Context) error {
	if !s.Managed() {
		return nil
	}
	args, err := s.flags()
	if err != nil {
		return err
	}
	os.Remove(s.portFile())
	log, err := os.OpenFile(filepath.Join(s.Dir, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(s.Bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	// Should this program die without stopping it, the kernel does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	s.started = time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd, s.exited, s.waitErr = cmd, make(chan struct{}), nil
	go func(exited chan struct{}) {
		s.waitErr = cmd.Wait()
		close(exited)
	}(s.exited)

	// 10 ms is the resolution of the start-up time too (see fill.go).
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(s.portFile()); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			port, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				return fmt.Errorf("%s: port file holds %q", s.Label, b)
			}
			s.Addr = fmt.Sprintf("127.0.0.1:%d", port)
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("%s exited while starting (%v); its log ends:\n%s", s.Label, s.waitErr, s.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Stop sends SIGTERM and waits for the process to exit; SIGKILL after a minute. It
// returns how long the shutdown took.
func (s *Server) Stop() (time.Duration, error) {
	if s.cmd == nil {
		return 0, nil
	}
	if err := s.Alive(0); err != nil {
		return 0, err
	}
	t0 := time.Now()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(time.Minute):
		_ = s.cmd.Process.Kill()
		<-s.exited
		s.cmd = nil
		return time.Since(t0), fmt.Errorf("%s did not exit within a minute of SIGTERM; killed", s.Label)
	}
	took := time.Since(t0)
	s.cmd = nil
	if s.waitErr != nil {
		return took, fmt.Errorf("%s: %v after SIGTERM; its log ends:\n%s", s.Label, s.waitErr, s.logTail())
	}
	return took, nil
}

// Alive returns an error if the managed server has exited, or does so within wait:
// after a failed call, a moment's wait tells a crash from a refusal. The exit is
// reported once; the server counts as stopped afterwards.
func (s *Server) Alive(wait time.Duration) error {
	if s.cmd == nil {
		return nil
	}
	select {
	case <-s.exited:
	case <-time.After(wait):
		select {
		case <-s.exited:
		default:
			return nil
		}
	}
	s.cmd = nil
	return fmt.Errorf("%s exited (%v); its log ends:\n%s", s.Label, s.waitErr, s.logTail())
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "log"))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}

// Memory is a process's resident set (VmRSS) and its peak (VmHWM), in bytes.
type Memory struct {
	RSS  int64 `json:"rss_bytes"`
	Peak int64 `json:"peak_rss_bytes"`
}

// Memory reads the server's /proc/PID/status; zero when not managed.
func (s *Server) Memory() (Memory, error) {
	if s.PID() == 0 {
		return Memory{}, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.PID()))
	if err != nil {
		return Memory{}, err
	}
	var m Memory
	for _, line := range strings.Split(string(b), "\n") {
		key, value, _ := strings.Cut(line, ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch key {
		case "VmRSS":
			m.RSS = kb << 10
		case "VmHWM":
			m.Peak = kb << 10
		}
	}
	return m, nil
}

// clockTick is USER_HZ, the unit of /proc/PID/stat's times. It is 100 on every Linux
// architecture Go supports; reading sysconf(_SC_CLK_TCK) would take cgo.
const clockTick = 10 * time.Millisecond

// CPU is the CPU time (user + system, all threads) the server has used; 0 when not
// managed.
func (s *Server) CPU() (time.Duration, error) {
	if s.PID() == 0 {
		return 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.PID()))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; count fields after its ")".
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", s.PID())
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(fields[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// clientCPU is the CPU time this program has used, all threads.
func clientCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// dbBytes is the size of the database with its write-ahead log and shared memory file.
func (s *Server) dbBytes() int64 {
	var n int64
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if fi, err := os.Stat(s.DB + suffix); err == nil {
			n += fi.Size()
		}
	}
	return n
}
