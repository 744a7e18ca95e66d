package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// account is a logged-in bench user.
type account struct {
	Username string
	UserID   string
	Cookie   string // Cookie header value
}

// api talks to the server's REST endpoints over keep-alive connections.
type api struct {
	base    string
	clients []*http.Client // one per source address (just one without --source-ips)
}

func newAPI(base string, sourceIPs, conns int) *api {
	a := &api{base: base}
	n := max(sourceIPs, 1)
	for i := range n {
		d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
		if sourceIPs > 0 {
			d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, byte((i+2)>>8), byte((i+2)&0xFF))}
		}
		t := &http.Transport{DialContext: d.DialContext, MaxIdleConns: conns, MaxIdleConnsPerHost: conns,
			IdleConnTimeout: 90 * time.Second, DisableCompression: true}
		a.clients = append(a.clients, &http.Client{Transport: t, Timeout: 60 * time.Second})
	}
	return a
}

// client picks the HTTP client of user index u (100 users per source address).
func (a *api) client(u int) *http.Client { return a.clients[(u/100)%len(a.clients)] }

// apiError is an error answer of the contract: {"error":{"code","message"}}.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

func (a *api) do(ctx context.Context, u int, method, path, contentType, cookie string, body []byte, out any) (*http.Response, error) {
	var resp *http.Response
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
			}
		}
		req, _ := http.NewRequestWithContext(ctx, method, a.base+path, bytes.NewReader(body))
		req.Header.Set("Origin", a.base) // unsafe methods need a same-origin Origin (DESIGN §6)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err = a.client(u).Do(req)
		if err != nil {
			continue // refused or reset: the server may be busy; retry
		}
		data, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rerr != nil {
			err = rerr
			continue
		}
		if resp.StatusCode >= 400 {
			e := &apiError{Status: resp.StatusCode}
			var m struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if json.Unmarshal(data, &m) == nil {
				e.Code, e.Message = m.Error.Code, m.Error.Message
			} else {
				e.Message = strings.TrimSpace(string(data))
			}
			if resp.StatusCode == 502 || resp.StatusCode == 503 || resp.StatusCode == 504 {
				err = e
				continue
			}
			return resp, e
		}
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				return resp, fmt.Errorf("%s %s: %w", method, path, err)
			}
		}
		return resp, nil
	}
	return resp, err
}

type userReply struct {
	User struct {
		ID string `json:"id"`
	} `json:"user"`
}

// register creates the user; an existing one is fine.
func (a *api) register(ctx context.Context, u int, username, password string) (created bool, err error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("username", username)
	_ = w.WriteField("nickname", "Bench "+username)
	_ = w.WriteField("password", password)
	_ = w.Close()
	_, err = a.do(ctx, u, http.MethodPost, "/api/auth/register", w.FormDataContentType(), "", buf.Bytes(), nil)
	var e *apiError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &e) && e.Status == 409:
		return false, nil
	case errors.As(err, &e) && e.Status == 429:
		return false, fmt.Errorf("register %s: %w — registrations are limited per IP: start the server with "+
			"CHATROOM_LIMIT_REGISTRATIONS=100000 (--limit-registrations) or pass --source-ips", username, err)
	}
	return false, fmt.Errorf("register %s: %w", username, err)
}

// login returns the session of username.
func (a *api) login(ctx context.Context, u int, username, password string) (account, error) {
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	var r userReply
	resp, err := a.do(ctx, u, http.MethodPost, "/api/auth/login", "application/json", "", body, &r)
	if err != nil {
		return account{}, fmt.Errorf("login %s: %w", username, err)
	}
	var cookies []string
	for _, c := range resp.Cookies() {
		if c.Value != "" {
			cookies = append(cookies, c.Name+"="+c.Value)
		}
	}
	if len(cookies) == 0 || r.User.ID == "" {
		return account{}, fmt.Errorf("login %s: no session cookie or user id in the answer", username)
	}
	return account{Username: username, UserID: r.User.ID, Cookie: strings.Join(cookies, "; ")}, nil
}

