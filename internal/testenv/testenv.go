// Package testenv starts the real servers that tests run against: FerretDB
// (MongoDB wire protocol) and versitygw (S3) as child processes built by
// `make tools`, and an external NATS server. It uses only the standard library.
//
// Each server is started per call with fresh temp storage and stopped by
// tb.Cleanup; a missing binary fails the test (run `make tools`), it never
// skips. What FerretDB does not support is listed in tools/README.md.
package testenv

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ModulePath is the module path of the repository root's go.mod.
const ModulePath = "github.com/webchatroom/chatroom"

// NATSURL is the address of the external NATS server used by tests.
const NATSURL = "nats://127.0.0.1:4222"

// natsStart is the command that starts the external NATS server.
const natsStart = "start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- " +
	"-a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log"

const (
	startTimeout = 20 * time.Second // for a child server to become ready
	stopTimeout  = 5 * time.Second  // between SIGTERM and SIGKILL
)

// S3 describes a running S3 server; Endpoint is host:port, plain HTTP.
type S3 struct {
	Endpoint, AccessKey, SecretKey, Region string
}

// RepoRoot returns the folder holding the go.mod of ModulePath, searching up from the working directory.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && modulePath(data) == ModulePath {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("testenv: no go.mod of %s above the working directory", ModulePath)
		}
		dir = parent
	}
}

// modulePath returns the module path declared in a go.mod file.
func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module"); ok {
			rest, _, _ = strings.Cut(rest, "//")
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// FerretDB starts bin/ferretdb-test on a fresh data folder and returns its MongoDB URI; it stops with the test.
func FerretDB(tb testing.TB) string {
	tb.Helper()
	bin := toolPath(tb, "ferretdb-test")
	dir := tb.TempDir()
	ready := &readyWriter{prefix: "ready ", line: make(chan string, 1)}
	srv := start(tb, bin, []string{"--listen", "127.0.0.1:0", "--dir", dir}, os.Environ(), ready)
	select {
	case line := <-ready.line:
		return strings.TrimPrefix(line, "ready ")
	case <-srv.done:
		srv.reported = true
		tb.Fatalf("testenv: ferretdb-test exited before ready: %v\n%s", srv.err, srv.out)
	case <-time.After(startTimeout):
		tb.Fatalf("testenv: ferretdb-test not ready after %v\n%s", startTimeout, srv.out)
	}
	return ""
}

// VersityGW starts bin/versitygw (posix backend, temp root) on a free loopback port; it stops with the test.
func VersityGW(tb testing.TB) S3 {
	tb.Helper()
	bin := toolPath(tb, "versitygw")
	root := tb.TempDir()
	s3 := S3{AccessKey: "testenv-access", SecretKey: "testenv-secret-key", Region: "us-east-1"}
	// versitygw reads settings from many environment variables; drop them.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VGW_") && !strings.HasPrefix(kv, "ROOT_ACCESS_KEY") && !strings.HasPrefix(kv, "ROOT_SECRET") &&
			!strings.HasPrefix(kv, "LOGFILE=") && !strings.HasPrefix(kv, "WEBHOOK=") {
			env = append(env, kv)
		}
	}
	// A secret health path tells this server apart from any other on the port.
	health := "/testenv-health-" + rand.Text()
	// The port from FreePort may be taken before versitygw binds it: retry.
	for attempt := 1; ; attempt++ {
		s3.Endpoint = fmt.Sprintf("127.0.0.1:%d", FreePort(tb))
		srv := start(tb, bin, []string{
			"--port", s3.Endpoint, "--access", s3.AccessKey, "--secret", s3.SecretKey,
			"--region", s3.Region, "--health", health, "--quiet", "--keep-alive", "posix", root,
		}, env, nil)
		err := pollHTTP("http://"+s3.Endpoint+health, startTimeout, srv.done)
		if err == nil {
			return s3
		}
		srv.reported = true
		if attempt < 3 && strings.Contains(srv.out.String(), "address already in use") {
			continue
		}
		tb.Fatalf("testenv: versitygw on %s: %v\n%s", s3.Endpoint, err, srv.out)
	}
}

