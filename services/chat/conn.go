package chat

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/webchatroom/chatroom/internal/wire"
)

// conn is one open WebSocket. Frames for it are queued without blocking and
// written by the flusher, every frame queued for the connection in one
// writev() that never blocks; what the socket does not take waits for it to
// drain. An idle connection holds no goroutine and no buffer.
type conn struct {
	id        string
	user      wire.User
	sessionID string
	expiresAt time.Time
	svc       *Service
	sock      socket

	mu        sync.Mutex
	queue     [][]byte // frames, already encoded as WebSocket frames
	queued    int      // bytes in queue
	out       []byte   // the unwritten rest of a short write
	scheduled bool     // in the flusher's list
	blocked   bool     // the socket is full: waiting until it takes bytes
	blockedAt time.Time
	closed    bool
	closing   bool // a close frame is queued; nothing more is accepted
	lingering bool // the close frame is out: reads are discarded until the client closes
	lingerAt  time.Time

	lastRead   atomic.Int64 // unix nanoseconds of the last bytes read
	reader     frameReader  // read side: used by one goroutine at a time
	work       worker
	lastTyping time.Time
}

// send queues a text frame. It never blocks: a connection whose queue is
// full is closed as too slow (its client reconnects and catches up).
func (c *conn) send(payload []byte) {
	c.push(appendFrame(nil, opText, payload), false)
}

// closeWith sends a close frame with code and reason, then shuts the socket.
func (c *conn) closeWith(code int, reason string) {
	c.push(appendFrame(nil, opClose, closePayload(code, reason)), true)
}

// push queues an encoded frame; final marks a close frame after which the
// connection is shut.
func (c *conn) push(frame []byte, final bool) {
	c.mu.Lock()
	if c.closed || c.closing {
		c.mu.Unlock()
		return
	}
	cfg := &c.svc.cfg
	if !final && (len(c.queue) >= cfg.QueueFrames || c.queued+len(frame) > cfg.QueueBytes) {
		c.svc.hub.metrics.slowClosed.Inc()
		c.shutLocked()
		c.mu.Unlock()
		return
	}
	c.queue = append(c.queue, frame)
	c.queued += len(frame)
	c.closing = final
	schedule := !c.scheduled && !c.blocked
	c.scheduled = c.scheduled || schedule
	c.mu.Unlock()
	if schedule {
		c.svc.flusher.add(c)
	}
}

// maxIovecs is how many buffers one writev() takes (Linux's IOV_MAX).
const maxIovecs = 1024

// iovecs are the buffer lists of writes in progress, reused: every write
// of every connection needs one.
var iovecs = sync.Pool{New: func() any { b := make([][]byte, 0, 16); return &b }}

// flush writes what is queued, without blocking.
func (c *conn) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scheduled = false
	if !c.closed && !c.blocked {
		c.writeLocked()
	}
}

// writeNow writes what is queued without waiting for the flusher's round.
func (c *conn) writeNow() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed && !c.blocked {
		c.writeLocked()
	}
}

// writable is called when a full socket takes bytes again.
func (c *conn) writable() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || !c.blocked {
		return
	}
	c.blocked = false
	c.writeLocked()
}

func (c *conn) writeLocked() {
	m := c.svc.hub.metrics
	scratch := iovecs.Get().(*[][]byte)
	defer func() {
		clear((*scratch)[:cap(*scratch)]) // no frame outlives its write here
		iovecs.Put(scratch)
	}()
	for len(c.out) > 0 || len(c.queue) > 0 {
		bufs := (*scratch)[:0]
		total := 0
		if len(c.out) > 0 {
			bufs = append(bufs, c.out)
			total += len(c.out)
		}
		frames := 0
		for _, f := range c.queue {
			if len(bufs) == maxIovecs {
				break
			}
			bufs = append(bufs, f)
			total += len(f)
			frames++
		}
		*scratch = bufs // keep what append grew
		n, err := c.sock.writev(bufs)
		if err != nil {
			c.shutLocked()
			return
		}
		m.writes.Inc()
		m.framesOut.Add(float64(frames)) // a short write's rest goes out from c.out
		c.queue = c.queue[frames:]
		if n < total {
			c.out = restOf(bufs, n)
			c.blocked, c.blockedAt = true, time.Now()
			c.sock.waitWritable()
			return
		}
		c.out = nil
	}
	c.queue, c.queued = nil, 0
	if c.closing && !c.lingering {
		// Closing at once could reset the connection and lose the close
		// frame with what the client still sends: end our side, read and
		// discard until the client closes too (or lingerTimeout).
		c.lingering, c.lingerAt = true, time.Now()
		if err := c.sock.closeWrite(); err != nil {
			c.shutLocked()
		}
	}
}

// lingerTimeout is how long a closed connection waits for its client to
// close too.
const lingerTimeout = 2 * time.Second

// restOf copies what a short write left of bufs.
func restOf(bufs [][]byte, n int) []byte {
	var rest []byte
	for _, b := range bufs {
		if n >= len(b) {
			n -= len(b)
			continue
		}
		rest = append(rest, b[n:]...)
		n = 0
	}
	return rest
}

// received handles bytes read off the socket.
func (c *conn) received(data []byte) {
	c.lastRead.Store(time.Now().UnixNano())
	c.mu.Lock()
	discard := c.closing
	c.mu.Unlock()
	if discard {
		return
	}
	err := c.reader.feed(data, c.svc.cfg.FrameBytes, func(op byte, payload []byte) bool {
		return c.svc.frame(c, op, payload)
	})
	if err == nil {
		return
	}
	pe := err.(*protocolError)
	if pe == errTooBig {
		c.svc.sendError(c, "", "frame_too_large", "A frame may be at most 64 KiB.")
	}
	c.closeWith(pe.code, pe.reason)
}

// shut ends the connection at once; safe to call more than once.
func (c *conn) shut() {
	c.mu.Lock()
	c.shutLocked()
	c.mu.Unlock()
}

func (c *conn) shutLocked() {
	if c.closed {
		return
	}
	c.closed = true
	c.queue, c.out = nil, nil
	c.sock.close()
	go c.svc.closed(c)
}

// stale reports a connection silent for longer than idle, or whose socket
// has been full for longer than write.
func (c *conn) stale(now time.Time, idle, write time.Duration) bool {
	if now.Sub(time.Unix(0, c.lastRead.Load())) > idle {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return (c.blocked && now.Sub(c.blockedAt) > write) || (c.lingering && now.Sub(c.lingerAt) > lingerTimeout)
}
