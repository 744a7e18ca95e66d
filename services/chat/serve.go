package chat

import (
	"context"
	"encoding/json"
	"net"
	"sync"
	"time"

	"github.com/gofiber/contrib/websocket"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/wire"
)

// clientFrame is every field a client frame may carry.
type clientFrame struct {
	Type           string `json:"type"`
	ClientID       string `json:"client_id"`
	ConversationID string `json:"conversation_id"`
	Kind           string `json:"kind"`
	Text           string `json:"text"`
	MediaID        string `json:"media_id"`
	Seq            int64  `json:"seq"`
}

// errorFrame is the contract's error frame.
type errorFrame struct {
	Type     string `json:"type"`
	ClientID string `json:"client_id,omitempty"`
	Code     string `json:"code"`
	Message  string `json:"message"`
}

// serve runs one connection: announce it, hand its socket to the reader
// (the gateway's epoll loop on Linux, so the handler returns at once), and
// let the flusher write the ready frame.
func (s *Service) serve(ws *websocket.Conn) {
	sess, _ := ws.Locals(sessionLocal).(wire.SessionVerifyReply)
	c := &conn{id: "c-" + ids.New(), user: sess.User, sessionID: sess.SessionID, expiresAt: sess.ExpiresAt.Time, svc: s}
	c.lastRead.Store(time.Now().UnixNano())
	left := pending(ws.NetConn())
	sock, start, err := s.openSocket(c, ws.NetConn())
	if err != nil {
		s.log.Error("take over websocket", "err", err)
		return
	}
	c.sock = sock
	ready, _ := json.Marshal(s.readyFrame(c.user))
	// ready is the first frame: it is queued before anything can reach c
	c.queue, c.queued, c.scheduled = [][]byte{appendFrame(nil, opText, ready)}, len(ready), true
	s.hub.add(c)
	s.publishConn(c, true)
	s.flusher.add(c)
	if len(left) > 0 {
		c.received(left)
	}
	start()
}

// pending returns what the client sent right behind its handshake and the
// HTTP server already read (a past deadline makes Read return only that).
func pending(nc net.Conn) []byte {
	_ = nc.SetReadDeadline(time.Now().Add(-time.Second))
	defer nc.SetReadDeadline(time.Time{})
	buf := pendingBufs.Get().(*[]byte)
	defer pendingBufs.Put(buf)
	n, _ := nc.Read(*buf)
	if n == 0 {
		return nil // the usual case: nothing came before the upgrade's answer
	}
	return append([]byte(nil), (*buf)[:n]...)
}

// pendingBufs spares every handshake a 4 KiB allocation.
var pendingBufs = sync.Pool{New: func() any { b := make([]byte, 4096); return &b }}

// closed forgets a connection once its socket is shut.
func (s *Service) closed(c *conn) {
	s.hub.remove(c)
	s.limits.forget(c.user.ID, time.Now())
	s.publishConn(c, false)
}

// frame handles one client message or control frame; false stops reading.
func (s *Service) frame(c *conn, op byte, payload []byte) bool {
	switch op {
	case opText:
		s.handle(c, payload)
	case opBinary:
		s.sendError(c, "", "invalid_json", "Frames are JSON text.")
	case opPing:
		c.push(appendFrame(nil, opPong, payload), false)
	case opClose:
		c.closeWith(closeNormal, "")
		return false
	}
	return true
}

func (s *Service) handle(c *conn, data []byte) {
	var f clientFrame
	if err := json.Unmarshal(data, &f); err != nil {
		s.sendError(c, "", "invalid_json", "The frame is not a JSON object.")
		return
	}
	s.hub.metrics.received.WithLabelValues(frameLabel(f.Type)).Inc()
	switch f.Type {
	case "send":
		if f.ClientID == "" || len(f.ClientID) > 64 {
			s.sendError(c, f.ClientID, apperr.Invalid, "A send needs a client_id of at most 64 characters.")
			return
		}
		if !s.limits.allow(c.user.ID, time.Now()) {
			s.sendError(c, f.ClientID, apperr.RateLimited, "You are sending too fast; wait a few seconds.")
			return
		}
		if !c.work.do(func() { s.send(c, f) }) {
			s.sendError(c, f.ClientID, apperr.RateLimited, "Too many messages are waiting to be stored; wait for their acks.")
		}
	case "typing":
		c.work.do(func() { s.typing(c, f) }) // a typing signal may be dropped
	case "read":
		if !c.work.do(func() { s.read(c, f) }) {
			s.sendError(c, "", apperr.RateLimited, "Too many requests are waiting; try again.")
		}
	default:
		s.sendError(c, "", "unknown_type", "Unknown frame type.")
	}
}

func frameLabel(t string) string {
	switch t {
	case "send", "typing", "read":
		return t
	}
	return "other"
}

// appendReply is wire.AppendReply with the message kept as history encoded
// it: the gateway only passes it on, so it is never decoded and encoded
// again.
type appendReply struct {
	Message   json.RawMessage `json:"message"`
	Members   []string        `json:"members"`
	Duplicate bool            `json:"duplicate"`
}