// ExternalNATS returns the URL of the NATS server on 127.0.0.1:4222 after checking that it sends INFO.
func ExternalNATS(tb testing.TB) string {
	tb.Helper()
	addr := strings.TrimPrefix(NATSURL, "nats://")
	if err := natsInfo(addr); err != nil {
		tb.Fatalf("testenv: no NATS server at %s (%v); start it with:\n%s", addr, err, natsStart)
	}
	return NATSURL
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitHTTP polls url with GET until it answers 200 OK, failing the test after timeout.
func WaitHTTP(tb testing.TB, url string, timeout time.Duration) {
	tb.Helper()
	if err := pollHTTP(url, timeout, nil); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
}

// pollHTTP GETs url until it answers 200 OK, timeout passes, or exited is closed.
func pollHTTP(url string, timeout time.Duration, exited <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not 200 after %v: %v", url, timeout, err)
		}
		select {
		case <-exited:
			return errors.New("server exited before ready")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// toolPath returns the path of bin/<name> under the repository root, failing the test if it is missing.
func toolPath(tb testing.TB, name string) string {
	tb.Helper()
	path := filepath.Join(RepoRoot(tb), "bin", name)
	if _, err := os.Stat(path); err != nil {
		tb.Fatalf("bin/%s missing: run `make tools` (%v)", name, err)
	}
	return path
}

// server is a running child process.
type server struct {
	cmd  *exec.Cmd
	out  *tailBuffer   // last output, stdout and stderr
	done chan struct{} // closed when the process has exited
	err  error         // result of Wait, set before done is closed

	reported bool // an early exit was already reported (or expected)
}

// start runs bin with args and env, and registers a cleanup that stops it.
// Its stdout goes to stdout (if not nil) and, like stderr, to server.out.
func start(tb testing.TB, bin string, args, env []string, stdout *readyWriter) *server {
	tb.Helper()
	cmd := exec.Command(bin, args...)
	srv := &server{cmd: cmd, out: &tailBuffer{}, done: make(chan struct{})}
	cmd.Env = env
	cmd.Stderr = srv.out
	cmd.Stdout = srv.out
	if stdout != nil {
		stdout.tee = srv.out
		cmd.Stdout = stdout
	}
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		tb.Fatalf("testenv: start %s: %v", bin, err)
	}
	go func() {
		srv.err = cmd.Wait()
		close(srv.done)
	}()
	name := filepath.Base(bin)
	tb.Cleanup(func() {
		select {
		case <-srv.done:
			if srv.reported {
				return
			}
			tb.Errorf("testenv: %s exited during the test: %v\n%s", name, srv.err, srv.out)
			return
		default:
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			_ = cmd.Process.Kill()
		}
		select {
		case <-srv.done:
		case <-time.After(stopTimeout):
			tb.Logf("testenv: %s ignored SIGTERM for %v; killing it", name, stopTimeout)
			_ = cmd.Process.Kill()
			<-srv.done
		}
	})
	return srv
}

// tailBuffer keeps the last 64 KiB written to it; safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 64 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*tailMax {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-tailMax:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.buf) > tailMax {
		return "..." + string(t.buf[len(t.buf)-tailMax:])
	}
	return string(t.buf)
}

// readyWriter sends the first output line starting with prefix to line, and copies all output to tee.
type readyWriter struct {
	prefix string
	line   chan string
	tee    *tailBuffer
	mu     sync.Mutex
	buf    []byte
	found  bool
}

func (r *readyWriter) Write(p []byte) (int, error) {
	r.tee.Write(p)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.found {
		return len(p), nil
	}
	r.buf = append(r.buf, p...)
	for {
		i := bytes.IndexByte(r.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := strings.TrimSpace(string(r.buf[:i]))
		r.buf = r.buf[i+1:]
		if strings.HasPrefix(line, r.prefix) {
			r.found, r.buf = true, nil
			r.line <- line
			return len(p), nil
		}
	}
}
