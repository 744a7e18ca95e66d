package platform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/platform"
	"github.com/webchatroom/chatroom/internal/wire"
)

func TestErrorBodies(t *testing.T) {
	s := MustServe(t, platform.Config{Name: "t", PublicOrigins: []string{publicOrigin}})
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
		message      string // exact, when set
		field        string
	}{
		{"GET", "/api/boom", 409, apperr.Conflict, "That name is taken.", ""},
		{"GET", "/api/field", 400, apperr.Invalid, "Nickname is too long.", "nickname"},
		{"GET", "/api/no/such/route", 404, apperr.NotFound, "", ""},
		{"POST", "/api/no/such/route", 404, apperr.NotFound, "", ""},
		{"GET", "/api", 404, apperr.NotFound, "", ""},
		{"GET", "/not-api-either", 404, apperr.NotFound, "", ""},
		{"GET", "/api/panic", 500, apperr.Internal, "", ""},
		{"GET", "/api/internal", 500, apperr.Internal, "", ""},
	} {
		resp, b := MustDo(t, tc.method, s.url+tc.path, nil, nil)
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: status %d, want %d (body %s)", tc.method, tc.path, resp.StatusCode, tc.status, b)
			continue
		}
		e := contractError(t, resp, b, tc.field != "")
		if e.Code != tc.code {
			t.Errorf("%s %s: code %q, want %q", tc.method, tc.path, e.Code, tc.code)
		}
		if tc.message != "" && e.Message != tc.message {
			t.Errorf("%s %s: message %q, want %q", tc.method, tc.path, e.Message, tc.message)
		}
		if e.Field != tc.field {
			t.Errorf("%s %s: field %q, want %q", tc.method, tc.path, e.Field, tc.field)
		}
		for _, secret := range []string{"hunter2", "secret", "sql:", "panic", "Cannot GET"} {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s %s: body %s leaks %q", tc.method, tc.path, b, secret)
			}
		}
	}
	// The internal causes are in the log, for the operator.
	logs := s.logs.String()
	if !strings.Contains(logs, "sql: password=hunter2 rejected") {
		t.Errorf("the plain error's text is not logged:\n%s", logs)
	}
}

