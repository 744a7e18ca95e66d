//go:build darwin || linux

package chat

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// socket moves one connection's bytes without ever blocking its caller.
type socket interface {
	// writev writes as much of bufs as the socket takes now; a short count
	// means it is full.
	writev(bufs [][]byte) (int, error)
	// waitWritable has conn.writable called once the socket takes bytes again.
	waitWritable()
	// closeWrite ends the sending side (a FIN) while reads go on.
	closeWrite() error
	// close releases the socket.
	close()
}

// writevFD writes bufs to a non-blocking descriptor; a full socket is a
// short count, not an error.
func writevFD(fd int, bufs [][]byte) (int, error) {
	for {
		n, err := unix.Writev(fd, bufs)
		switch {
		case err == nil:
			return n, nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return 0, nil
		}
		return 0, err
	}
}

// rawSocket uses Go's own network poller: the handler's goroutine reads
// (readLoop), and a goroutine waits for writability only while a socket is
// full. It runs on every Unix; the Linux gateway uses epollSocket instead,
// which needs no goroutine per connection.
type rawSocket struct {
	c    *conn
	nc   net.Conn
	raw  syscall.RawConn
	once sync.Once
}

func newRawSocket(c *conn, nc net.Conn) (*rawSocket, error) {
	raw, err := rawConn(nc)
	if err != nil {
		return nil, err
	}
	return &rawSocket{c: c, nc: nc, raw: raw}, nil
}

// rawConn is the descriptor under a WebSocket's connection.
func rawConn(nc net.Conn) (syscall.RawConn, error) {
	sc, ok := underlying(nc).(syscall.Conn)
	if !ok {
		return nil, errors.New("chat: the WebSocket's connection has no file descriptor")
	}
	return sc.SyscallConn()
}

// underlying unwraps fasthttp's hijacked connection to the TCP socket.
func underlying(nc net.Conn) net.Conn {
	if u, ok := nc.(interface{ UnsafeConn() net.Conn }); ok {
		return u.UnsafeConn()
	}
	return nc
}

func (s *rawSocket) writev(bufs [][]byte) (n int, err error) {
	if cerr := s.raw.Write(func(fd uintptr) bool {
		n, err = writevFD(int(fd), bufs)
		return true
	}); cerr != nil {
		return 0, cerr
	}
	return n, err
}

func (s *rawSocket) waitWritable() {
	go func() {
		waited := false
		if err := s.raw.Write(func(uintptr) bool {
			done := waited
			waited = true
			return done
		}); err == nil {
			s.c.writable()
		}
	}()
}

func (s *rawSocket) closeWrite() error {
	if cw, ok := underlying(s.nc).(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("chat: cannot half-close this connection")
}

func (s *rawSocket) close() {
	s.once.Do(func() {
		_ = s.nc.SetDeadline(time.Now()) // wakes the read loop: fasthttp's Close of a hijacked socket waits for the handler
		_ = s.nc.Close()
	})
}

// readLoop reads until the connection ends, on the handler's goroutine.
func (s *rawSocket) readLoop() {
	buf := make([]byte, 16<<10)
	for {
		var n int
		var err error
		if rerr := s.raw.Read(func(fd uintptr) bool {
			n, err = unix.Read(int(fd), buf)
			return !errors.Is(err, unix.EAGAIN)
		}); errors.Is(err, unix.EINTR) {
			continue
		} else if rerr != nil || err != nil || n <= 0 {
			s.c.shut()
			return
		}
		s.c.received(buf[:n])
	}
}

// openSocket takes over the connection's socket; start begins reading it
// (and, with PortableIO, reads until the connection ends).
func (s *Service) openSocket(c *conn, nc net.Conn) (socket, func(), error) {
	if s.poller != nil {
		return s.poller.open(c, nc)
	}
	rs, err := newRawSocket(c, nc)
	if err != nil {
		return nil, nil, err
	}
	return rs, rs.readLoop, nil
}
