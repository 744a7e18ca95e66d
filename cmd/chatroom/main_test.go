package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/testenv"
	"github.com/webchatroom/chatroom/internal/testimage"
	"github.com/webchatroom/chatroom/internal/wire"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// MustBuild compiles the real binary once per test run, or returns
// $CHATROOM_BIN (`make build`'s, with the web UI) when that is set.
func MustBuild(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if binPath = os.Getenv("CHATROOM_BIN"); binPath != "" {
			_, buildErr = os.Stat(binPath)
			return
		}
		dir, err := os.MkdirTemp("", "chatroom-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "chatroom")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is a running chatroom (or other) process.
type proc struct {
	cmd    *exec.Cmd
	kill   syscall.Signal // what Kill sends
	stderr *testenv.Buffer
	done   chan error
}

// MustStart runs the binary with args; it is killed when the test ends.
func MustStart(t testing.TB, env []string, args ...string) *proc {
	t.Helper()
	return mustRun(t, MustBuild(t), syscall.SIGKILL, env, args...)
}

// mustRun runs bin with args and env added to this process's; kill ends
// it (when the test ends, or this process dies), and its stderr is logged
// if the test failed. A program whose children hold its stderr (nginx)
// needs a kill it passes on to them.
func mustRun(t testing.TB, bin string, kill syscall.Signal, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: kill}
	p := &proc{cmd: cmd, kill: kill, stderr: &testenv.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(kill)
		<-p.done
		if t.Failed() {
			t.Logf("%s stderr:\n%s", strings.Join(args, " "), p.stderr.String())
		}
	})
	return p
}

// Kill ends the process (SIGKILL for chatroom) and waits for it.
func (p *proc) Kill() {
	_ = p.cmd.Process.Signal(p.kill)
	err := <-p.done
	p.done <- err
}

// Stop sends SIGTERM and returns the exit error after a graceful stop.
func (p *proc) Stop(t *testing.T) error {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("no exit within 15 s of SIGTERM")
		return nil
	}
}

// browser is an HTTP client with a cookie jar.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

func (b *browser) do(req *http.Request) (int, map[string]any) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	return resp.StatusCode, m
}

func (b *browser) get(path string) (int, map[string]any) {
	req, _ := http.NewRequest("GET", b.base+path, nil)
	return b.do(req)
}

func (b *browser) register(username, password string, avatar []byte) (int, map[string]any) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("username", username)
	_ = w.WriteField("nickname", "Nick "+username)
	_ = w.WriteField("password", password)
	fw, _ := w.CreateFormFile("avatar", "me.jpg")
	_, _ = fw.Write(avatar)
	_ = w.Close()
	req, _ := http.NewRequest("POST", b.base+"/api/auth/register", &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return b.do(req)
}

