package main

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/chattest"
	"github.com/webchatroom/chatroom/internal/testenv"
)

// chatSite is a running chat room for the scenario tests, however it is
// deployed.
type chatSite struct {
	chattest.Site
	// restartStore kills (SIGKILL) the process that holds the message
	// store and starts it again, returning when it is ready.
	restartStore func(t *testing.T)
}

// startAll runs `chatroom all` on a fresh data folder.
func startAll(t *testing.T) *chatSite {
	data := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	args := []string{"all", "--addr", addr, "--data", data, "--chat-rate-count", "100000", "--limit-registrations", "100000"}
	p := MustStart(t, nil, args...)
	base := "http://" + addr
	testenv.WaitHTTP(t, base+"/readyz", 30*time.Second)
	s := &chatSite{Site: chattest.Site{URL: base}}
	s.restartStore = func(t *testing.T) {
		p.Kill()
		p = MustStart(t, nil, args...)
		testenv.WaitHTTP(t, base+"/readyz", 30*time.Second)
	}
	return s
}

func TestChatAll(t *testing.T) {
	runChatScenarios(t, startAll(t))
}

func runChatScenarios(t *testing.T, s *chatSite) {
	// presence first, before other scenarios' departures are announced
	t.Run("presence counts tabs once", func(t *testing.T) { testPresence(t, s) })
	t.Run("lobby reaches everyone", func(t *testing.T) { testLobby(t, s) })
	t.Run("direct message reaches only its members", func(t *testing.T) { testDirect(t, s) })
	t.Run("server sets sender seq and time", func(t *testing.T) { testServerFields(t, s) })
	t.Run("duplicate client_id stored once", func(t *testing.T) { testDuplicate(t, s) })
	t.Run("concurrent senders give contiguous seqs", func(t *testing.T) { testConcurrent(t, s) })
	t.Run("reconnect catches up by seq", func(t *testing.T) { testCatchUp(t, s) })
	t.Run("bad input gets errors", func(t *testing.T) { testBadInput(t, s) })
	t.Run("a newcomer does not inherit the lobby's past as unread", func(t *testing.T) { testNewcomer(t, s) })
	t.Run("pictures and voice messages", func(t *testing.T) { testMedia(t, s) })
	t.Run("kill -9 loses no acked message", func(t *testing.T) { testCrash(t, s) })
}

var nameSeq struct {
	sync.Mutex
	n int
}

// uniq makes a username unique within the run.
func uniq(base string) string {
	nameSeq.Lock()
	defer nameSeq.Unlock()
	nameSeq.n++
	return fmt.Sprintf("%s_%d", base, nameSeq.n)
}

func sendText(t *testing.T, c *chattest.Client, conv, clientID, text string) {
	t.Helper()
	c.Send(t, map[string]any{"type": "send", "client_id": clientID, "conversation_id": conv, "kind": "text", "text": text})
}

// ack waits for the ack of clientID and returns its message.
func ack(t *testing.T, c *chattest.Client, clientID string) map[string]any {
	t.Helper()
	f := c.Answer(t, clientID)
	if f["type"] == "error" {
		t.Fatalf("send %s refused: %v", clientID, f)
	}
	return f["message"].(map[string]any)
}

// nextMessage waits for a message frame whose text is text.
func nextMessage(t *testing.T, c *chattest.Client, text string) map[string]any {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-c.Frames:
			if !ok {
				t.Fatal("closed waiting for a message")
			}
			if f["type"] == "message" {
				if m := f["message"].(map[string]any); m["text"] == text {
					return m
				}
			}
		case <-deadline:
			t.Fatalf("message %q not delivered", text)
		}
	}
}

// noMessage asserts no message frame with text arrives within d.
func noMessage(t *testing.T, c *chattest.Client, text string, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f, ok := <-c.Frames:
			if !ok {
				return
			}
			if f["type"] == "message" && f["message"].(map[string]any)["text"] == text {
				t.Fatalf("%q was delivered to a non-member", text)
			}
		case <-deadline:
			return
		}
	}
}

func testLobby(t *testing.T, s *chatSite) {
	a, b, c := s.MustDial(t, s.MustLogin(t, uniq("ann"))), s.MustDial(t, s.MustLogin(t, uniq("bob"))), s.MustDial(t, s.MustLogin(t, uniq("cy")))
	sendText(t, a, "lobby", "l-1", "大家好 hello lobby")
	m := ack(t, a, "l-1")
	for _, r := range []*chattest.Client{b, c} {
		got := nextMessage(t, r, "大家好 hello lobby")
		if got["id"] != m["id"] || got["seq"] != m["seq"] {
			t.Fatalf("delivered %v, acked %v", got, m)
		}
	}
	noMessage(t, a, "大家好 hello lobby", 200*time.Millisecond) // the sender's socket got the ack instead
}