func TestBodyLimit(t *testing.T) {
	t.Run("default 4 MiB", func(t *testing.T) {
		s := MustServe(t, platform.Config{Name: "t"})
		// Only the headers are sent: the server must refuse on the declared
		// length. (Sending the 4 MiB too races the server's close against
		// the client's write: the client may see a reset, not the answer.)
		host := strings.TrimPrefix(s.url, "http://")
		resp, b := MustRaw(t, s.url, "POST /api/echo HTTP/1.1\r\nHost: "+host+"\r\n"+
			"Content-Type: application/octet-stream\r\nContent-Length: "+fmt.Sprint(4<<20+1)+"\r\n\r\n")
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413 (body %.200s)", resp.StatusCode, b)
		}
		if e := contractError(t, resp, b, false); e.Code != apperr.TooLarge {
			t.Errorf("code %q, want payload_too_large", e.Code)
		}
		if n := s.echoes.Load(); n != 0 {
			t.Errorf("the handler ran %d times on an oversized body", n)
		}
	})
	t.Run("configured", func(t *testing.T) {
		s := MustServe(t, platform.Config{Name: "t", BodyLimit: 1000})
		resp, b := MustDo(t, "POST", s.url+"/api/echo", bytes.Repeat([]byte("y"), 1000), nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("a body at the limit: status %d (%s), want 200", resp.StatusCode, b)
		}
		resp, b = MustDo(t, "POST", s.url+"/api/echo", bytes.Repeat([]byte("y"), 1001), nil)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("one byte over: status %d, want 413", resp.StatusCode)
		}
		if e := contractError(t, resp, b, false); e.Code != apperr.TooLarge {
			t.Errorf("code %q, want payload_too_large", e.Code)
		}
		// Chunked, with no declared length: counted as it arrives.
		host := strings.TrimPrefix(s.url, "http://")
		resp, b = MustRaw(t, s.url, "POST /api/echo HTTP/1.1\r\nHost: "+host+"\r\nTransfer-Encoding: chunked\r\n\r\n"+
			"3e9\r\n"+strings.Repeat("c", 1001)+"\r\n0\r\n\r\n")
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("chunked body over the limit: status %d (%s), want 413", resp.StatusCode, b)
		}
		if e := contractError(t, resp, b, false); e.Code != apperr.TooLarge {
			t.Errorf("chunked: code %q, want payload_too_large", e.Code)
		}
		if n := s.echoes.Load(); n != 1 {
			t.Errorf("handler ran %d times, want once (only for the body at the limit)", n)
		}
	})
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	s := MustServe(t, platform.Config{Name: "t", BodyLimit: 1000})
	for _, tc := range []struct {
		name    string
		method  string
		path    string
		body    []byte
		headers map[string]string
		status  int
	}{
		{"health", "GET", "/healthz", nil, nil, 200},
		{"metrics", "GET", "/metrics", nil, nil, 200},
		{"echo", "POST", "/api/echo", []byte("hi"), nil, 200},
		{"app error", "GET", "/api/boom", nil, nil, 409},
		{"unknown api path", "GET", "/api/nope", nil, nil, 404},
		{"unknown path", "GET", "/nope", nil, nil, 404},
		{"panic", "GET", "/api/panic", nil, nil, 500},
		{"plain error", "GET", "/api/internal", nil, nil, 500},
		{"unauthorized", "GET", "/api/me", nil, nil, 401},
		{"cross-site", "POST", "/api/echo", nil, map[string]string{"Origin": "https://evil.example"}, 403},
		{"too large", "POST", "/api/echo", bytes.Repeat([]byte("z"), 2000), nil, 413},
	} {
		resp, _ := MustDo(t, tc.method, s.url+tc.path, tc.body, tc.headers)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, directive := range []string{"default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, directive) {
				t.Errorf("%s: CSP %q lacks %q", tc.name, csp, directive)
			}
		}
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options = %q, want nosniff", tc.name, got)
		}
		if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("%s: X-Frame-Options = %q, want DENY", tc.name, got)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	s := MustServe(t, platform.Config{Name: "t", PublicOrigins: []string{publicOrigin}})
	own := s.url // the request's own scheme://host:port
	for _, tc := range []struct {
		name    string
		method  string
		headers map[string]string
		allowed bool
	}{
		{"own origin", "POST", map[string]string{"Origin": own}, true},
		{"own origin, upper case", "POST", map[string]string{"Origin": strings.ToUpper(own)}, true},
		{"configured public origin", "POST", map[string]string{"Origin": publicOrigin}, true},
		{"public origin behind proxy", "POST", map[string]string{"Origin": publicOrigin, "Host": "chat.example.com", "Sec-Fetch-Site": "same-origin"}, true},
		{"sec-fetch-site same-origin", "POST", map[string]string{"Sec-Fetch-Site": "same-origin"}, true},
		{"sec-fetch-site none (typed URL)", "POST", map[string]string{"Sec-Fetch-Site": "none"}, true},
		{"no headers (not a browser)", "POST", nil, true},
		{"DELETE from own origin", "DELETE", map[string]string{"Origin": own}, true},

		{"other site", "POST", map[string]string{"Origin": "https://evil.example"}, false},
		{"other site, cross-site fetch", "POST", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, false},
		{"public origin over http", "POST", map[string]string{"Origin": "http://chat.example.com"}, false},
		{"public origin as suffix", "POST", map[string]string{"Origin": "https://chat.example.com.evil.example"}, false},
		{"own host, other port", "POST", map[string]string{"Origin": "http://127.0.0.1:1"}, false},
		{"own host over https", "POST", map[string]string{"Origin": strings.Replace(own, "http://", "https://", 1)}, false},
		{"opaque origin", "POST", map[string]string{"Origin": "null"}, false},
		{"cross-site, no origin", "POST", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"same-site sibling, no origin", "POST", map[string]string{"Sec-Fetch-Site": "same-site"}, false},
		{"DELETE from other site", "DELETE", map[string]string{"Origin": "https://evil.example"}, false},
	} {
		before := s.echoes.Load()
		resp, b := MustDo(t, tc.method, s.url+"/api/echo", []byte("data"), tc.headers)
		ran := s.echoes.Load() - before
		if tc.allowed {
			if resp.StatusCode >= 400 || ran != 1 {
				t.Errorf("%s: status %d, handler ran %d times; want allowed (%s)", tc.name, resp.StatusCode, ran, b)
			}
			continue
		}
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", tc.name, resp.StatusCode)
			continue
		}
		if e := contractError(t, resp, b, false); e.Code != apperr.ForbiddenOrigin {
			t.Errorf("%s: code %q, want forbidden_origin", tc.name, e.Code)
		}
		if ran != 0 {
			t.Errorf("%s: refused, but the handler ran", tc.name)
		}
	}

	// Safe methods are not checked: a GET from another site is served.
	resp, b := MustDo(t, "GET", s.url+"/healthz", nil, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("cross-site GET: status %d (%s), want 200", resp.StatusCode, b)
	}
}

func TestHealthz(t *testing.T) {
	s := MustServe(t, platform.Config{Name: "t"})
	resp, b := MustDo(t, "GET", s.url+"/healthz", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d (%s)", resp.StatusCode, b)
	}
	var body struct{ Status string }
	if err := json.Unmarshal(b, &body); err != nil || body.Status != "ok" {
		t.Errorf("body %s, want status ok", b)
	}
}

