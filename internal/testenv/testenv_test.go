package testenv

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRepoRoot(t *testing.T) {
	root := RepoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if got := modulePath(data); got != ModulePath {
		t.Fatalf("module %q, want %q", got, ModulePath)
	}
}

func TestModulePath(t *testing.T) {
	for in, want := range map[string]string{
		"module a/b\n\ngo 1.26\n":        "a/b",
		"// c\nmodule \"a/b\" // x\n":    "a/b",
		"go 1.26\n":                      "",
		"  module   github.com/x/y  \n ": "github.com/x/y",
	} {
		if got := modulePath([]byte(in)); got != want {
			t.Errorf("modulePath(%q) = %q, want %q", in, got, want)
		}
	}
}

// fatalTB records Fatalf and stops the goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestMissingBinaryIsFatal(t *testing.T) {
	ftb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		toolPath(ftb, "no-such-tool")
		t.Error("toolPath returned for a missing tool")
	}()
	<-done
	if want := "bin/no-such-tool missing: run `make tools`"; !strings.Contains(ftb.msg, want) {
		t.Fatalf("Fatalf message %q does not contain %q", ftb.msg, want)
	}
}

func TestFerretDB(t *testing.T) {
	var addr string
	t.Run("serve", func(t *testing.T) {
		uri := FerretDB(t)
		u, err := url.Parse(uri)
		if err != nil || u.Scheme != "mongodb" || !strings.HasPrefix(u.Host, "127.0.0.1:") {
			t.Fatalf("bad URI %q (%v)", uri, err)
		}
		addr = u.Host
		reply := mongoHello(t, addr)
		for _, want := range []string{"isWritablePrimary", "maxWireVersion"} {
			if !bytes.Contains(reply, []byte(want)) {
				t.Errorf("hello reply lacks %q: %q", want, reply)
			}
		}
	})
	assertClosed(t, addr)
}

// mongoHello sends {hello: 1, $db: "admin"} as an OP_MSG and returns the reply's body.
func mongoHello(t *testing.T, addr string) []byte {
	t.Helper()
	var doc bytes.Buffer
	doc.Write([]byte{0, 0, 0, 0})                    // length, set below
	doc.WriteString("\x10hello\x00\x01\x00\x00\x00") // int32 hello: 1
	doc.WriteString("\x02$db\x00\x06\x00\x00\x00admin\x00")
	doc.WriteByte(0)
	d := doc.Bytes()
	binary.LittleEndian.PutUint32(d, uint32(len(d)))

	const opMsg = 2013
	msg := make([]byte, 16+4+1, 16+4+1+len(d))
	msg = append(msg, d...)
	binary.LittleEndian.PutUint32(msg[0:], uint32(len(msg)))
	binary.LittleEndian.PutUint32(msg[4:], 1) // requestID
	binary.LittleEndian.PutUint32(msg[12:], opMsg)

	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write(msg); err != nil {
		t.Fatal(err)
	}
	var hdr [16]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint32(hdr[0:])
	if op := binary.LittleEndian.Uint32(hdr[12:]); op != opMsg || n < 16 || n > 1<<20 {
		t.Fatalf("reply header: length %d opCode %d", n, op)
	}
	body := make([]byte, n-16)
	if _, err := io.ReadFull(conn, body); err != nil {
		t.Fatal(err)
	}
	return body
}

func TestVersityGW(t *testing.T) {
	var s3 S3
	t.Run("serve", func(t *testing.T) {
		s3 = VersityGW(t)
		if s3.Endpoint == "" || s3.AccessKey == "" || s3.SecretKey == "" || s3.Region == "" {
			t.Fatalf("incomplete %+v", s3)
		}
		resp, err := http.Get("http://" + s3.Endpoint + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e struct {
			XMLName xml.Name `xml:"Error"`
			Code    string
		}
		if err := xml.NewDecoder(resp.Body).Decode(&e); err != nil {
			t.Fatalf("status %s, body not an S3 error: %v", resp.Status, err)
		}
		if resp.StatusCode != http.StatusForbidden || e.Code != "AccessDenied" {
			t.Fatalf("unsigned GET: status %s code %q, want 403 AccessDenied", resp.Status, e.Code)
		}
	})
	assertClosed(t, s3.Endpoint)
}

func TestExternalNATS(t *testing.T) {
	u := ExternalNATS(t)
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(u, "nats://"), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(conn)
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "INFO ") {
		t.Fatalf("first line %q (%v)", line, err)
	}
	if _, err := conn.Write([]byte("CONNECT {\"verbose\":false}\r\nPING\r\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadString('\n'); err != nil || line != "PONG\r\n" {
		t.Fatalf("PING answered %q (%v)", line, err)
	}
}

func TestFreePort(t *testing.T) {
	port := FreePort(t)
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("port %d not free: %v", port, err)
	}
	l.Close()
}

func TestWaitHTTP(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 4 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	WaitHTTP(t, srv.URL, 5*time.Second)
	if n := calls.Load(); n != 4 {
		t.Fatalf("%d calls, want 4", n)
	}
}

// assertClosed checks that nothing listens on addr any more (the server was stopped by cleanup).
func assertClosed(t *testing.T, addr string) {
	t.Helper()
	if addr == "" {
		t.Fatal("server did not start")
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatalf("%s still accepts connections after cleanup", addr)
	}
}

func TestParallelServers(t *testing.T) {
	for i := range 4 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			u, err := url.Parse(FerretDB(t))
			if err != nil {
				t.Fatal(err)
			}
			mongoHello(t, u.Host)
			s3 := VersityGW(t)
			resp, err := http.Get("http://" + s3.Endpoint + "/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		})
	}
}

func TestStartNATSStopsAndRestarts(t *testing.T) {
	n := StartNATS(t)
	addr := strings.TrimPrefix(n.URL, "nats://")
	infoHas := func(want string) {
		t.Helper()
		conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil || !strings.Contains(line, want) {
			t.Fatalf("INFO %q (%v) lacks %s", line, err, want)
		}
	}
	infoHas(`"jetstream":true`)
	n.Stop()
	assertClosed(t, addr)
	n.Restart()
	infoHas(`"jetstream":true`)
}