func testDirect(t *testing.T, s *chatSite) {
	annCookie, bobCookie, eveCookie := s.MustLogin(t, uniq("ann")), s.MustLogin(t, uniq("bob")), s.MustLogin(t, uniq("eve"))
	a, a2, b, e := s.MustDial(t, annCookie), s.MustDial(t, annCookie), s.MustDial(t, bobCookie), s.MustDial(t, eveCookie)
	status, body := s.Do(t, annCookie, "POST", "/api/conversations/direct", map[string]any{"user_id": b.Me})
	if status != 200 && status != 201 {
		t.Fatalf("open direct: %d %v", status, body)
	}
	conv := body["conversation"].(map[string]any)["id"].(string)
	sendText(t, a, conv, "d-1", "secret for bob")
	ack(t, a, "d-1")
	nextMessage(t, b, "secret for bob")
	nextMessage(t, a2, "secret for bob") // the sender's other tab
	noMessage(t, e, "secret for bob", 500*time.Millisecond)
	for _, path := range []string{"/api/conversations/" + conv + "/messages", "/api/conversations/" + conv + "/messages?after=0"} {
		if status, body := s.Do(t, eveCookie, "GET", path, nil); status != 404 {
			t.Fatalf("third user reads the DM: %d %v", status, body)
		}
	}
	if status, _ := s.Do(t, eveCookie, "POST", "/api/conversations/"+conv+"/read", map[string]any{"seq": 1}); status != 404 {
		t.Fatalf("third user marks the DM read: %d", status)
	}
	sendText(t, e, conv, "d-eve", "let me in")
	if f := e.Next(t, "error"); f["client_id"] != "d-eve" || f["code"] != "not_found" {
		t.Fatalf("third user writes to the DM: %v", f)
	}
	_, list := s.Do(t, eveCookie, "GET", "/api/conversations", nil)
	for _, c := range list["conversations"].([]any) {
		if c.(map[string]any)["id"] == conv {
			t.Fatal("the DM is in the third user's conversation list")
		}
	}
}

func testServerFields(t *testing.T, s *chatSite) {
	cookie := s.MustLogin(t, uniq("mallory"))
	c := s.MustDial(t, cookie)
	before := time.Now().Add(-time.Second)
	c.Send(t, map[string]any{"type": "send", "client_id": "forge-1", "conversation_id": "lobby", "kind": "text", "text": "forged?",
		"sender": map[string]any{"id": "someone-else", "username": "admin"}, "sender_id": "someone-else",
		"seq": 999999, "created_at": "2001-01-01T00:00:00.000Z", "id": "my-own-id"})
	m := ack(t, c, "forge-1")
	if m["sender"].(map[string]any)["id"] != c.Me || m["id"] == "my-own-id" || m["seq"].(float64) == 999999 {
		t.Fatalf("client-set fields were kept: %v", m)
	}
	at, err := time.Parse(time.RFC3339, m["created_at"].(string))
	if err != nil || at.Before(before) || at.After(time.Now().Add(time.Second)) {
		t.Fatalf("created_at %v is not the server's time", m["created_at"])
	}
}

