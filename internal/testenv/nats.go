package testenv

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// NATS is a NATS server of the test's own (bin/nats-server, built by `make
// tools`) with JetStream on a temp store, which the test may stop and start
// again on the same port and store, unlike the machine's shared server.
type NATS struct {
	URL  string // nats://127.0.0.1:<port>
	tb   testing.TB
	addr string
	dir  string
	srv  *server
}

// StartNATS starts bin/nats-server with JetStream on a free loopback port;
// it stops with the test.
func StartNATS(tb testing.TB) *NATS {
	tb.Helper()
	n := &NATS{tb: tb, dir: tb.TempDir()}
	for attempt := 1; ; attempt++ { // the port from FreePort may be taken before nats-server binds it
		n.addr = fmt.Sprintf("127.0.0.1:%d", FreePort(tb))
		err := n.start()
		if err == nil {
			n.URL = "nats://" + n.addr
			return n
		}
		if attempt == 3 || !strings.Contains(n.srv.out.String(), "address already in use") {
			tb.Fatalf("testenv: nats-server on %s: %v\n%s", n.addr, err, n.srv.out)
		}
	}
}

// Stop ends the server (SIGTERM) and waits until it has exited.
func (n *NATS) Stop() {
	n.tb.Helper()
	n.srv.reported = true // an expected exit
	if err := n.srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		n.tb.Fatalf("testenv: stop nats-server: %v", err)
	}
	select {
	case <-n.srv.done:
	case <-time.After(stopTimeout):
		_ = n.srv.cmd.Process.Kill()
		<-n.srv.done
	}
}

// Restart starts the server again after Stop, on the same port and store.
func (n *NATS) Restart() {
	n.tb.Helper()
	if err := n.start(); err != nil {
		n.tb.Fatalf("testenv: restart nats-server on %s: %v\n%s", n.addr, err, n.srv.out)
	}
}

func (n *NATS) start() error {
	host, port, _ := net.SplitHostPort(n.addr)
	n.srv = start(n.tb, toolPath(n.tb, "nats-server"), []string{"-a", host, "-p", port, "-js", "-sd", n.dir}, nil, nil)
	deadline := time.Now().Add(startTimeout)
	for {
		err := natsInfo(n.addr)
		if err == nil {
			return nil
		}
		select {
		case <-n.srv.done:
			n.srv.reported = true
			return fmt.Errorf("exited: %v", n.srv.err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return err
		}
	}
}

// natsInfo checks that a NATS server at addr greets with INFO.
func natsInfo(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err == nil && !strings.HasPrefix(line, "INFO ") {
		err = fmt.Errorf("first line is %q, not INFO", line)
	}
	return err
}