type readyBody struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func TestReadyz(t *testing.T) {
	s := MustServe(t, platform.Config{Name: "t"})
	var natsErr atomic.Value
	natsErr.Store("")
	s.app.AddCheck("nats", func(context.Context) error {
		if msg := natsErr.Load().(string); msg != "" {
			return errors.New(msg)
		}
		return nil
	})
	s.app.AddCheck("sqlite", func(ctx context.Context) error { return ctx.Err() })

	resp, b := MustDo(t, "GET", s.url+"/readyz", nil, nil)
	var rb readyBody
	if err := json.Unmarshal(b, &rb); err != nil {
		t.Fatalf("body %s: %v", b, err)
	}
	if resp.StatusCode != http.StatusOK || rb.Status != "ok" || rb.Checks["nats"] != "ok" || rb.Checks["sqlite"] != "ok" || len(rb.Checks) != 2 {
		t.Fatalf("ready: status %d, body %s; want 200 with both checks ok", resp.StatusCode, b)
	}

	natsErr.Store("nats not connected")
	resp, b = MustDo(t, "GET", s.url+"/readyz", nil, nil)
	rb = readyBody{}
	if err := json.Unmarshal(b, &rb); err != nil {
		t.Fatalf("body %s: %v", b, err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("with a failing check: status %d, want 503 (%s)", resp.StatusCode, b)
	}
	if rb.Status == "ok" || rb.Checks["nats"] == "ok" || rb.Checks["nats"] == "" {
		t.Errorf("body %s: the failing check must be named and not ok", b)
	}
	if rb.Checks["sqlite"] != "ok" {
		t.Errorf("body %s: the healthy check must still say ok", b)
	}

	natsErr.Store("")
	if resp, b := MustDo(t, "GET", s.url+"/readyz", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("after recovery: status %d (%s), want 200", resp.StatusCode, b)
	}
}

func TestReadyzWithoutChecks(t *testing.T) {
	s := MustServe(t, platform.Config{Name: "t"})
	if resp, b := MustDo(t, "GET", s.url+"/readyz", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("status %d (%s), want 200", resp.StatusCode, b)
	}
}

func TestMetrics(t *testing.T) {
	s := MustServe(t, platform.Config{Name: "t"})
	for range 3 {
		MustDo(t, "POST", s.url+"/api/echo", []byte("x"), nil)
	}
	MustDo(t, "GET", s.url+"/api/boom", nil, nil)
	// Unknown paths must not each make a new time series.
	MustDo(t, "GET", s.url+"/random-path-8d1f0a", nil, nil)
	MustDo(t, "GET", s.url+"/api/random-path-77c2e4", nil, nil)

	resp, b := MustDo(t, "GET", s.url+"/metrics", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want Prometheus text", ct)
	}
	text := string(b)
	for _, want := range []string{
		`chatroom_http_requests_total{method="POST",route="/api/echo",service="t",status="200"} 3`,
		`chatroom_http_requests_total{method="GET",route="/api/boom",service="t",status="409"} 1`,
		`chatroom_http_request_duration_seconds_count{method="POST",route="/api/echo",service="t"} 3`,
		"go_goroutines ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(text, "random-path") {
		t.Error("an unknown path became a route label: unbounded metric cardinality")
	}
	if t.Failed() {
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, "chatroom_http_requests_total") {
				t.Log(line)
			}
		}
	}
}

func TestRequireUser(t *testing.T) {
	s := MustServe(t, platform.Config{Name: "t"})
	for _, tc := range []struct {
		name    string
		cookie  string
		status  int
		code    string
		message string
	}{
		{"no cookie", "", 401, apperr.Unauthorized, ""},
		{"verifier says unauthorized", "stale-token", 401, apperr.Unauthorized, "Your session has ended."},
		{"verifier unavailable", "nats-down", 503, apperr.Unavailable, "A service is not answering; try again shortly."},
	} {
		headers := map[string]string{}
		if tc.cookie != "" {
			headers["Cookie"] = platform.SessionCookie + "=" + tc.cookie
		}
		resp, b := MustDo(t, "GET", s.url+"/api/me", nil, headers)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d (%s), want %d", tc.name, resp.StatusCode, b, tc.status)
			continue
		}
		e := contractError(t, resp, b, false)
		if e.Code != tc.code || (tc.message != "" && e.Message != tc.message) {
			t.Errorf("%s: error %+v, want code %q message %q", tc.name, e, tc.code, tc.message)
		}
	}

	resp, b := MustDo(t, "GET", s.url+"/api/me", nil, map[string]string{"Cookie": platform.SessionCookie + "=good-token"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("good token: status %d (%s)", resp.StatusCode, b)
	}
	var body struct {
		User      wire.User `json:"user"`
		SessionID string    `json:"session_id"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatal(err)
	}
	if body.User.ID != "u1" || body.User.Username != "ann" || body.SessionID != "s1" {
		t.Errorf("handler saw %+v, want user u1 (ann) of session s1", body)
	}

	// A cookie of another name is not a session.
	resp, _ = MustDo(t, "GET", s.url+"/api/me", nil, map[string]string{"Cookie": "other=good-token"})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong cookie name: status %d, want 401", resp.StatusCode)
	}
}
