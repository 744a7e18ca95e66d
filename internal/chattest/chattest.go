// Package chattest drives a running chat room the way a browser would, for
// tests: register and log in over HTTP, open WebSockets, read frames.
package chattest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// Password is the password of every user these helpers register.
const Password = "lantern-river-93"

// Site is a chat room at a base URL (http://host:port).
type Site struct{ URL string }

// MustLogin registers username (nickname "Nick <username>") if needed, logs
// in and returns the Cookie header value of the session.
func (s Site) MustLogin(tb testing.TB, username string) string {
	tb.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("username", username)
	_ = w.WriteField("nickname", "Nick "+username)
	_ = w.WriteField("password", Password)
	_ = w.Close()
	resp, err := http.Post(s.URL+"/api/auth/register", w.FormDataContentType(), &buf)
	if err != nil || (resp.StatusCode != 201 && resp.StatusCode != 409) {
		tb.Fatalf("register %s: %v %v", username, resp, err)
	}
	resp.Body.Close()
	body, _ := json.Marshal(map[string]string{"username": username, "password": Password})
	resp, err = http.Post(s.URL+"/api/auth/login", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		tb.Fatalf("login %s: %v %v", username, resp, err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "chatroom_session" {
			return c.Name + "=" + c.Value
		}
	}
	tb.Fatal("no session cookie")
	return ""
}

// Do sends a request with the session cookie and decodes a JSON answer.
func (s Site) Do(tb testing.TB, cookie, method, path string, body any) (int, map[string]any) {
	tb.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.URL+path, r)
	req.Header.Set("Cookie", cookie)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(data, &m)
	return resp.StatusCode, m
}

// Client is one WebSocket, its frames read in the background.
type Client struct {
	WS     *websocket.Conn
	Frames chan map[string]any
	closed chan *websocket.CloseError
	Me     string // user id from the ready frame
	Ready  map[string]any
}

// Dial opens /ws with the cookie and the site's own Origin.
func (s Site) Dial(tb testing.TB, cookie string) (*Client, *http.Response, error) {
	h := http.Header{"Cookie": {cookie}, "Origin": {s.URL}}
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.URL, "http")+"/ws", h)
	if err != nil {
		return nil, resp, err
	}
	c := &Client{WS: ws, Frames: make(chan map[string]any, 4096), closed: make(chan *websocket.CloseError, 1)}
	go func() {
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				ce, _ := err.(*websocket.CloseError)
				c.closed <- ce
				close(c.Frames)
				return
			}
			var m map[string]any
			if json.Unmarshal(data, &m) == nil {
				c.Frames <- m
			}
		}
	}()
	tb.Cleanup(func() { ws.Close() })
	return c, resp, nil
}

// MustDial is Dial that must succeed; it returns after the ready frame.
func (s Site) MustDial(tb testing.TB, cookie string) *Client {
	tb.Helper()
	c, resp, err := s.Dial(tb, cookie)
	if err != nil {
		tb.Fatalf("dial: %v %v", err, resp)
	}
	c.Ready = c.Next(tb, "ready")
	u, ok := c.Ready["user"].(map[string]any)
	if !ok {
		tb.Fatalf("ready frame %v", c.Ready)
	}
	c.Me = u["id"].(string)
	return c
}

// Next returns the next frame of type typ (skipping others) within 5 s.
func (c *Client) Next(tb testing.TB, typ string) map[string]any {
	tb.Helper()
	return c.NextWithin(tb, typ, 5*time.Second)
}

// NextWithin is Next with a deadline of d.
func (c *Client) NextWithin(tb testing.TB, typ string, d time.Duration) map[string]any {
	tb.Helper()
	deadline := time.After(d)
	for {
		select {
		case f, ok := <-c.Frames:
			if !ok {
				tb.Fatalf("connection closed waiting for %q", typ)
			}
			if f["type"] == typ {
				return f
			}
		case <-deadline:
			tb.Fatalf("no %q frame within %v", typ, d)
		}
	}
}

// None asserts that no frame of type typ arrives within d.
func (c *Client) None(tb testing.TB, typ string, d time.Duration) {
	tb.Helper()
	deadline := time.After(d)
	for {
		select {
		case f, ok := <-c.Frames:
			if !ok {
				return
			}
			if f["type"] == typ {
				tb.Fatalf("unexpected %q frame: %v", typ, f)
			}
		case <-deadline:
			return
		}
	}
}

// Answer returns the server's answer to the send of clientID, its ack or
// its error frame, waiting up to 10 s.
func (c *Client) Answer(tb testing.TB, clientID string) map[string]any {
	tb.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-c.Frames:
			if !ok {
				tb.Fatalf("connection closed waiting for the answer to %s", clientID)
			}
			if (f["type"] == "ack" || f["type"] == "error") && f["client_id"] == clientID {
				return f
			}
		case <-deadline:
			tb.Fatalf("no answer to %s within 10 s", clientID)
		}
	}
}

// Multipart encodes a multipart/form-data body: the fields (in the order
// given, name then value) and, when file is not nil, one file part named
// fileField. It returns the body and its Content-Type.
func Multipart(fields []string, fileField, fileName string, file []byte) (*bytes.Buffer, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(fields); i += 2 {
		_ = w.WriteField(fields[i], fields[i+1])
	}
	if file != nil {
		fw, _ := w.CreateFormFile(fileField, fileName)
		_, _ = fw.Write(file)
	}
	_ = w.Close()
	return &buf, w.FormDataContentType()
}

// Send writes one JSON frame.
func (c *Client) Send(tb testing.TB, v any) {
	tb.Helper()
	b, _ := json.Marshal(v)
	if err := c.WS.WriteMessage(websocket.TextMessage, b); err != nil {
		tb.Fatal(err)
	}
}

// Closed waits for the server to close the connection and returns the code
// (1006 when it ended without a close frame).
func (c *Client) Closed(tb testing.TB) int {
	tb.Helper()
	select {
	case ce := <-c.closed:
		if ce == nil {
			return 1006
		}
		return ce.Code
	case <-time.After(5 * time.Second):
		tb.Fatal("connection not closed within 5 s")
		return 0
	}
}
