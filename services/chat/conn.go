package chat

import (
	"net"
	"sync"
	"time"

	"github.com/webchatroom/chatroom/internal/wire"
)

// conn is one open WebSocket. Frames for it are queued without blocking;
// a writer goroutine, started only while there is something to write,
// sends everything queued in one write(). An idle connection holds no
// writer goroutine and no buffer.
type conn struct {
	id        string
	user      wire.User
	sessionID string
	expiresAt time.Time
	netConn   net.Conn
	hub       *hub

	mu      sync.Mutex
	queue   [][]byte // frames, already encoded as WebSocket frames
	queued  int      // bytes in queue
	writing bool
	closed  bool
	closing bool // a close frame is queued; nothing more is accepted

	lastTyping time.Time
}

// send queues a text frame. It never blocks: a connection whose queue is
// full is closed as too slow (its client reconnects and catches up).
func (c *conn) send(payload []byte) {
	c.push(appendFrame(nil, opText, payload), false)
}

// push queues an encoded frame; final marks a close frame after which the
// connection is shut.
func (c *conn) push(frame []byte, final bool) {
	c.mu.Lock()
	if c.closed || c.closing {
		c.mu.Unlock()
		return
	}
	if !final && (len(c.queue) >= c.hub.cfg.QueueFrames || c.queued+len(frame) > c.hub.cfg.QueueBytes) {
		c.mu.Unlock()
		c.hub.metrics.slowClosed.Inc()
		c.shut() // the writer may be stuck in write(): closing the socket frees it
		return
	}
	c.queue = append(c.queue, frame)
	c.queued += len(frame)
	if final {
		c.closing = true
	}
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	if start {
		go c.writeLoop()
	}
}

// closeWith sends a close frame with code and reason, then shuts the socket.
func (c *conn) closeWith(code int, reason string) {
	c.push(appendFrame(nil, opClose, closePayload(code, reason)), true)
}

func (c *conn) writeLoop() {
	var buf []byte
	for {
		c.mu.Lock()
		if len(c.queue) == 0 || c.closed {
			c.writing = false
			closing := c.closing
			c.mu.Unlock()
			if closing {
				c.shut()
			}
			return
		}
		frames := c.queue
		c.queue, c.queued = nil, 0
		c.mu.Unlock()
		buf = buf[:0]
		for _, f := range frames {
			buf = append(buf, f...)
		}
		_ = c.netConn.SetWriteDeadline(time.Now().Add(c.hub.cfg.WriteTimeout))
		if _, err := c.netConn.Write(buf); err != nil {
			c.shut()
			c.mu.Lock()
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.hub.metrics.framesOut.Add(float64(len(frames)))
		c.hub.metrics.writes.Inc()
	}
}

// shut ends the connection: a past deadline wakes the read loop and any
// write in progress (fasthttp closes a hijacked socket only when its
// handler returns, so Close alone would not), then the socket is closed.
func (c *conn) shut() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.queue = nil
	c.mu.Unlock()
	_ = c.netConn.SetDeadline(time.Now())
	_ = c.netConn.Close()
}

// drain waits up to d for the writer to send what is queued (a final error
// or close frame) before the socket is shut.
func (c *conn) drain(d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		busy := c.writing && !c.closed
		c.mu.Unlock()
		if !busy {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