func (b *browser) login(username, password string) (int, map[string]any) {
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	req, _ := http.NewRequest("POST", b.base+"/api/auth/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return b.do(req)
}

func (b *browser) logout() int {
	req, _ := http.NewRequest("POST", b.base+"/api/auth/logout", nil)
	status, _ := b.do(req)
	return status
}

func (b *browser) token() string {
	req, _ := http.NewRequest("GET", b.base, nil)
	for _, c := range b.c.Jar.Cookies(req.URL) {
		if c.Name == "chatroom_session" {
			return c.Value
		}
	}
	b.t.Fatal("no session cookie")
	return ""
}

const password = "lantern-river-93"

// TestAuthAloneOnExternalServices runs `chatroom auth` as its own process
// on the external NATS server, FerretDB (MongoDB wire protocol) and
// versitygw (S3); the test process, another service as far as the bus
// knows, verifies the session over NATS.
func TestAuthAloneOnExternalServices(t *testing.T) {
	natsURL := testenv.ExternalNATS(t)
	mongoURI := testenv.FerretDB(t)
	s3 := testenv.VersityGW(t)
	prefix := "t" + ids.New()[:10]
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	p := MustStart(t, []string{
		"CHATROOM_NATS_URL=" + natsURL, "CHATROOM_NATS_PREFIX=" + prefix, "CHATROOM_MONGO_URI=" + mongoURI,
		"CHATROOM_S3_ENDPOINT=" + s3.Endpoint, "CHATROOM_S3_ACCESS_KEY=" + s3.AccessKey,
		"CHATROOM_S3_SECRET_KEY=" + s3.SecretKey, "CHATROOM_S3_REGION=" + s3.Region,
	}, "auth", "--addr", addr, "--s3-bucket", "avatars-"+ids.New()[:8])
	base := "http://" + addr
	testenv.WaitHTTP(t, base+"/readyz", 30*time.Second)

	b := newBrowser(t, base)
	photo := testimage.PhoneJPEG(t, testimage.Halves(400, 300), 6)
	if status, body := b.register("远程用户", password, photo); status != 201 {
		t.Fatalf("register: %d %v", status, body)
	}
	status, body := b.login("远程用户", password)
	if status != 200 {
		t.Fatalf("login: %d %v", status, body)
	}
	user := body["user"].(map[string]any)
	// the avatar went to S3 and comes back
	resp, err := b.c.Get(base + user["avatar_url"].(string))
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("avatar from S3: %v %v", resp, err)
	}
	resp.Body.Close()

	conn, err := bus.Connect(bus.Options{URL: natsURL, Prefix: prefix, Name: "test-peer"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	v, err := bus.Request[wire.SessionVerifyRequest, wire.SessionVerifyReply](ctx, conn, wire.SubjectSessionVerify, wire.SessionVerifyRequest{Token: b.token()})
	if err != nil || v.User.ID != user["id"] || v.User.Username != "远程用户" {
		t.Fatalf("verify over NATS: %+v %v", v, err)
	}
	got, err := bus.Request[wire.UsersGetRequest, wire.UsersGetReply](ctx, conn, wire.SubjectUsersGet, wire.UsersGetRequest{IDs: []string{v.User.ID}})
	if err != nil || len(got.Users) != 1 || got.Users[0].Nickname != "Nick 远程用户" {
		t.Fatalf("users.get over NATS: %+v %v", got, err)
	}
	token := b.token()
	if b.logout() != 204 {
		t.Fatal("logout")
	}
	_, err = bus.Request[wire.SessionVerifyRequest, wire.SessionVerifyReply](ctx, conn, wire.SubjectSessionVerify, wire.SessionVerifyRequest{Token: token})
	if apperr.Code(err) != apperr.Unauthorized {
		t.Fatalf("verify after logout: %v", err)
	}
	if err := p.Stop(t); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
}

// TestAllKeepsSessionsAcrossRestart runs `chatroom all` (in-process NATS,
// SQLite, a folder), logs in, restarts the process and is still logged in.
func TestAllKeepsSessionsAcrossRestart(t *testing.T) {
	data := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	base := "http://" + addr
	p := MustStart(t, nil, "all", "--addr", addr, "--data", data)
	testenv.WaitHTTP(t, base+"/readyz", 30*time.Second)
	b := newBrowser(t, base)
	if status, body := b.register("lily", password, testimage.PNG(t, testimage.Halves(80, 80))); status != 201 {
		t.Fatalf("register: %d %v", status, body)
	}
	if status, body := b.login("lily", password); status != 200 {
		t.Fatalf("login: %d %v", status, body)
	}
	resp, err := b.c.Get(base + "/")
	if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("web UI at /: %v %v", resp, err)
	}
	resp.Body.Close()
	if status, body := b.get("/api/nope"); status != 404 || body["error"].(map[string]any)["code"] != "not_found" {
		t.Fatalf("unknown API path: %d %v", status, body)
	}
	if err := p.Stop(t); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	for _, f := range []string{"auth.db", "history.db", "media.db", "blobs"} {
		if _, err := os.Stat(filepath.Join(data, f)); err != nil {
			t.Fatalf("data folder lacks %s: %v", f, err)
		}
	}
	MustStart(t, nil, "all", "--addr", addr, "--data", data)
	testenv.WaitHTTP(t, base+"/readyz", 30*time.Second)
	status, body := b.get("/api/auth/me")
	if status != 200 || body["user"].(map[string]any)["username"] != "lily" {
		t.Fatalf("after restart: %d %v", status, body)
	}
	avatar := body["user"].(map[string]any)["avatar_url"].(string)
	if status, _ := b.get(avatar); status != 200 {
		t.Fatalf("avatar after restart: %d", status)
	}
}

// TestServiceAloneNeedsItsDependencies: a service started alone without
// its external systems stops at once and says which flag to set.
func TestServiceAloneNeedsItsDependencies(t *testing.T) {
	for cmd, wants := range map[string][]string{
		"auth":     {"--nats-url", "--mongo-uri", "--s3-endpoint"},
		"history":  {"--nats-url", "--mongo-uri"},
		"media":    {"--nats-url", "--mongo-uri", "--s3-endpoint"},
		"presence": {"--nats-url"},
		"chat":     {"--nats-url"},
	} {
		out, err := exec.Command(MustBuild(t), cmd, "--addr", "127.0.0.1:0").CombinedOutput()
		if err == nil {
			t.Fatalf("%s started without its dependencies", cmd)
		}
		for _, w := range wants {
			if !strings.Contains(string(out), w) {
				t.Errorf("%s: message lacks %s:\n%s", cmd, w, out)
			}
		}
	}
	out, err := exec.Command(MustBuild(t), "bogus").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "unknown command") {
		t.Fatalf("unknown command: %v %s", err, out)
	}
	out, err = exec.Command(MustBuild(t), "auth", "--nats-url", "nats://127.0.0.1:1", "--mongo-uri", "mongodb://x", "--s3-endpoint", "x:1").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "nats") {
		t.Fatalf("unreachable NATS: %v %s", err, out)
	}
}
