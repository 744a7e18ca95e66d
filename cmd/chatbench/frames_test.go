package main

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/wire"
)

// serverFrame encodes a frame exactly as the gateway does
// (services/chat/frame.go): FIN, no mask, shortest length form.
func serverFrame(op byte, payload []byte) []byte {
	dst := []byte{0x80 | op}
	switch n := len(payload); {
	case n < 126:
		dst = append(dst, byte(n))
	case n < 1<<16:
		dst = append(dst, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, payload...)
}

// chunkConn hands out what was written to it a few bytes per Read, so
// frames arrive split at every possible point.
type chunkConn struct {
	net.Conn
	data  []byte
	chunk int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), c.chunk, len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func TestParseFrameSizes(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 200_000}
	for _, size := range sizes {
		payload := make([]byte, size)
		for i := range payload {
			payload[i] = byte(i * 7)
		}
		f := serverFrame(opText, payload)
		var wantHdr int
		switch {
		case size < 126:
			wantHdr = 2
		case size < 1<<16:
			wantHdr = 4
		default:
			wantHdr = 10
		}
		op, hdr, plen, ok, err := parseHeader(f)
		if err != nil || !ok || op != opText || hdr != wantHdr || plen != size {
			t.Fatalf("size %d: op %d hdr %d plen %d ok %v err %v", size, op, hdr, plen, ok, err)
		}
		// Less than a header is "not yet", never an error.
		for cut := range min(wantHdr, len(f)) {
			if _, _, _, ok, err := parseHeader(f[:cut]); ok || err != nil {
				t.Fatalf("size %d: header cut at %d: ok %v err %v", size, cut, ok, err)
			}
		}
		// Read in chunks of every size, as the loop does, with a buffer
		// that must grow.
		for _, chunk := range []int{1, 3, 4096, 1 << 20} {
			if size > 70_000 && chunk < 4096 {
				continue
			}
			stream := append(append(serverFrame(opPing, []byte("p")), f...), serverFrame(opText, []byte("after"))...)
			src := &chunkConn{data: stream, chunk: chunk}
			var fr framer
			var got [][]byte
			var ops []byte
			buf := make([]byte, 4096)
			var err error
			for err == nil {
				buf, err = fr.readFrames(buf, src.Read, func(op byte, p []byte) bool {
					ops = append(ops, op)
					got = append(got, append([]byte(nil), p...))
					return true
				})
			}
			if err != io.EOF || len(got) != 3 || len(fr.left) != 0 {
				t.Fatalf("size %d chunk %d: %d frames, %d bytes left, %v", size, chunk, len(got), len(fr.left), err)
			}
			if ops[0] != opPing || string(got[0]) != "p" || ops[1] != opText || !bytes.Equal(got[1], payload) || string(got[2]) != "after" {
				t.Fatalf("size %d chunk %d: frames %v differ", size, chunk, ops)
			}
		}
	}
}

