package platform_test

// The app under test, its test routes and the HTTP helpers.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/platform"
	"github.com/webchatroom/chatroom/internal/testenv"
	"github.com/webchatroom/chatroom/internal/wire"
)

const publicOrigin = "https://chat.example.com"

// server is a platform app with test routes, served on a real listener.
type server struct {
	app    *platform.App
	url    string // http://127.0.0.1:port
	echoes atomic.Int64
	logs   *testenv.Buffer
}

func verify(_ context.Context, token string) (wire.SessionVerifyReply, error) {
	switch token {
	case "good-token":
		return wire.SessionVerifyReply{SessionID: "s1", User: wire.User{ID: "u1", Username: "ann", Nickname: "Ann"}}, nil
	case "nats-down":
		return wire.SessionVerifyReply{}, &apperr.Error{Code: apperr.Unavailable, Message: "A service is not answering; try again shortly."}
	}
	return wire.SessionVerifyReply{}, apperr.Errorf(apperr.Unauthorized, "Your session has ended.")
}

// MustServe builds the app from cfg with the test routes and serves it
// until the test ends.
func MustServe(tb testing.TB, cfg platform.Config) *server {
	tb.Helper()
	s := &server{logs: &testenv.Buffer{}}
	cfg.Log = slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	app := platform.New(cfg)
	app.Post("/api/echo", func(c *fiber.Ctx) error {
		s.echoes.Add(1)
		return c.JSON(fiber.Map{"echo": string(c.Body())})
	})
	app.Delete("/api/echo", func(c *fiber.Ctx) error {
		s.echoes.Add(1)
		return c.SendStatus(fiber.StatusNoContent)
	})
	app.Get("/api/boom", func(c *fiber.Ctx) error {
		return apperr.Errorf(apperr.Conflict, "That name is taken.")
	})
	app.Get("/api/field", func(c *fiber.Ctx) error {
		return fmt.Errorf("validate: %w", apperr.FieldErrorf("nickname", apperr.Invalid, "Nickname is too long."))
	})
	app.Get("/api/panic", func(c *fiber.Ctx) error {
		panic("secret panic text: token=hunter2")
	})
	app.Get("/api/internal", func(c *fiber.Ctx) error {
		return fmt.Errorf("load: %w", errors.New("sql: password=hunter2 rejected"))
	})
	app.Get("/api/me", platform.RequireUser(verify), func(c *fiber.Ctx) error {
		sess, ok := platform.Session(c)
		if !ok {
			return errors.New("no session behind RequireUser")
		}
		return c.JSON(fiber.Map{"user": sess.User, "session_id": sess.SessionID})
	})
	app.Finish()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = app.Listener(ln)
	}()
	tb.Cleanup(func() {
		_ = app.ShutdownWithTimeout(5 * time.Second)
		<-done
	})
	s.app = app
	s.url = "http://" + ln.Addr().String()
	return s
}

var client = &http.Client{Timeout: 10 * time.Second}

// MustDo sends a request with headers (and a body) and reads the answer.
func MustDo(tb testing.TB, method, url string, body []byte, headers map[string]string) (*http.Response, []byte) {
	tb.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read %s %s: %v", method, url, err)
	}
	return resp, b
}

// contractError checks that b is exactly {"error":{"code":…,"message":…}}
// (plus "field" when wantField is set) and returns it.
func contractError(tb testing.TB, resp *http.Response, b []byte, wantField bool) wire.ErrorBody {
	tb.Helper()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		tb.Errorf("error Content-Type = %q, want application/json", ct)
	}
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(b, &outer); err != nil {
		tb.Fatalf("error body %q is not a JSON object: %v", b, err)
	}
	if len(outer) != 1 || outer["error"] == nil {
		tb.Fatalf("error body %s: want exactly one key, \"error\"", b)
	}
	var inner map[string]any
	if err := json.Unmarshal(outer["error"], &inner); err != nil {
		tb.Fatalf("error object %s: %v", outer["error"], err)
	}
	keys := make([]string, 0, len(inner))
	for k, v := range inner {
		if _, ok := v.(string); !ok {
			tb.Errorf("error.%s = %v, want a string", k, v)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"code", "message"}
	if wantField {
		want = []string{"code", "field", "message"}
	}
	if !slices.Equal(keys, want) {
		tb.Errorf("error body %s has keys %v, want %v", b, keys, want)
	}
	var e wire.ErrorBody
	_ = json.Unmarshal(outer["error"], &e)
	if e.Message == "" {
		tb.Errorf("error body %s has an empty message", b)
	}
	return e
}

// MustRaw writes a raw HTTP/1.1 request on a new connection and reads the answer.
func MustRaw(tb testing.TB, baseURL, request string) (*http.Response, []byte) {
	tb.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(baseURL, "http://"))
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		tb.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		tb.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read body: %v", err)
	}
	return resp, b
}
