package hpo_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testServer is a real hpo-server process with a database in a temporary folder.
type testServer struct {
	dir  string
	port int
	cmd  *exec.Cmd
	log  *bytes.Buffer
	// exited is closed once the process has exited.
	exited chan struct{}
}

// serverBinary is $HPO_SERVER_BIN, else bazel-bin/server/hpo-server two folders above
// this module's root (the repository root).
func serverBinary() (string, error) {
	if bin := os.Getenv("HPO_SERVER_BIN"); bin != "" {
		return filepath.Abs(bin)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for { // find go.mod: the module root
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the test")
		}
		dir = parent
	}
	return filepath.Join(dir, "..", "..", "bazel-bin", "server", "hpo-server"), nil
}

var helpText string

func startServer(dir string, port int) (*testServer, error) {
	return startServerArgs(dir, port)
}

// hasFlag reports whether the server binary has a flag (from its --helpfull text).
func hasFlag(flag string) bool {
	if helpText == "" {
		if bin, err := serverBinary(); err == nil {
			out, _ := exec.Command(bin, "--helpfull").CombinedOutput()
			helpText = string(out)
		}
	}
	return strings.Contains(helpText, "--"+flag+" ")
}

// startServerArgs starts a server with extra flags after the usual ones.
func startServerArgs(dir string, port int, extra ...string) (*testServer, error) {
	bin, err := serverBinary()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("hpo-server not found (build it, or set HPO_SERVER_BIN): %w", err)
	}
	if helpText == "" {
		out, _ := exec.Command(bin, "--helpfull").CombinedOutput()
		helpText = string(out)
	}
	portFile := filepath.Join(dir, "port")
	os.Remove(portFile)
	args := []string{
		"--host=127.0.0.1", "--grpc_port=" + strconv.Itoa(port), "--port_file=" + portFile,
		"--db=" + filepath.Join(dir, "hpo.db"), "--log_level=info",
	}
	if strings.Contains(helpText, "--http_port") {
		args = append(args, "--http_port=0") // never the default 8080
	}
	args = append(args, extra...)
	s := &testServer{dir: dir, log: &bytes.Buffer{}}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	s.exited = exited
	go func() { s.cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return nil, fmt.Errorf("hpo-server exited: %s", s.log)
		default:
		}
		if b, err := os.ReadFile(portFile); err == nil && len(bytes.TrimSpace(b)) > 0 {
			s.port, err = strconv.Atoi(string(bytes.TrimSpace(b)))
			if err != nil {
				return nil, err
			}
			return s, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.cmd.Process.Kill()
	return nil, fmt.Errorf("hpo-server did not start: %s", s.log)
}

func (s *testServer) addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

func (s *testServer) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

var shared *testServer

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hpo-go-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared, err = startServer(dir, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	shared.stop()
	os.RemoveAll(dir)
	os.Exit(code)
}
