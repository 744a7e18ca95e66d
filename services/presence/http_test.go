package presence_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/blob"
	"github.com/webchatroom/chatroom/internal/platform"
	"github.com/webchatroom/chatroom/internal/wire"
	"github.com/webchatroom/chatroom/services/auth"
)

// MustServe adds the real auth service to e's bus and mounts both services
// on one platform app listening on 127.0.0.1; it returns the base URL.
func (en *env) MustServe() string {
	t := en.t
	t.Helper()
	store, err := auth.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "auth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	blobs, err := blob.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	authSvc := auth.New(auth.Config{Store: store, Blobs: blobs, Bus: en.Connect("auth"), Log: quietLog})
	if err := authSvc.Subscribe(); err != nil {
		t.Fatal(err)
	}
	app := platform.New(platform.Config{Name: "all", Log: quietLog})
	authSvc.Routes(app)
	en.Svc.Routes(app)
	app.Finish()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	return "http://" + ln.Addr().String()
}

// browser is one HTTP client with its own cookies.
type browser struct {
	t    testing.TB
	base string
	http *http.Client
}

func newBrowser(t testing.TB, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

func (b *browser) do(req *http.Request) (int, []byte) {
	b.t.Helper()
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp.StatusCode, body
}

func (b *browser) Get(path string) (int, []byte) {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.base+path, nil)
	return b.do(req)
}

// MustRegisterAndLogin creates an account (no avatar: the identicon) and
// logs in; it returns the user as auth shows it.
func (b *browser) MustRegisterAndLogin(username string) wire.User {
	b.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("username", username)
	_ = w.WriteField("nickname", "Nick "+username)
	_ = w.WriteField("password", "tea-kettle-7-harbour")
	_ = w.Close()
	req, _ := http.NewRequest("POST", b.base+"/api/auth/register", &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	if status, body := b.do(req); status != 201 {
		b.t.Fatalf("register %s: %d %s", username, status, body)
	}
	login, _ := json.Marshal(map[string]string{"username": username, "password": "tea-kettle-7-harbour"})
	req, _ = http.NewRequest("POST", b.base+"/api/auth/login", bytes.NewReader(login))
	req.Header.Set("Content-Type", "application/json")
	status, body := b.do(req)
	if status != 200 {
		b.t.Fatalf("login %s: %d %s", username, status, body)
	}
	var r struct{ User wire.User }
	if err := json.Unmarshal(body, &r); err != nil {
		b.t.Fatal(err)
	}
	return r.User
}

func TestGetPresenceOverHTTP(t *testing.T) {
	e := MustStart(t, nil)
	base := e.MustServe()

	status, body := newBrowser(t, base).Get("/api/presence")
	if status != 401 || !bytes.Contains(body, []byte(`"code":"unauthorized"`)) {
		t.Fatalf("without a session: %d %s", status, body)
	}

	alice := newBrowser(t, base)
	aliceUser := alice.MustRegisterAndLogin("alice")
	status, body = alice.Get("/api/presence")
	if status != 200 || string(body) != `{"online_count":0,"users":[]}` {
		t.Fatalf("nobody online: %d %s", status, body)
	}

	bobUser := newBrowser(t, base).MustRegisterAndLogin("bob")
	gw := e.Gateway("gw-1")
	gw.Open("a1", aliceUser)
	e.Expect(aliceUser, true, 1)
	e.Clock.Advance(1500 * time.Millisecond)
	gw.Open("b1", bobUser)
	e.Expect(bobUser, true, 2)

	status, body = alice.Get("/api/presence")
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	var got struct {
		OnlineCount int              `json:"online_count"`
		Users       []map[string]any `json:"users"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	if got.OnlineCount != 2 || len(got.Users) != 2 {
		t.Fatalf("got %s", body)
	}
	want := []struct {
		u     wire.User
		since string
	}{
		{bobUser, "2025-03-04T05:06:09.391Z"}, // most recent arrival first
		{aliceUser, "2025-03-04T05:06:07.891Z"},
	}
	for i, w := range want {
		u := got.Users[i]
		if u["id"] != w.u.ID || u["username"] != w.u.Username || u["nickname"] != w.u.Nickname ||
			u["avatar_url"] != w.u.AvatarURL || u["created_at"] == nil || u["online_since"] != w.since || len(u) != 6 {
			t.Fatalf("user %d: %v, want %+v online since %s", i, u, w.u, w.since)
		}
	}
}

// The list is encoded once per change of who is online, however many
// fetch it (after a burst every client does, within seconds), and gzipped
// for clients that accept it.
func TestPresenceListIsBuiltOncePerChangeAndGzipped(t *testing.T) {
	e := MustStart(t, nil)
	base := e.MustServe()
	alice := newBrowser(t, base)
	aliceUser := alice.MustRegisterAndLogin("alice")
	gw := e.Gateway("gw-1")
	gw.Open("a1", aliceUser)
	e.Expect(aliceUser, true, 1)

	get := func(encoding string) (body []byte, contentEncoding string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/api/presence", nil)
		req.Header.Set("Accept-Encoding", encoding) // set by hand: the client leaves the body as it came
		resp, err := alice.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ = io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || resp.Header.Get("Vary") != "Accept-Encoding" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, body)
		}
		return body, resp.Header.Get("Content-Encoding")
	}
	builds := func(want float64) {
		t.Helper()
		if got := e.Metric("chatroom_presence_list_builds_total"); got != want {
			t.Fatalf("list built %v times, want %v", got, want)
		}
	}

	plain, enc := get("identity")
	if enc != "" || !bytes.Contains(plain, []byte(`"username":"alice"`)) {
		t.Fatalf("plain: %q %s", enc, plain)
	}
	again, _ := get("identity")
	zipped, enc := get("gzip, deflate, br")
	if enc != "gzip" {
		t.Fatalf("Content-Encoding %q for a client that accepts gzip", enc)
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unzipped, plain) || !bytes.Equal(again, plain) {
		t.Fatalf("bodies differ: %s / %s / %s (%v)", plain, again, unzipped, err)
	}
	builds(1)

	bobUser := newBrowser(t, base).MustRegisterAndLogin("bob")
	gw.Open("b1", bobUser)
	e.Expect(bobUser, true, 2)
	if body, _ := get("identity"); !bytes.Contains(body, []byte(`"username":"bob"`)) {
		t.Fatalf("after bob arrived: %s", body)
	}
	builds(2)

	gw.Beat(cu("a1", aliceUser), cu("b1", bobUser)) // nothing new
	e.WaitConn("gw-1", "b1", true)
	get("identity")
	builds(2)

	renamed := aliceUser
	renamed.Nickname = "Alice L."
	gw.Beat(cu("a1", renamed), cu("b1", bobUser))
	waitFor(t, func() bool {
		body, _ := get("identity")
		return bytes.Contains(body, []byte(`"nickname":"Alice L."`))
	})
	builds(3)
}
