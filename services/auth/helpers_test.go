package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/blob"
	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/chattest"
	"github.com/webchatroom/chatroom/internal/platform"
	"github.com/webchatroom/chatroom/services/auth"
)

// server is the auth service on a real Fiber app, a real listener, a real
// SQLite file, a folder for pictures and the in-process NATS server.
type server struct {
	URL   string
	Bus   *bus.Conn // a second connection, as another service would have
	Clock *chattest.Clock
	Store auth.Store
}

// MustServe starts the auth service; limits may adjust the defaults.
func MustServe(t testing.TB, limits ...func(*auth.Limits)) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	connect := chattest.Bus(t)
	blobs, err := blob.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := auth.DefaultLimits()
	for _, f := range limits {
		f(&l)
	}
	clk := chattest.NewClock(time.Now())
	log := chattest.QuietLog
	store := MustOpenSQLite(t)
	svc := auth.New(auth.Config{Store: store, Blobs: blobs, Bus: connect("auth"), Limits: l, Now: clk.Now, Log: log})
	if err := svc.Subscribe(); err != nil {
		t.Fatal(err)
	}
	app := platform.New(platform.Config{Name: "auth", BodyLimit: 6 << 20, PublicOrigins: []string{"https://chat.example.com"}, Log: log})
	svc.Routes(app)
	app.Finish()
	go svc.Run(ctx)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { _ = app.Shutdown() })
	return &server{URL: "http://" + ln.Addr().String(), Bus: connect("other"), Clock: clk, Store: store}
}

// client is one browser: a cookie jar and optional headers.
type client struct {
	t      testing.TB
	base   string
	http   *http.Client
	header http.Header
}

func (s *server) Client(t testing.TB) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: s.URL, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}, header: http.Header{}}
}

// response is a finished request: status, headers and body.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body.
func (r response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.Body, err)
	}
	return m
}

// ErrorCode returns error.code of a contract error body, "" otherwise.
func (r response) ErrorCode() string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

func (c *client) do(method, path, contentType string, body io.Reader) response {
	c.t.Helper()
	r, err := c.try(method, path, contentType, body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

func (c *client) try(method, path, contentType string, body io.Reader) (response, error) {
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		return response{}, err
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}, err
}

func (c *client) Get(path string) response { return c.do("GET", path, "", nil) }

func (c *client) PostJSON(path string, v any) response {
	b, _ := json.Marshal(v)
	return c.do("POST", path, "application/json", bytes.NewReader(b))
}

// form is a registration form; Avatar nil sends no file.
type form struct {
	Username, Nickname, Password string
	Avatar                       []byte
	Filename                     string
}

func (c *client) Register(f form) response {
	c.t.Helper()
	r, err := c.TryRegister(f)
	if err != nil {
		c.t.Fatalf("register: %v", err)
	}
	return r
}

// TryRegister posts the form and returns transport errors to the caller.
func (c *client) TryRegister(f form) (response, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("username", f.Username)
	_ = w.WriteField("nickname", f.Nickname)
	_ = w.WriteField("password", f.Password)
	if f.Avatar != nil {
		name := f.Filename
		if name == "" {
			name = "avatar.png"
		}
		fw, _ := w.CreateFormFile("avatar", name)
		_, _ = fw.Write(f.Avatar)
	}
	_ = w.Close()
	return c.try("POST", "/api/auth/register", w.FormDataContentType(), &buf)
}

func (c *client) Login(username, password string) response {
	return c.PostJSON("/api/auth/login", map[string]string{"username": username, "password": password})
}

// MustRegisterAndLogin creates an account and logs this client in.
func (c *client) MustRegisterAndLogin(username string) map[string]any {
	c.t.Helper()
	if r := c.Register(form{Username: username, Nickname: "Nick " + username, Password: goodPassword, Avatar: MustPNG(c.t, 300, 200)}); r.Status != 201 {
		c.t.Fatalf("register %s: %d %s", username, r.Status, r.Body)
	}
	r := c.Login(username, goodPassword)
	if r.Status != 200 {
		c.t.Fatalf("login %s: %d %s", username, r.Status, r.Body)
	}
	return r.JSON(c.t)["user"].(map[string]any)
}

const goodPassword = "tea-kettle-7-harbour"
