package chat

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// poller reads every connection of a gateway from one epoll instance per
// loop, so an idle connection costs no goroutine, stack or buffer: after
// the handshake the gateway takes its own descriptor of the socket and the
// handler returns (DESIGN §7: as little memory per idle connection as
// possible).
type poller struct {
	loops []*epollLoop
	next  atomic.Uint32
}

type epollLoop struct {
	epfd  int
	mu    sync.RWMutex
	conns map[int32]*conn
	buf   []byte // shared by the loop's reads
	stop  atomic.Bool
}

func newPoller(loops int) (*poller, error) {
	p := &poller{}
	for range loops {
		fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			p.close()
			return nil, fmt.Errorf("epoll: %w", err)
		}
		l := &epollLoop{epfd: fd, conns: map[int32]*conn{}, buf: make([]byte, 64<<10)}
		p.loops = append(p.loops, l)
		go l.run()
	}
	return p, nil
}

// close ends the loops (within their one-second wait).
func (p *poller) close() {
	for _, l := range p.loops {
		l.stop.Store(true)
	}
}

// open takes over the socket of nc for c; start has the loop read it.
func (p *poller) open(c *conn, nc net.Conn) (socket, func(), error) {
	fd, err := dupFD(nc)
	if err != nil {
		return nil, nil, err
	}
	l := p.loops[int(p.next.Add(1))%len(p.loops)]
	s := &epollSocket{fd: fd, loop: l}
	start := func() {
		l.mu.Lock()
		l.conns[int32(fd)] = c
		l.mu.Unlock()
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd)}
		if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			c.svc.log.Error("epoll add", "err", err)
			c.shut()
		}
	}
	return s, start, nil
}

func (l *epollLoop) run() {
	events := make([]unix.EpollEvent, 256)
	for !l.stop.Load() {
		n, err := unix.EpollWait(l.epfd, events, 1000)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		for _, ev := range events[:n] {
			l.mu.RLock()
			c := l.conns[ev.Fd]
			l.mu.RUnlock()
			if c == nil {
				continue
			}
			if ev.Events&unix.EPOLLOUT != 0 {
				c.writable()
			}
			if ev.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
				l.read(c)
			}
		}
	}
	_ = unix.Close(l.epfd)
}

// read drains the socket (epoll is edge-triggered): until a short read.
func (l *epollLoop) read(c *conn) {
	s := c.sock.(*epollSocket)
	for {
		n, err := s.read(c, l.buf)
		switch {
		case errors.Is(err, unix.EAGAIN):
			return
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil || n == 0:
			c.shut()
			return
		}
		c.received(l.buf[:n])
		if n < len(l.buf) {
			return
		}
	}
}

// epollSocket is the gateway's own descriptor of a connection.
type epollSocket struct {
	fd   int
	loop *epollLoop
}

// read reads under the connection's lock so the descriptor cannot be
// closed (and its number reused) meanwhile.
func (s *epollSocket) read(c *conn, buf []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, unix.EBADF
	}
	return unix.Read(s.fd, buf)
}

func (s *epollSocket) writev(bufs [][]byte) (int, error) { return writevFD(s.fd, bufs) }

// waitWritable needs nothing: the edge-triggered EPOLLOUT comes by itself.
func (s *epollSocket) waitWritable() {}

func (s *epollSocket) closeWrite() error { return unix.Shutdown(s.fd, unix.SHUT_WR) }

// close is called under the connection's lock, once.
func (s *epollSocket) close() {
	s.loop.mu.Lock()
	delete(s.loop.conns, int32(s.fd))
	s.loop.mu.Unlock()
	_ = unix.Close(s.fd)
}

// dupFD takes a descriptor of its own for the socket under nc, so the
// socket outlives the WebSocket handler (fasthttp closes its descriptor when
// the handler returns).
func dupFD(nc net.Conn) (int, error) {
	raw, err := rawConn(nc)
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	if err := raw.Control(func(f uintptr) {
		fd, derr = unix.FcntlInt(f, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, fmt.Errorf("dup: %w", derr)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return -1, err
	}
	return fd, nil
}