func testDuplicate(t *testing.T, s *chatSite) {
	cookie := s.MustLogin(t, uniq("dup"))
	c := s.MustDial(t, cookie)
	sendText(t, c, "lobby", "same-id", "only once")
	first := ack(t, c, "same-id")
	sendText(t, c, "lobby", "same-id", "only once")
	second := ack(t, c, "same-id")
	if first["id"] != second["id"] || first["seq"] != second["seq"] {
		t.Fatalf("resend stored again: %v vs %v", first, second)
	}
	seq := int(first["seq"].(float64))
	_, body := s.Do(t, cookie, "GET", fmt.Sprintf("/api/conversations/lobby/messages?after=%d&limit=200", seq-1), nil)
	n := 0
	for _, m := range body["messages"].([]any) {
		if m.(map[string]any)["client_id"] == "same-id" && m.(map[string]any)["sender"].(map[string]any)["id"] == c.Me {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("history holds %d copies", n)
	}
}

// allMessages pages through a conversation from after.
func allMessages(t *testing.T, s *chatSite, cookie, conv string, after int) []map[string]any {
	t.Helper()
	var out []map[string]any
	for {
		status, body := s.Do(t, cookie, "GET", fmt.Sprintf("/api/conversations/%s/messages?after=%d&limit=200", conv, after), nil)
		if status != 200 {
			t.Fatalf("page after %d: %d %v", after, status, body)
		}
		msgs := body["messages"].([]any)
		for _, m := range msgs {
			out = append(out, m.(map[string]any))
		}
		if len(msgs) > 0 {
			after = int(msgs[len(msgs)-1].(map[string]any)["seq"].(float64))
		}
		if more, _ := body["has_more"].(bool); !more || len(msgs) == 0 {
			return out
		}
	}
}

func testConcurrent(t *testing.T, s *chatSite) {
	cookie := s.MustLogin(t, uniq("watcher"))
	_, body := s.Do(t, cookie, "GET", "/api/conversations/lobby/messages?limit=1", nil)
	start := 0
	if msgs := body["messages"].([]any); len(msgs) > 0 {
		start = int(msgs[0].(map[string]any)["seq"].(float64))
	}
	const senders, each = 5, 100
	acked := make(chan string, senders*each)
	var wg sync.WaitGroup
	for i := 0; i < senders; i++ {
		c := s.MustDial(t, s.MustLogin(t, uniq("burst")))
		wg.Add(1)
		go func(i int, c *chattest.Client) {
			defer wg.Done()
			for j := 0; j < each; j++ {
				sendText(t, c, "lobby", fmt.Sprintf("b%d-%d", i, j), fmt.Sprintf("burst %d %d", i, j))
			}
			for j := 0; j < each; j++ {
				acked <- ack(t, c, fmt.Sprintf("b%d-%d", i, j))["id"].(string)
			}
		}(i, c)
	}
	wg.Wait()
	close(acked)
	msgs := allMessages(t, s, cookie, "lobby", start)
	seen := map[string]int{}
	for i, m := range msgs {
		if seq := int(m["seq"].(float64)); seq != start+i+1 {
			t.Fatalf("seq %d at position %d: a hole or a repeat", seq, i)
		}
		seen[m["id"].(string)]++
	}
	n := 0
	for id := range acked {
		n++
		if seen[id] != 1 {
			t.Fatalf("acked message %s is in history %d times", id, seen[id])
		}
	}
	if n != senders*each {
		t.Fatalf("%d acks", n)
	}
}

func testCatchUp(t *testing.T, s *chatSite) {
	senderCookie, readerCookie := s.MustLogin(t, uniq("talker")), s.MustLogin(t, uniq("sleeper"))
	sender, reader := s.MustDial(t, senderCookie), s.MustDial(t, readerCookie)
	sendText(t, sender, "lobby", "before-gap", "before the gap")
	last := int(nextMessage(t, reader, "before the gap")["seq"].(float64))
	_ = reader.WS.Close()
	var want []string
	for i := 0; i < 10; i++ {
		id := fmt.Sprintf("gap-%d", i)
		sendText(t, sender, "lobby", id, "missed "+id)
		want = append(want, ack(t, sender, id)["id"].(string))
	}
	s.MustDial(t, readerCookie)
	got := allMessages(t, s, readerCookie, "lobby", last)
	if len(got) != 10 {
		t.Fatalf("after=%d returned %d messages, want exactly the 10 missed", last, len(got))
	}
	for i, m := range got {
		if m["id"] != want[i] {
			t.Fatalf("message %d is %v, want %s", i, m["id"], want[i])
		}
	}
}

// presenceOf waits for a presence frame about userID (others are skipped);
// with want nil it asserts none arrives within d.
func presenceOf(t *testing.T, c *chattest.Client, userID string, d time.Duration, expect bool) map[string]any {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f, ok := <-c.Frames:
			if !ok {
				t.Fatal("closed waiting for presence")
			}
			if f["type"] == "presence" && f["user"].(map[string]any)["id"] == userID {
				if !expect {
					t.Fatalf("unexpected presence frame %v", f)
				}
				return f
			}
		case <-deadline:
			if expect {
				t.Fatalf("no presence frame about %s within %v", userID, d)
			}
			return nil
		}
	}
}

