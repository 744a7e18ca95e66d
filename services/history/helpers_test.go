package history_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/blob"
	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/chattest"
	"github.com/webchatroom/chatroom/internal/platform"
	"github.com/webchatroom/chatroom/internal/wire"
	"github.com/webchatroom/chatroom/services/auth"
	"github.com/webchatroom/chatroom/services/history"
	"github.com/webchatroom/chatroom/services/media"
)

// server is the history service with the real auth and media services
// beside it: one in-process NATS server, SQLite files, one Fiber app on a
// real listener with auth's and history's routes (as `chatroom all` mounts
// them).
type server struct {
	URL   string
	Bus   *bus.Conn // a third connection, as the chat gateway has
	Store *history.SQLiteStore
}

// MustServe starts auth and history; limits may adjust history's defaults.
func MustServe(tb testing.TB, limits ...func(*history.Limits)) *server {
	tb.Helper()
	connect := chattest.Bus(tb)
	log := chattest.QuietLog
	authSvc, blobs := mustAuth(tb, connect("auth"))

	l := history.DefaultLimits()
	for _, f := range limits {
		f(&l)
	}
	store := MustOpenSQLite(tb)
	svc := history.New(history.Config{Store: store, Bus: connect("history"), Log: log, Limits: l})
	if err := svc.Subscribe(); err != nil {
		tb.Fatal(err)
	}

	mediaStore, err := media.OpenSQLite(context.Background(), filepath.Join(tb.TempDir(), "media.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { mediaStore.Close() })
	mediaSvc := media.New(media.Config{Store: mediaStore, Blobs: blobs, Bus: connect("media"), Log: log})
	if err := mediaSvc.Subscribe(); err != nil {
		tb.Fatal(err)
	}

	app := platform.New(platform.Config{Name: "test", Log: log})
	authSvc.Routes(app)
	svc.Routes(app)
	app.Finish()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go app.Listener(ln)
	tb.Cleanup(func() { _ = app.Shutdown() })
	return &server{URL: "http://" + ln.Addr().String(), Bus: connect("gateway"), Store: store}
}

// mustAuth starts the real auth service on conn (SQLite, avatars in a
// folder, which it returns for the other services).
func mustAuth(tb testing.TB, conn *bus.Conn) (*auth.Service, blob.Store) {
	tb.Helper()
	store, err := auth.OpenSQLite(context.Background(), filepath.Join(tb.TempDir(), "auth.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	blobs, err := blob.OpenDir(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	svc := auth.New(auth.Config{Store: store, Blobs: blobs, Bus: conn, Log: chattest.QuietLog})
	if err := svc.Subscribe(); err != nil {
		tb.Fatal(err)
	}
	return svc, blobs
}

// client is one logged-in browser.
type client struct {
	tb   testing.TB
	base string
	http *http.Client
	User wire.User
}

const goodPassword = "tea-kettle-7-harbour"

// MustUser registers username through auth's routes and logs in.
func (s *server) MustUser(tb testing.TB, username string) *client {
	tb.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{tb: tb, base: s.URL, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("username", username)
	_ = w.WriteField("nickname", "Nick "+username)
	_ = w.WriteField("password", goodPassword)
	_ = w.Close()
	if r := c.do("POST", "/api/auth/register", w.FormDataContentType(), &buf); r.Status != 201 {
		tb.Fatalf("register %s: %d %s", username, r.Status, r.Body)
	}
	r := c.PostJSON("/api/auth/login", map[string]string{"username": username, "password": goodPassword})
	if r.Status != 200 {
		tb.Fatalf("login %s: %d %s", username, r.Status, r.Body)
	}
	var body struct{ User wire.User }
	r.Decode(tb, &body)
	c.User = body.User
	return c
}

// Anonymous is a browser with no session.
func (s *server) Anonymous(tb testing.TB) *client {
	return &client{tb: tb, base: s.URL, http: &http.Client{Timeout: 30 * time.Second}}
}

// response is a finished request.
type response struct {
	Status int
	Body   []byte
}

// Decode reads the JSON body into v.
func (r response) Decode(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		tb.Fatalf("body %q: %v", r.Body, err)
	}
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
	c.tb.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.tb.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.tb.Fatalf("%s %s: %v", method, path, err)
	}
	return response{Status: resp.StatusCode, Body: b}
}

func (c *client) Get(path string) response { return c.do("GET", path, "", nil) }

func (c *client) PostJSON(path string, v any) response {
	b, _ := json.Marshal(v)
	return c.do("POST", path, "application/json", bytes.NewReader(b))
}

// conversationsBody is GET /api/conversations.
type conversationsBody struct {
	Conversations []wire.Conversation `json:"conversations"`
}

// MustConversations lists the client's conversations.
func (c *client) MustConversations() []wire.Conversation {
	c.tb.Helper()
	r := c.Get("/api/conversations")
	if r.Status != 200 {
		c.tb.Fatalf("conversations: %d %s", r.Status, r.Body)
	}
	var body conversationsBody
	r.Decode(c.tb, &body)
	return body.Conversations
}

// Unread is the unread count of one of the client's conversations.
func (c *client) Unread(id string) int64 {
	c.tb.Helper()
	for _, conv := range c.MustConversations() {
		if conv.ID == id {
			return conv.Unread
		}
	}
	c.tb.Fatalf("conversation %s not in %s's list", id, c.User.Username)
	return 0
}

// MustDirect opens the direct conversation with peer.
func (c *client) MustDirect(peer *client) wire.Conversation {
	c.tb.Helper()
	r := c.PostJSON("/api/conversations/direct", map[string]string{"user_id": peer.User.ID})
	if r.Status != 200 && r.Status != 201 {
		c.tb.Fatalf("open direct: %d %s", r.Status, r.Body)
	}
	var body struct{ Conversation wire.Conversation }
	r.Decode(c.tb, &body)
	return body.Conversation
}

// messagesBody is GET /api/conversations/{id}/messages.
type messagesBody struct {
	Messages []wire.Message `json:"messages"`
	HasMore  bool           `json:"has_more"`
}

// Append sends a message through the bus as the chat gateway does.
func (s *server) Append(tb testing.TB, r wire.AppendRequest) (wire.AppendReply, error) {
	tb.Helper()
	return bus.Request[wire.AppendRequest, wire.AppendReply](context.Background(), s.Bus, wire.SubjectHistoryAppend, r)
}

// MustSend stores a text message from c.
func (s *server) MustSend(tb testing.TB, c *client, conv, clientID, text string) wire.Message {
	tb.Helper()
	r, err := s.Append(tb, wire.AppendRequest{SenderID: c.User.ID, ConversationID: conv, ClientID: clientID, Kind: wire.KindText, Text: text})
	if err != nil {
		tb.Fatalf("send %s: %v", clientID, err)
	}
	return r.Message
}