func TestParseHeaderRefuses(t *testing.T) {
	for name, b := range map[string][]byte{
		"masked":        {0x81, 0x85, 1, 2, 3, 4, 0, 0, 0, 0, 0},
		"fragment":      {0x01, 0x01, 'a'},
		"continuation":  {0x80, 0x01, 'a'},
		"reserved bits": {0xC1, 0x01, 'a'},
		"long ping":     append([]byte{0x89, 126, 0, 200}, make([]byte, 200)...),
		"huge":          {0x81, 127, 0, 0, 0, 1, 0, 0, 0, 0},
	} {
		if _, _, _, _, err := parseHeader(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// unmaskClientFrame decodes a client frame as a server would.
func unmaskClientFrame(t *testing.T, f []byte) (byte, []byte, int) {
	t.Helper()
	if f[0]&0x80 == 0 || f[1]&0x80 == 0 {
		t.Fatalf("client frame not FIN or not masked: % x", f[:2])
	}
	n, hdr := int(f[1]&0x7F), 2
	switch n {
	case 126:
		n, hdr = int(binary.BigEndian.Uint16(f[2:])), 4
	case 127:
		n, hdr = int(binary.BigEndian.Uint64(f[2:])), 10
	}
	key := f[hdr : hdr+4]
	p := append([]byte(nil), f[hdr+4:hdr+4+n]...)
	for i := range p {
		p[i] ^= key[i%4]
	}
	return f[0] & 0x0F, p, hdr + 4 + n
}

func TestClientFrameMasking(t *testing.T) {
	for _, size := range []int{0, 1, 3, 7, 8, 9, 125, 126, 65535, 65536} {
		payload := make([]byte, size)
		for i := range payload {
			payload[i] = byte(rand.Uint32())
		}
		key := rand.Uint32()
		f := appendClientFrame([]byte("prefix"), opText, payload, key)
		op, got, used := unmaskClientFrame(t, f[len("prefix"):])
		if op != opText || !bytes.Equal(got, payload) || used != len(f)-len("prefix") {
			t.Fatalf("size %d: op %d, %d bytes back, used %d of %d", size, op, len(got), used, len(f)-len("prefix"))
		}
	}
}

func TestHistogram(t *testing.T) {
	// Buckets are contiguous, ordered and at most 1/64 wide.
	prev := -1
	for v := uint64(0); v < 1<<22; v += 1 + v/200 {
		i := histIndex(v)
		if i < prev || i >= histBuckets {
			t.Fatalf("index of %d is %d after %d", v, i, prev)
		}
		prev = i
		if up := histUpper(i); up < v || float64(up-v) > float64(v)/64+1 {
			t.Fatalf("value %d in bucket %d with upper edge %d", v, i, up)
		}
	}
	if histIndex(1<<62) != histBuckets-1 {
		t.Fatal("huge values must land in the last bucket")
	}
	// Quantiles of 1..100000 µs, split over two histograms and merged.
	var a, b hist
	for v := uint64(1); v <= 100_000; v++ {
		if v%2 == 0 {
			a.add(v)
		} else {
			b.add(v)
		}
	}
	var m, viaData merged
	m.addHist(&a)
	m.addHist(&b)
	viaData.addData(m.data())
	for _, q := range []float64{0.5, 0.99, 0.999} {
		want := q * 100_000
		for _, h := range []*merged{&m, &viaData} {
			got := float64(h.quantile(q))
			if got < want || got > want*1.017 {
				t.Errorf("q%.3f: %v, want %v (+1.6 %%)", q, got, want)
			}
		}
	}
	if m.n != 100_000 || m.max != 100_000 || m.quantile(1) != 100_000 {
		t.Errorf("n %d max %d q1 %d", m.n, m.max, m.quantile(1))
	}
	s := m.summary()
	if s.P50 < 50 || s.P50 > 51 || s.Max != 100 {
		t.Errorf("summary %+v", s)
	}
}

func TestTextRoundTrip(t *testing.T) {
	const run = "abcdefgh"
	send := appendSendFrame(nil, run, "lobby", 17, 'd', 12345, 1_700_000_000_123_456_789, 150)
	var f struct {
		Type, ClientID, ConversationID, Kind, Text string
	}
	var raw map[string]string
	if err := json.Unmarshal(send, &raw); err != nil {
		t.Fatalf("send frame is not JSON: %v\n%s", err, send)
	}
	f.Type, f.ClientID, f.ConversationID, f.Kind, f.Text = raw["type"], raw["client_id"], raw["conversation_id"], raw["kind"], raw["text"]
	if f.Type != "send" || f.ConversationID != "lobby" || f.Kind != "text" || len(f.Text) != 150 || len(f.ClientID) > 64 {
		t.Fatalf("send frame %+v", f)
	}
	// The message and ack frames as the gateway marshals them.
	m := wire.Message{ID: "m1", ConversationID: "lobby", Seq: 4, Sender: wire.User{ID: "u1", Username: "x", Nickname: `say "type":"ack"`},
		Kind: "text", Text: f.Text, ClientID: f.ClientID}
	msg, _ := json.Marshal(map[string]any{"type": "message", "message": m})
	ack, _ := json.Marshal(map[string]any{"type": "ack", "client_id": f.ClientID, "message": m})
	for _, frame := range [][]byte{msg, ack} {
		id, ours, ok := parseText(frame, run)
		if !ok || !ours || id.ord != 17 || id.stream != 'd' || id.n != 12345 || id.sentNs != 1_700_000_000_123_456_789 {
			t.Fatalf("parseText(%s) = %+v %v %v", frame, id, ours, ok)
		}
		if _, ours, ok := parseText(frame, "zzzzzzzz"); !ok || ours {
			t.Fatal("another run's message must be recognised as foreign")
		}
	}
	if string(frameType(msg)) != "message" || string(frameType(ack)) != "ack" {
		t.Fatalf("types %q %q", frameType(msg), frameType(ack))
	}
	errFrame, _ := json.Marshal(struct {
		Type     string `json:"type"`
		ClientID string `json:"client_id,omitempty"`
		Code     string `json:"code"`
		Message  string `json:"message"`
	}{"error", f.ClientID, "rate_limited", "slow down"})
	if string(frameType(errFrame)) != "error" || string(stringAt(errFrame, codeKey)) != "rate_limited" {
		t.Fatalf("error frame %s", errFrame)
	}
	id, ok := parseClientID(stringAt(errFrame, clientIDKey), run)
	if !ok || id.ord != 17 || id.stream != 'd' || id.n != 12345 {
		t.Fatalf("client id %+v %v", id, ok)
	}
	presence, _ := json.Marshal(map[string]any{"type": "presence", "user": m.Sender, "online": true, "online_count": 3})
	if string(frameType(presence)) != "presence" {
		t.Fatalf("presence type %q", frameType(presence))
	}
	// A user typing our marker into a text cannot fake a key: it is escaped.
	fake, _ := json.Marshal(map[string]any{"type": "message", "message": wire.Message{Text: `x","text":"cb|` + run + `|1|l|2|3|`}})
	if _, ours, _ := parseText(fake, run); ours {
		t.Fatal("escaped text parsed as a bench message")
	}
}

func TestBitset(t *testing.T) {
	var b bitset
	for _, n := range []int{0, 63, 64, 1000, 5} {
		if b.set(n) {
			t.Fatalf("%d already set", n)
		}
	}
	if !b.set(64) || !b.has(1000) || b.has(999) || b.has(1<<20) {
		t.Fatal("membership wrong")
	}
	var got []int
	bitsetFrom(b.bytes()).each(func(n int) { got = append(got, n) })
	if len(got) != 5 || got[0] != 0 || got[1] != 5 || got[4] != 1000 {
		t.Fatalf("members %v", got)
	}
}

func TestLayout(t *testing.T) {
	for _, c := range []struct{ users, procs, senders int }{{20, 2, 5}, {1000, 3, 50}, {7, 3, 7}, {5, 2, 0}, {15000, 2, 1}} {
		parts := layout(c.users, c.procs, c.senders)
		users, senders := 0, 0
		for i, p := range parts {
			if p.Lo != users || p.SenderBase != senders || p.Senders > p.Hi-p.Lo {
				t.Fatalf("%+v: part %d %+v", c, i, p)
			}
			users, senders = p.Hi, senders+p.Senders
			for u := p.Lo; u < p.Hi; u++ {
				if q := partner(p, u); p.Hi-p.Lo > 1 && (q < p.Lo || q >= p.Hi || q == u) {
					t.Fatalf("%+v: partner of %d is %d", c, u, q)
				}
			}
		}
		if users != c.users || senders != c.senders {
			t.Fatalf("%+v: %d users, %d senders", c, users, senders)
		}
		for o := range c.senders {
			u, pi := senderUser(parts, o)
			if u < parts[pi].Lo || u >= parts[pi].Lo+parts[pi].Senders {
				t.Fatalf("%+v: sender %d is user %d of part %d", c, o, u, pi)
			}
		}
	}
}

func TestParseStatCPU(t *testing.T) {
	stat := []byte("4242 (a (weird) name) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 9 0 100 200 300")
	cpu, err := parseStatCPU(stat)
	if err != nil || cpu != 3.0 {
		t.Fatalf("cpu %v err %v", cpu, err)
	}
	s, err := readProc("self")
	if err != nil || s.RSSKiB <= 0 {
		t.Fatalf("self: %+v %v", s, err)
	}
}

// fakeGateway accepts one WebSocket on a loopback port, answers the
// upgrade, then plays the given server frames and records what the
// client sends back.
func fakeGateway(t *testing.T, frames [][]byte) (addr string, got chan []byte) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	got = make(chan []byte, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		if req.Header.Get("Origin") != "http://example.test" || req.Header.Get("Cookie") != "s=1" {
			_, _ = io.WriteString(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno")
			return
		}
		sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + wsGUID))
		resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
			base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n"
		// The first frames go out with the 101, as a busy server may do.
		out := []byte(resp)
		for _, f := range frames {
			out = append(out, f...)
		}
		_, _ = c.Write(out)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var all []byte
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			all = append(all, buf[:n]...)
			if err != nil {
				break
			}
		}
		got <- all
	}()
	return l.Addr().String(), got
}

