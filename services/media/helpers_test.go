package media_test

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/blob"
	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/chattest"
	"github.com/webchatroom/chatroom/internal/platform"
	"github.com/webchatroom/chatroom/internal/wire"
	"github.com/webchatroom/chatroom/services/auth"
	"github.com/webchatroom/chatroom/services/chat"
	"github.com/webchatroom/chatroom/services/history"
	"github.com/webchatroom/chatroom/services/media"
)

// server is the media service with the real services it works with, as
// `chatroom all` runs them: auth (sessions), history (conversations, and
// the messages that carry media) and the chat gateway (WebSocket sends),
// on the in-process NATS server, one Fiber app and a real listener.
type server struct {
	chattest.Site
	Bus     *bus.Conn // another service's connection
	Blobs   blob.Store
	BlobDir string          // the folder of Blobs, when it is one
	Clock   *chattest.Clock // media's clock: uploads are stamped with it
	Media   *media.Service  // not Run: tests call Sweep
}

// MustServe starts the services on SQLite files and a blob folder.
func MustServe(tb testing.TB, limits ...func(*media.Limits)) *server {
	tb.Helper()
	dir := tb.TempDir()
	blobs, err := blob.OpenDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	s := MustServeOn(tb, MustOpenSQLite(tb), blobs, limits...)
	s.BlobDir = dir
	return s
}

// MustServeOn starts the services with media on the given store and blobs.
func MustServeOn(tb testing.TB, store media.Store, blobs blob.Store, limits ...func(*media.Limits)) *server {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	connect := chattest.Bus(tb)
	log := chattest.QuietLog
	l := media.DefaultLimits()
	for _, f := range limits {
		f(&l)
	}
	app := platform.New(platform.Config{Name: "test", BodyLimit: int(l.ImageBytes) + 1<<20, Log: log})

	authStore, err := auth.OpenSQLite(ctx, filepath.Join(tb.TempDir(), "auth.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { authStore.Close() })
	avatars, err := blob.OpenDir(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	a := auth.New(auth.Config{Store: authStore, Blobs: avatars, Bus: connect("auth"), Log: log})
	histStore, err := history.OpenSQLite(ctx, filepath.Join(tb.TempDir(), "history.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { histStore.Close() })
	h := history.New(history.Config{Store: histStore, Bus: connect("history"), Log: log})
	clock := chattest.NewClock(time.Now())
	m := media.New(media.Config{Store: store, Blobs: blobs, Bus: connect("media"), Limits: l, Log: log, Registry: app.Registry(), Now: clock.Now})
	g, err := chat.New(chat.Config{Bus: connect("chat"), App: app, Log: log, RateCount: 1000})
	if err != nil {
		tb.Fatal(err)
	}
	for _, sub := range []func() error{a.Subscribe, h.Subscribe, m.Subscribe, g.Subscribe} {
		if err := sub(); err != nil {
			tb.Fatal(err)
		}
	}
	a.Routes(app)
	h.Routes(app)
	m.Routes(app)
	g.Routes(app)
	app.AddCheck("media_store", m.Ping)
	app.Finish()
	go g.Run(ctx)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go app.Listener(ln)
	tb.Cleanup(func() { _ = app.Shutdown() })
	return &server{Site: chattest.Site{URL: "http://" + ln.Addr().String()}, Bus: connect("peer"), Blobs: blobs, Clock: clock, Media: m}
}

// Claim asks media.claim as history does when a message names an upload.
func (s *server) Claim(r wire.MediaClaimRequest) (wire.MediaClaimReply, error) {
	return bus.Request[wire.MediaClaimRequest, wire.MediaClaimReply](context.Background(), s.Bus, wire.SubjectMediaClaim, r)
}

// MustOpenSQLite opens a fresh SQLite media store in a temporary folder.
func MustOpenSQLite(tb testing.TB) *media.SQLiteStore {
	tb.Helper()
	s, err := media.OpenSQLite(context.Background(), filepath.Join(tb.TempDir(), "media.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// user is a logged-in person: the session cookie and their ID. The zero
// user is someone logged out.
type user struct {
	Cookie string
	ID     string
}

// MustUser registers and logs in username.
func (s *server) MustUser(tb testing.TB, username string) user {
	tb.Helper()
	u := user{Cookie: s.MustLogin(tb, username)}
	status, body := s.Do(tb, u.Cookie, "GET", "/api/auth/me", nil)
	if status != 200 {
		tb.Fatalf("me: %d %v", status, body)
	}
	u.ID = body["user"].(map[string]any)["id"].(string)
	return u
}

// MustDirect opens the direct conversation of a and b.
func (s *server) MustDirect(tb testing.TB, a, b user) string {
	tb.Helper()
	status, body := s.Do(tb, a.Cookie, "POST", "/api/conversations/direct", map[string]any{"user_id": b.ID})
	if status != 200 && status != 201 {
		tb.Fatalf("open direct: %d %v", status, body)
	}
	return body["conversation"].(map[string]any)["id"].(string)
}

// response is a finished request.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// ErrorCode returns error.code of a contract error body, "" otherwise.
func (r response) ErrorCode() string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// request sends a request as u (no cookie for the zero user) with extra
// headers given as name, value pairs.
func (s *server) request(tb testing.TB, u user, method, path, contentType string, body io.Reader, header ...string) response {
	tb.Helper()
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		tb.Fatal(err)
	}
	if u.Cookie != "" {
		req.Header.Set("Cookie", u.Cookie)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Get fetches path as u, with extra headers as name, value pairs.
func (s *server) Get(tb testing.TB, u user, path string, header ...string) response {
	tb.Helper()
	return s.request(tb, u, "GET", path, "", nil, header...)
}

// form is an upload; empty fields are left out of the request.
type form struct {
	Kind, Conversation, DurationMS, Waveform string
	File                                     []byte // nil: no file part
	Filename                                 string
}

// Upload posts the form to /api/media as u.
func (s *server) Upload(tb testing.TB, u user, f form) response {
	tb.Helper()
	var fields []string
	for _, kv := range [][2]string{{"kind", f.Kind}, {"conversation_id", f.Conversation}, {"duration_ms", f.DurationMS}, {"waveform", f.Waveform}} {
		if kv[1] != "" {
			fields = append(fields, kv[0], kv[1])
		}
	}
	name := f.Filename
	if name == "" {
		name = "upload.bin"
	}
	body, contentType := chattest.Multipart(fields, "file", name, f.File)
	return s.request(tb, u, "POST", "/api/media", contentType, body)
}

// MustUpload uploads and returns the media's metadata.
func (s *server) MustUpload(tb testing.TB, u user, f form) wire.Media {
	tb.Helper()
	r := s.Upload(tb, u, f)
	if r.Status != 201 {
		tb.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	var body struct{ Media wire.Media }
	if err := json.Unmarshal(r.Body, &body); err != nil {
		tb.Fatal(err)
	}
	return body.Media
}

// objects counts the files below a blob folder.
func objects(tb testing.TB, root string) int {
	tb.Helper()
	n := 0
	err := filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}