func testPresence(t *testing.T, s *chatSite) {
	watcher := s.MustDial(t, s.MustLogin(t, uniq("watch")))
	cookie := s.MustLogin(t, uniq("tabs"))
	_, before := s.Do(t, cookie, "GET", "/api/presence", nil)
	base := int(before["online_count"].(float64))
	tab1 := s.MustDial(t, cookie)
	arrived := presenceOf(t, watcher, tab1.Me, 5*time.Second, true)
	if arrived["online"] != true || int(arrived["online_count"].(float64)) != base+1 {
		t.Fatalf("arrival %v (base %d)", arrived, base)
	}
	tab2 := s.MustDial(t, cookie)
	presenceOf(t, watcher, tab1.Me, 500*time.Millisecond, false)
	_, now := s.Do(t, cookie, "GET", "/api/presence", nil)
	if int(now["online_count"].(float64)) != base+1 {
		t.Fatalf("two tabs counted twice: %v", now["online_count"])
	}
	found := false
	for _, u := range now["users"].([]any) {
		if u.(map[string]any)["id"] == tab1.Me && u.(map[string]any)["online_since"] != nil {
			found = true
		}
	}
	if !found {
		t.Fatalf("the user is not in the online list with online_since: %v", now["users"])
	}
	_ = tab1.WS.Close()
	presenceOf(t, watcher, tab1.Me, 3*time.Second, false) // one tab still open
	_ = tab2.WS.Close()
	left := presenceOf(t, watcher, tab1.Me, 15*time.Second, true)
	if left["online"] != false || int(left["online_count"].(float64)) != base {
		t.Fatalf("departure %v", left)
	}
}

func testBadInput(t *testing.T, s *chatSite) {
	c := s.MustDial(t, s.MustLogin(t, uniq("typo")))
	long := make([]rune, 4001)
	for i := range long {
		long[i] = '字'
	}
	for text, code := range map[string]string{"": "text_empty", "   ": "text_empty", string(long): "text_too_long"} {
		sendText(t, c, "lobby", "bad-"+code+fmt.Sprint(len(text)), text)
		if f := c.Next(t, "error"); f["code"] != code {
			t.Fatalf("text of %d runes: %v, want %s", len([]rune(text)), f, code)
		}
	}
	sendText(t, c, "no-such-conversation", "bad-conv", "hello?")
	if f := c.Next(t, "error"); f["code"] != "not_found" {
		t.Fatalf("unknown conversation: %v", f)
	}
	sendText(t, c, "lobby", "ok-after", string(long[:4000]))
	ack(t, c, "ok-after") // 4000 characters is allowed, and the connection still works
}

func testCrash(t *testing.T, s *chatSite) {
	cookie := s.MustLogin(t, uniq("crash"))
	c := s.MustDial(t, cookie)
	var mu sync.Mutex
	var ackedIDs []string
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id := fmt.Sprintf("crash-%d", i)
			b := map[string]any{"type": "send", "client_id": id, "conversation_id": "lobby", "kind": "text", "text": id}
			if err := c.WS.WriteJSON(b); err != nil {
				return
			}
			for f := range c.Frames {
				if f["type"] == "ack" && f["client_id"] == id {
					mu.Lock()
					ackedIDs = append(ackedIDs, f["message"].(map[string]any)["id"].(string))
					mu.Unlock()
					break
				}
				if f["type"] == "error" && f["client_id"] == id {
					break
				}
			}
		}
	}()
	time.Sleep(700 * time.Millisecond)
	s.restartStore(t)
	close(stop)
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(ackedIDs) < 5 {
		t.Fatalf("only %d messages acked before the crash", len(ackedIDs))
	}
	msgs := allMessages(t, s, s.MustLogin(t, uniq("auditor")), "lobby", 0)
	have := map[string]bool{}
	for _, m := range msgs {
		have[m["id"].(string)] = true
	}
	for _, id := range ackedIDs {
		if !have[id] {
			t.Fatalf("acked message %s lost in the crash", id)
		}
	}
	t.Logf("%d acked messages, all present after kill -9", len(ackedIDs))
}

func lobbyUnread(t *testing.T, s *chatSite, cookie string) int {
	t.Helper()
	_, body := s.Do(t, cookie, "GET", "/api/conversations", nil)
	return int(body["conversations"].([]any)[0].(map[string]any)["unread"].(float64))
}

func testNewcomer(t *testing.T, s *chatSite) {
	old := s.MustDial(t, s.MustLogin(t, uniq("oldtimer")))
	sendText(t, old, "lobby", "past-1", "before the newcomer")
	ack(t, old, "past-1")
	cookie := s.MustLogin(t, uniq("newcomer"))
	deadline := time.Now().Add(3 * time.Second)
	for lobbyUnread(t, s, cookie) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("a new account starts with %d unread lobby messages", lobbyUnread(t, s, cookie))
		}
		time.Sleep(50 * time.Millisecond)
	}
	sendText(t, old, "lobby", "past-2", "welcome!")
	ack(t, old, "past-2")
	if n := lobbyUnread(t, s, cookie); n != 1 {
		t.Fatalf("after one new message: %d unread, want 1", n)
	}
}
