package chat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/chattest"
	"github.com/webchatroom/chatroom/internal/wire"
	"github.com/webchatroom/chatroom/services/chat"
)

func TestHandshakeNeedsSessionAndOrigin(t *testing.T) { bothIO(t, testHandshakeNeedsSessionAndOrigin) }

func testHandshakeNeedsSessionAndOrigin(t *testing.T, io func(*chat.Config)) {
	g := MustServe(t, io)
	cookie := g.MustLogin(t, "amy")
	url := "ws" + strings.TrimPrefix(g.URL, "http") + "/ws"
	for name, h := range map[string]http.Header{
		"no cookie":      {"Origin": {g.URL}},
		"forged cookie":  {"Origin": {g.URL}, "Cookie": {"chatroom_session=forged"}},
		"other origin":   {"Origin": {"https://evil.example"}, "Cookie": {cookie}},
		"no origin":      {"Cookie": {cookie}},
		"origin as path": {"Origin": {g.URL + ".evil.example"}, "Cookie": {cookie}},
	} {
		_, resp, err := websocket.DefaultDialer.Dial(url, h)
		if err == nil {
			t.Errorf("%s: connected", name)
			continue
		}
		if resp == nil || (resp.StatusCode != 401 && resp.StatusCode != 403) {
			t.Errorf("%s: %v %v", name, resp, err)
		}
	}
	g.MustDial(t, cookie)
}

func TestReadyAndBadFrames(t *testing.T) { bothIO(t, testReadyAndBadFrames) }

func testReadyAndBadFrames(t *testing.T, io func(*chat.Config)) {
	g := MustServe(t, io)
	c, _, err := g.Dial(t, g.MustLogin(t, "ben"))
	if err != nil {
		t.Fatal(err)
	}
	ready := c.Next(t, "ready")
	if ready["user"].(map[string]any)["username"] != "ben" || ready["online_count"].(float64) < 1 {
		t.Fatalf("ready %v", ready)
	}
	for raw, code := range map[string]string{
		"{":                          "invalid_json",
		`"just a string"`:            "invalid_json",
		`{"type":"dance"}`:           "unknown_type",
		`{"type":"send","text":"x"}`: "invalid_input",
	} {
		if err := c.WS.WriteMessage(websocket.TextMessage, []byte(raw)); err != nil {
			t.Fatal(err)
		}
		if f := c.Next(t, "error"); f["code"] != code {
			t.Errorf("%s: %v, want %s", raw, f, code)
		}
	}
	// the connection still works: a delivery reaches it
	publish(t, g.Bus, nil, "", `{"type":"message","message":{"id":"m1"}}`)
	if f := c.Next(t, "message"); f["message"].(map[string]any)["id"] != "m1" {
		t.Fatalf("after bad frames: %v", f)
	}
}

func TestOversizeFrameGetsErrorThenClose(t *testing.T) {
	bothIO(t, testOversizeFrameGetsErrorThenClose)
}

func testOversizeFrameGetsErrorThenClose(t *testing.T, io func(*chat.Config)) {
	g := MustServe(t, io)
	cookie := g.MustLogin(t, "cat")
	c := g.MustDial(t, cookie)
	big := `{"type":"send","client_id":"x","conversation_id":"lobby","kind":"text","text":"` + strings.Repeat("a", 100<<10) + `"}`
	// the server answers after 64 KiB and closes; the rest of our write may
	// then fail with "close sent", which is expected
	if err := c.WS.WriteMessage(websocket.TextMessage, []byte(big)); err != nil && err != websocket.ErrCloseSent {
		t.Fatal(err)
	}
	if f := c.Next(t, "error"); f["code"] != "frame_too_large" {
		t.Fatalf("100 KiB frame: %v", f)
	}
	if code := c.Closed(t); code != 1009 {
		t.Fatalf("close code %d, want 1009", code)
	}
	g.MustDial(t, cookie) // a new connection works
}

func TestRateLimit(t *testing.T) { bothIO(t, testRateLimit) }

