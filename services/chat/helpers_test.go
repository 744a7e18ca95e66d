package chat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/webchatroom/chatroom/internal/blob"
	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/platform"
	"github.com/webchatroom/chatroom/services/auth"
	"github.com/webchatroom/chatroom/services/chat"
)

// gateway is a chat gateway with the real auth service on the in-process
// bus and a real HTTP listener.
type gateway struct {
	URL string
	Bus *bus.Conn // another service's connection
}

// MustServe starts auth and one gateway; cfg adjusts the gateway.
func MustServe(t testing.TB, adjust ...func(*chat.Config)) *gateway {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e, err := bus.StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	connect := func(name string) *bus.Conn {
		c, err := bus.Connect(bus.Options{Embedded: e, Prefix: "test", Name: name})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, err := auth.OpenSQLite(ctx, filepath.Join(t.TempDir(), "auth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	blobs, _ := blob.OpenDir(t.TempDir())
	app := platform.New(platform.Config{Name: "t", BodyLimit: 6 << 20, Log: log})
	a := auth.New(auth.Config{Store: store, Blobs: blobs, Bus: connect("auth"), Log: log})
	if err := a.Subscribe(); err != nil {
		t.Fatal(err)
	}
	a.Routes(app)
	cfg := chat.Config{Bus: connect("chat"), App: app, Log: log}
	for _, f := range adjust {
		f(&cfg)
	}
	g := chat.New(cfg)
	if err := g.Subscribe(); err != nil {
		t.Fatal(err)
	}
	g.Routes(app)
	app.Finish()
	go g.Run(ctx)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { _ = app.Shutdown() })
	return &gateway{URL: "http://" + ln.Addr().String(), Bus: connect("peer")}
}

const password = "lantern-river-93"

// MustLogin registers username and returns its session cookie header.
func (g *gateway) MustLogin(t testing.TB, username string) string {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("username", username)
	_ = w.WriteField("nickname", "Nick "+username)
	_ = w.WriteField("password", password)
	_ = w.Close()
	resp, err := http.Post(g.URL+"/api/auth/register", w.FormDataContentType(), &buf)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("register %s: %v %v", username, resp, err)
	}
	resp.Body.Close()
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	resp, err = http.Post(g.URL+"/api/auth/login", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login %s: %v %v", username, resp, err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == platform.SessionCookie {
			return c.Name + "=" + c.Value
		}
	}
	t.Fatal("no cookie")
	return ""
}

// client is a WebSocket client reading frames in the background.
type client struct {
	t      testing.TB
	ws     *websocket.Conn
	frames chan map[string]any
	closed chan *websocket.CloseError
	me     string // user id from the ready frame
}

// Dial opens /ws with the cookie and this site's Origin.
func (g *gateway) Dial(t testing.TB, cookie string) (*client, *http.Response, error) {
	h := http.Header{"Cookie": {cookie}, "Origin": {g.URL}}
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(g.URL, "http")+"/ws", h)
	if err != nil {
		return nil, resp, err
	}
	c := &client{t: t, ws: ws, frames: make(chan map[string]any, 1024), closed: make(chan *websocket.CloseError, 1)}
	go func() {
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				ce, _ := err.(*websocket.CloseError)
				c.closed <- ce
				close(c.frames)
				return
			}
			var m map[string]any
			if json.Unmarshal(data, &m) == nil {
				c.frames <- m
			}
		}
	}()
	t.Cleanup(func() { ws.Close() })
	return c, resp, nil
}

// MustDial is Dial that must succeed and returns after the ready frame.
func (g *gateway) MustDial(t testing.TB, cookie string) *client {
	t.Helper()
	c, resp, err := g.Dial(t, cookie)
	if err != nil {
		t.Fatalf("dial: %v %v", err, resp)
	}
	f := c.Next(t, "ready")
	u, ok := f["user"].(map[string]any)
	if !ok {
		t.Fatalf("ready frame %v", f)
	}
	c.me = u["id"].(string)
	return c
}

// Next returns the next frame of the given type, failing on timeout.
func (c *client) Next(t testing.TB, typ string) map[string]any {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				t.Fatalf("connection closed waiting for %q", typ)
			}
			if f["type"] == typ {
				return f
			}
		case <-deadline:
			t.Fatalf("no %q frame within 5 s", typ)
		}
	}
}

// None asserts no frame of the type arrives within d.
func (c *client) None(t testing.TB, typ string, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				return
			}
			if f["type"] == typ {
				t.Fatalf("unexpected %q frame: %v", typ, f)
			}
		case <-deadline:
			return
		}
	}
}

func (c *client) Send(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatal(err)
	}
}

// Closed waits for the server to close the connection and returns the code.
func (c *client) Closed(t testing.TB) int {
	t.Helper()
	select {
	case ce := <-c.closed:
		if ce == nil {
			return 1006
		}
		return ce.Code
	case <-time.After(5 * time.Second):
		t.Fatal("connection not closed within 5 s")
		return 0
	}
}