// me checks a cached session; ok is false when it is no longer valid.
func (a *api) me(ctx context.Context, u int, cookie string) (userID string, ok bool, err error) {
	var r userReply
	_, err = a.do(ctx, u, http.MethodGet, "/api/auth/me", "", cookie, nil, &r)
	var e *apiError
	if errors.As(err, &e) && e.Status == 401 {
		return "", false, nil
	}
	return r.User.ID, err == nil, err
}

// presence fetches GET /api/presence as a browser does (gzip accepted)
// and reports the bytes that came over the wire and whether they were
// gzipped.
func (a *api) presence(ctx context.Context, u int, cookie string) (n int64, gzipped bool, err error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/api/presence", nil)
	req.Header.Set("Cookie", cookie)
	req.Header.Set("Accept-Encoding", "gzip, deflate, br")
	resp, err := a.client(u).Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	n, err = io.Copy(io.Discard, resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET /api/presence: HTTP %d", resp.StatusCode)
	}
	return n, resp.Header.Get("Content-Encoding") == "gzip", err
}

// direct opens (gets or creates) the direct conversation with peerID.
func (a *api) direct(ctx context.Context, u int, cookie, peerID string) (string, error) {
	body, _ := json.Marshal(map[string]string{"user_id": peerID})
	var r struct {
		Conversation struct {
			ID string `json:"id"`
		} `json:"conversation"`
	}
	if _, err := a.do(ctx, u, http.MethodPost, "/api/conversations/direct", "application/json", cookie, body, &r); err != nil {
		return "", fmt.Errorf("open direct conversation: %w", err)
	}
	if r.Conversation.ID == "" {
		return "", errors.New("open direct conversation: no id in the answer")
	}
	return r.Conversation.ID, nil
}

// closeIdle drops kept-alive connections once a phase is done (the server
// times idle ones out with an unsolicited 400 that net/http would log).
func (a *api) closeIdle() {
	for _, c := range a.clients {
		c.CloseIdleConnections()
	}
}

// metricsSample reads a few Go runtime gauges from the server's /metrics
// (absent when the endpoint is not there).
func (a *api) metricsSample(ctx context.Context) map[string]float64 {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/metrics", nil)
	resp, err := a.clients[0].Do(req)
	if err != nil {
		return nil
	}
	defer a.closeIdle()
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil
	}
	want := map[string]bool{"go_goroutines": true, "go_memstats_heap_inuse_bytes": true, "go_memstats_stack_inuse_bytes": true,
		"go_memstats_sys_bytes": true, "chatroom_ws_connections": true}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if ok && want[name] {
			var v float64
			if _, err := fmt.Sscan(val, &v); err == nil {
				out[name] = v
			}
		}
	}
	return out
}

// cookieCache keeps sessions across runs: lines "username\tuser id\tcookie"
// in one file per (url, prefix), appended by every worker (one write per
// line with O_APPEND); the last line of a username wins.
type cookieCache struct {
	path string
	mu   sync.Mutex
	f    *os.File
	byU  map[string]account
}

func cookieCachePath(base, prefix string) string {
	sum := sha256.Sum256([]byte(base + "\n" + prefix))
	return filepath.Join(os.TempDir(), "chatbench-"+hex.EncodeToString(sum[:8])+".cookies")
}

func openCookieCache(base, prefix string) *cookieCache {
	c := &cookieCache{path: cookieCachePath(base, prefix), byU: map[string]account{}}
	if data, err := os.ReadFile(c.path); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Split(line, "\t")
			if len(f) == 3 {
				c.byU[f[0]] = account{Username: f[0], UserID: f[1], Cookie: f[2]}
			}
		}
	}
	c.f, _ = os.OpenFile(c.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	return c
}

func (c *cookieCache) get(username string) (account, bool) {
	if c == nil {
		return account{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.byU[username]
	return a, ok
}

func (c *cookieCache) put(a account) {
	if c == nil || c.f == nil {
		return
	}
	_, _ = c.f.WriteString(a.Username + "\t" + a.UserID + "\t" + a.Cookie + "\n")
}

func (c *cookieCache) close() {
	if c != nil && c.f != nil {
		c.f.Close()
	}
}
