package chat_test

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/webchatroom/chatroom/internal/blob"
	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/chattest"
	"github.com/webchatroom/chatroom/internal/platform"
	"github.com/webchatroom/chatroom/services/auth"
	"github.com/webchatroom/chatroom/services/chat"
)

// gateway is a chat gateway with the real auth service on the in-process
// bus and a real HTTP listener.
type gateway struct {
	URL  string
	Bus  *bus.Conn // another service's connection
	Stop func()    // stops the gateway as SIGTERM does, returning when Run has
}

// MustServe starts auth and one gateway; cfg adjusts the gateway.
func MustServe(t testing.TB, adjust ...func(*chat.Config)) *gateway {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	connect := chattest.Bus(t)
	log := chattest.QuietLog
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
	g, err := chat.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Subscribe(); err != nil {
		t.Fatal(err)
	}
	g.Routes(app)
	app.Finish()
	ran := make(chan struct{})
	go func() { g.Run(ctx); close(ran) }()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { _ = app.Shutdown() })
	return &gateway{URL: "http://" + ln.Addr().String(), Bus: connect("peer"), Stop: func() { cancel(); <-ran }}
}

// MustLogin registers username and returns its session cookie header.
func (g *gateway) MustLogin(t testing.TB, username string) string {
	return chattest.Site{URL: g.URL}.MustLogin(t, username)
}

// MustDial opens a WebSocket and waits for the ready frame.
func (g *gateway) MustDial(t testing.TB, cookie string) *chattest.Client {
	return chattest.Site{URL: g.URL}.MustDial(t, cookie)
}

// Dial opens a WebSocket.
func (g *gateway) Dial(t testing.TB, cookie string) (*chattest.Client, *http.Response, error) {
	return chattest.Site{URL: g.URL}.Dial(t, cookie)
}

// bothIO runs a test against the Linux gateway (epoll) and the portable one.
func bothIO(t *testing.T, test func(t *testing.T, io func(*chat.Config))) {
	t.Run("epoll", func(t *testing.T) { test(t, func(*chat.Config) {}) })
	t.Run("portable", func(t *testing.T) { test(t, func(c *chat.Config) { c.PortableIO = true }) })
}