func testRateLimit(t *testing.T, io func(*chat.Config)) {
	g := MustServe(t, io)
	// a stand-in history that stores nothing but answers like one
	if _, err := bus.Handle(g.Bus, wire.SubjectHistoryAppend, "history", func(_ context.Context, r wire.AppendRequest) (wire.AppendReply, error) {
		return wire.AppendReply{Message: wire.Message{ID: r.ClientID, ClientID: r.ClientID}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	c := g.MustDial(t, g.MustLogin(t, "dan"))
	for i := 0; i < 25; i++ {
		c.Send(t, map[string]any{"type": "send", "client_id": "c" + string(rune('a'+i)), "conversation_id": "lobby", "kind": "text", "text": "hi"})
	}
	acks, limited := 0, 0
	for acks+limited < 25 {
		select {
		case f := <-c.Frames:
			switch {
			case f["type"] == "ack":
				acks++
			case f["type"] == "error" && f["code"] == "rate_limited":
				limited++
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("acks %d, limited %d", acks, limited)
		}
	}
	if acks != 20 || limited != 5 {
		t.Fatalf("acks %d, rate_limited %d; want 20 and 5", acks, limited)
	}
}

func TestDeliveryReachesOnlyMembers(t *testing.T) { bothIO(t, testDeliveryReachesOnlyMembers) }

func testDeliveryReachesOnlyMembers(t *testing.T, io func(*chat.Config)) {
	g := MustServe(t, io)
	ann, bob := g.MustLogin(t, "ann"), g.MustLogin(t, "bob")
	a1, a2, b := g.MustDial(t, ann), g.MustDial(t, ann), g.MustDial(t, bob)
	annID := a1.Me
	publish(t, g.Bus, []string{annID}, "", `{"type":"message","message":{"id":"dm"}}`)
	a1.Next(t, "message")
	a2.Next(t, "message")
	b.None(t, "message", 300*time.Millisecond)
	publish(t, g.Bus, nil, "", `{"type":"message","message":{"id":"lobby"}}`)
	for _, c := range []*chattest.Client{a1, a2, b} {
		c.Next(t, "message")
	}
}

func TestSlowClientIsClosedOthersUnaffected(t *testing.T) {
	bothIO(t, testSlowClientIsClosedOthersUnaffected)
}

func testSlowClientIsClosedOthersUnaffected(t *testing.T, io func(*chat.Config)) {
	g := MustServe(t, io, func(c *chat.Config) { c.QueueBytes = 1 << 20 })
	slowCookie, fastCookie := g.MustLogin(t, "slow"), g.MustLogin(t, "fast")
	// the slow client never reads: a raw dial whose frames pile up
	slow, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(g.URL, "http")+"/ws", http.Header{"Cookie": {slowCookie}, "Origin": {g.URL}})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fast := g.MustDial(t, fastCookie)
	payload := `{"type":"message","message":{"text":"` + strings.Repeat("x", 4000) + `"}}`
	start := time.Now()
	got := 0
	receive := func(upTo int) {
		for got < upTo {
			select {
			case _, ok := <-fast.Frames:
				if !ok {
					t.Fatal("the fast client was closed")
				}
				got++
			case <-time.After(10 * time.Second):
				t.Fatalf("fast client got %d of %d", got, upTo)
			}
		}
	}
	// 12 MB: more than the socket buffers and the queue hold. The fast
	// client reads as it comes (never more than 100 frames behind); the
	// slow one never reads.
	for sent := 0; sent < 3000; sent += 50 {
		for i := 0; i < 50; i++ {
			publish(t, g.Bus, nil, "", payload)
		}
		receive(sent + 50 - 100)
	}
	receive(3000)
	t.Logf("fast client received 3000 frames in %v", time.Since(start))
	// reading now, the slow client finds what was in flight, then the end
	_ = slow.SetReadDeadline(time.Now().Add(10 * time.Second))
	n := 0
	for {
		_, _, err := slow.ReadMessage()
		if err == nil {
			n++
			continue
		}
		if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
			t.Fatalf("the slow client was never closed (read %d frames)", n)
		}
		break
	}
	if n >= 3000 {
		t.Fatalf("the slow client got all %d frames: it was never dropped", n)
	}
	t.Logf("slow client closed after %d of 3000 frames", n)
}

func TestLogoutClosesSockets(t *testing.T) { bothIO(t, testLogoutClosesSockets) }

func testLogoutClosesSockets(t *testing.T, io func(*chat.Config)) {
	g := MustServe(t, io)
	cookie := g.MustLogin(t, "eve")
	c := g.MustDial(t, cookie)
	req, _ := http.NewRequest("POST", g.URL+"/api/auth/logout", nil)
	req.Header.Set("Cookie", cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("logout: %v %v", resp, err)
	}
	if code := c.Closed(t); code != 4001 {
		t.Fatalf("close code %d, want 4001", code)
	}
}

func TestIdleConnectionIsDropped(t *testing.T) { bothIO(t, testIdleConnectionIsDropped) }

func testIdleConnectionIsDropped(t *testing.T, io func(*chat.Config)) {
	g := MustServe(t, io, func(c *chat.Config) { c.IdleTimeout = 300 * time.Millisecond; c.PingInterval = time.Hour })
	cookie := g.MustLogin(t, "fay")
	// a client that never answers pings nor sends: its reads stall
	raw, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(g.URL, "http")+"/ws", http.Header{"Cookie": {cookie}, "Origin": {g.URL}})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetPingHandler(func(string) error { return nil }) // silent
	_ = raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	for {
		if _, _, err := raw.ReadMessage(); err != nil {
			break
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("idle connection dropped after %v", d)
	}
}

func publish(t testing.TB, b *bus.Conn, members []string, except, frame string) {
	t.Helper()
	if err := b.Publish(wire.SubjectDeliver, wire.Delivery{Members: members, ExceptConn: except, Frame: json.RawMessage(frame)}); err != nil {
		t.Fatal(err)
	}
}

func TestWritesAreCoalescedUnderLoadOnly(t *testing.T) {
	bothIO(t, testWritesAreCoalescedUnderLoadOnly)
}

func testWritesAreCoalescedUnderLoadOnly(t *testing.T, io func(*chat.Config)) {
	const delay = 2 * time.Second
	g := MustServe(t, io, func(c *chat.Config) { c.WriteDelay = delay })
	c := g.MustDial(t, g.MustLogin(t, "gus"))
	time.Sleep(delay) // quiet: the next frame goes out at once
	start := time.Now()
	publish(t, g.Bus, nil, "", `{"type":"message","message":{"id":"first"}}`)
	c.Next(t, "message")
	if d := time.Since(start); d > delay/2 {
		t.Fatalf("a frame after a quiet spell took %v: it waited for the write delay", d)
	}
	framesBefore, writesBefore := wsCounters(t, g)
	for i := 0; i < 50; i++ {
		publish(t, g.Bus, nil, "", `{"type":"message","message":{"id":"burst"}}`)
	}
	for i := 0; i < 50; i++ {
		c.Next(t, "message")
	}
	// the counters move just after the write the client has already read
	frames, writes := wsCounters(t, g)
	for deadline := time.Now().Add(5 * time.Second); frames-framesBefore < 50 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		frames, writes = wsCounters(t, g)
	}
	if frames-framesBefore < 50 || writes-writesBefore > 2 {
		t.Fatalf("a burst of 50 frames took %v writes for %v frames; want them coalesced into at most 2", writes-writesBefore, frames-framesBefore)
	}
}

// wsCounters reads the gateway's frames-written and writes counters.
func wsCounters(t *testing.T, g *gateway) (frames, writes float64) {
	t.Helper()
	resp, err := http.Get(g.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	found := 0
	for _, line := range strings.Split(string(body), "\n") {
		var v float64
		if _, err := fmt.Sscanf(line, "chatroom_ws_frames_written_total %g", &v); err == nil {
			frames = v
			found++
		}
		if _, err := fmt.Sscanf(line, "chatroom_ws_writes_total %g", &v); err == nil {
			writes = v
			found++
		}
	}
	if found != 2 {
		t.Fatalf("GET /metrics has not both counters:\n%s", body)
	}
	return frames, writes
}

// The ready frame carries presence's count and, while presence holds a
// burst of changes back, presence_burst: the client fetches the online list
// when the burst is over rather than with everyone reconnecting.
func TestReadyTellsOfAPresenceBurst(t *testing.T) {
	g := MustServe(t)
	var burst atomic.Bool
	_, err := bus.Handle(g.Bus, wire.SubjectPresenceGet, "presence", func(_ context.Context, r wire.PresenceRequest) (wire.PresenceReply, error) {
		if !r.CountOnly {
			t.Error("the gateway asked presence for the whole list")
		}
		return wire.PresenceReply{OnlineCount: 7, Burst: burst.Load()}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cookie := g.MustLogin(t, "ben")
	for _, b := range []bool{false, true} {
		burst.Store(b)
		c, _, err := g.Dial(t, cookie)
		if err != nil {
			t.Fatal(err)
		}
		ready := c.Next(t, "ready")
		if _, has := ready["presence_burst"]; ready["online_count"] != 7.0 || has != b || (b && ready["presence_burst"] != true) {
			t.Fatalf("burst %v: ready %v", b, ready)
		}
	}
}