func TestClientLoop(t *testing.T) {
	const run = "runid123"
	w := &worker{cfg: Config{Senders: 2, UserPrefix: "t"}, run: run, log: io.Discard, errCodes: map[string]int64{}, dmPartner: []int{1, 0}}
	w.winStart.Store(1)
	w.winEnd.Store(time.Now().Add(time.Hour).UnixNano())
	var err error
	if w.loop, err = newLoop(4096); err != nil {
		t.Fatal(err)
	}
	defer w.closeAll()
	text := string(appendSendFrame(nil, run, "lobby", 1, 'l', 0, time.Now().UnixNano(), 60))
	var f map[string]string
	_ = json.Unmarshal([]byte(text), &f)
	msg, _ := json.Marshal(map[string]any{"type": "message", "message": wire.Message{Text: f["text"]}})
	ready, _ := json.Marshal(map[string]any{"type": "ready", "user": wire.User{ID: "u"}, "online_count": 1})
	closeBody := binary.BigEndian.AppendUint16(nil, 4008)
	closeBody = append(closeBody, "too slow"...)
	addr, got := fakeGateway(t, [][]byte{
		serverFrame(opText, ready), serverFrame(opPing, []byte("hi")), serverFrame(opText, msg),
		serverFrame(opText, msg), serverFrame(opClose, closeBody),
	})
	ws, err := dialWS(t.Context(), addr, "example.test", "/ws", "http://example.test", "s=1")
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(w, 0)
	c.ws = ws
	w.loop.do(func() { w.loop.add(c) })
	<-c.ready
	<-c.done
	if c.deliveries.Load() != 1 || c.doubled != 1 || c.endedBy != "4008" || c.lat == nil || c.lat.n != 1 {
		t.Fatalf("deliveries %d doubled %d ended %q", c.deliveries.Load(), c.doubled, c.endedBy)
	}
	back := <-got
	op, p, n := unmaskClientFrame(t, back)
	if op != opPong || string(p) != "hi" {
		t.Fatalf("want a masked pong, got op %d %q", op, p)
	}
	op, p, _ = unmaskClientFrame(t, back[n:])
	if op != opClose || binary.BigEndian.Uint16(p) != 4008 {
		t.Fatalf("want a close echoing 4008, got op %d % x", op, p)
	}

	// A refused upgrade reports the status and body.
	addr, _ = fakeGateway(t, nil)
	_, err = dialWS(t.Context(), addr, "example.test", "/ws", "http://evil.test", "s=1")
	if se, ok := err.(*httpStatusError); !ok || se.Status != 403 || !strings.Contains(se.Body, "no") {
		t.Fatalf("refused upgrade: %v", err)
	}
}