// send stores a message through history, acknowledges it to the sender and
// publishes it to the conversation's members on every gateway.
func (s *Service) send(c *conn, f clientFrame) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reply, err := bus.Request[wire.AppendRequest, appendReply](ctx, s.bus, wire.SubjectHistoryAppend, wire.AppendRequest{
		SenderID: c.user.ID, ConversationID: f.ConversationID, ClientID: f.ClientID, Kind: f.Kind, Text: f.Text, MediaID: f.MediaID,
	})
	if err != nil {
		e := apperr.As(err)
		s.sendError(c, f.ClientID, e.Code, e.Message)
		return
	}
	clientID, _ := json.Marshal(f.ClientID)
	ack := make([]byte, 0, len(reply.Message)+len(clientID)+64)
	ack = append(append(append(append(append(ack, `{"type":"ack","client_id":`...), clientID...), `,"message":`...), reply.Message...), '}')
	c.send(ack)
	c.writeNow()
	if reply.Duplicate {
		return // delivered when it was first stored
	}
	frame := make([]byte, 0, len(reply.Message)+32)
	frame = append(append(append(frame, `{"type":"message","message":`...), reply.Message...), '}')
	if err := s.bus.Publish(wire.SubjectDeliver, wire.Delivery{Members: reply.Members, ExceptConn: c.id, Frame: frame}); err != nil {
		s.log.Error("publish message", "err", err)
	}
}

// typingEvery is how often one connection's typing is relayed at most.
const typingEvery = 2 * time.Second

func (s *Service) typing(c *conn, f clientFrame) {
	now := time.Now()
	c.mu.Lock()
	last := c.lastTyping
	if now.Sub(last) < typingEvery {
		c.mu.Unlock()
		return
	}
	c.lastTyping = now
	c.mu.Unlock()
	members, err := s.membersOf(c.user.ID, f.ConversationID)
	if err != nil {
		e := apperr.As(err)
		s.sendError(c, "", e.Code, e.Message)
		return
	}
	frame, _ := json.Marshal(map[string]any{"type": "typing", "conversation_id": f.ConversationID, "user_id": c.user.ID})
	_ = s.bus.Publish(wire.SubjectDeliver, wire.Delivery{Members: members, ExceptConn: c.id, Frame: frame})
}

func (s *Service) read(c *conn, f clientFrame) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := bus.Request[wire.ReadRequest, wire.ReadReply](ctx, s.bus, wire.SubjectHistoryRead, wire.ReadRequest{UserID: c.user.ID, ConversationID: f.ConversationID, Seq: f.Seq}); err != nil {
		e := apperr.As(err)
		s.sendError(c, "", e.Code, e.Message)
		return
	}
	frame, _ := json.Marshal(map[string]any{"type": "read", "conversation_id": f.ConversationID, "seq": f.Seq})
	_ = s.bus.Publish(wire.SubjectDeliver, wire.Delivery{Members: []string{c.user.ID}, ExceptConn: c.id, Frame: frame})
}

// membersOf asks history who may read a conversation (cached: membership
// never changes for the lobby or a direct conversation).
func (s *Service) membersOf(userID, conversationID string) ([]string, error) {
	key := userID + "|" + conversationID
	s.membersMu.Lock()
	e, ok := s.members[key]
	s.membersMu.Unlock()
	if ok && time.Since(e.at) < 10*time.Minute {
		return e.members, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := bus.Request[wire.MembersRequest, wire.MembersReply](ctx, s.bus, wire.SubjectHistoryMembers, wire.MembersRequest{UserID: userID, ConversationID: conversationID})
	if err != nil {
		return nil, err
	}
	s.membersMu.Lock()
	if len(s.members) > 100_000 {
		s.members = map[string]membersEntry{}
	}
	s.members[key] = membersEntry{members: r.Members, at: time.Now()}
	s.membersMu.Unlock()
	return r.Members, nil
}

// readyFrame is a connection's first frame: the user, the online count
// and, while presence holds a burst of changes back, presence_burst (the
// client then fetches the online list once the burst is over instead of
// now, with everyone else who is reconnecting).
func (s *Service) readyFrame(u wire.User) map[string]any {
	ready := map[string]any{"type": "ready", "user": u, "online_count": 1} // this user is online, whether presence has seen it yet or not
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r, err := bus.Request[wire.PresenceRequest, wire.PresenceReply](ctx, s.bus, wire.SubjectPresenceGet, wire.PresenceRequest{CountOnly: true})
	if err != nil {
		s.log.Warn("online count", "err", err)
		return ready
	}
	ready["online_count"] = max(r.OnlineCount, 1)
	if r.Burst {
		ready["presence_burst"] = true
	}
	return ready
}

func (s *Service) publishConn(c *conn, open bool) {
	if err := s.bus.Publish(wire.SubjectPresenceConn, wire.ConnEvent{GatewayID: s.cfg.GatewayID, ConnID: c.id, User: c.user, Open: open}); err != nil {
		s.log.Warn("presence event", "err", err)
	}
}

// sendJSON answers the client's own frame (an ack or an error) at once:
// the write delay is for fan-out, and a sender waits for its ack.
func (s *Service) sendJSON(c *conn, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.log.Error("encode frame", "err", err)
		return
	}
	c.send(b)
	c.writeNow()
}

func (s *Service) sendError(c *conn, clientID, code, message string) {
	s.sendJSON(c, errorFrame{Type: "error", ClientID: clientID, Code: code, Message: message})
}

// worker runs one connection's requests in order, in a goroutine that
// exists only while there is work, so the read loop keeps reading (pongs,
// typing) while a send waits for storage.
type worker struct {
	mu      sync.Mutex
	pending []func()
	running bool
}

// maxPending bounds a connection's queued requests; the rate limit keeps
// sends far below it.
const maxPending = 256

// do queues f; false when the connection already has maxPending waiting.
func (w *worker) do(f func()) bool {
	w.mu.Lock()
	if len(w.pending) >= maxPending {
		w.mu.Unlock()
		return false
	}
	w.pending = append(w.pending, f)
	start := !w.running
	w.running = true
	w.mu.Unlock()
	if start {
		go w.run()
	}
	return true
}

func (w *worker) run() {
	for {
		w.mu.Lock()
		if len(w.pending) == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		f := w.pending[0]
		w.pending = w.pending[1:]
		w.mu.Unlock()
		f()
	}
}
