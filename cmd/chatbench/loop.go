package main

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"
)

// loop reads every WebSocket of a worker in one goroutine: epoll says
// which sockets have data, and each gets one read() into a shared buffer
// that usually holds many frames. Compared with a goroutine blocked in
// Read per connection, this saves the wake-up and the second read() that
// returns EAGAIN on every frame, holds no buffer or stack per idle
// connection, and keeps the tool's own scheduling out of the latency it
// measures. Everything about a connection's reading happens here, so the
// receive state needs no locks; other goroutines hand work in with do.
type loop struct {
	epfd    int
	wakeR   int // pipe that wakes epoll_wait for do
	wakeW   int
	buf     []byte
	conns   []*client // by id (epoll data); nil once removed
	done    chan struct{}
	mu      sync.Mutex
	tasks   []func()
	stopNow bool
}

const wakeID = -1

func newLoop(bufSize int) (*loop, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(epfd)
		return nil, err
	}
	l := &loop{epfd: epfd, wakeR: p[0], wakeW: p[1], buf: make([]byte, bufSize), done: make(chan struct{})}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: wakeID}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, l.wakeR, &ev); err != nil {
		return nil, err
	}
	go l.run()
	return l, nil
}

// do runs f in the loop goroutine.
func (l *loop) do(f func()) {
	l.mu.Lock()
	l.tasks = append(l.tasks, f)
	l.mu.Unlock()
	_, _ = syscall.Write(l.wakeW, []byte{1})
}

// stop ends the loop once it has run the tasks before; connections stay
// open (closeAll closes them) and their done channels are closed.
func (l *loop) stop() {
	l.do(func() { l.stopNow = true })
	<-l.done
}

func (l *loop) run() {
	defer func() {
		for _, c := range l.conns {
			if c != nil {
				close(c.done)
			}
		}
		syscall.Close(l.epfd)
		syscall.Close(l.wakeR)
		syscall.Close(l.wakeW)
		close(l.done)
	}()
	events := make([]syscall.EpollEvent, 512)
	var drain [64]byte
	for !l.stopNow {
		n, err := syscall.EpollWait(l.epfd, events, -1)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			panic(fmt.Sprintf("epoll_wait: %v", err))
		}
		for _, ev := range events[:n] {
			if ev.Fd == wakeID {
				for {
					if m, _ := syscall.Read(l.wakeR, drain[:]); m <= 0 {
						break
					}
				}
				l.mu.Lock()
				tasks := l.tasks
				l.tasks = nil
				l.mu.Unlock()
				for _, f := range tasks {
					f()
				}
				continue
			}
			if c := l.conns[ev.Fd]; c != nil {
				l.readable(c)
			}
		}
	}
}

// add starts reading c: first the frames that came with the handshake,
// then whatever epoll reports.
func (l *loop) add(c *client) {
	c.id = int32(len(l.conns))
	l.conns = append(l.conns, c)
	if err := c.ws.fr.handleLeft(c.onFrame); err != nil || c.gone {
		l.remove(c, err)
		return
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: c.id}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, c.ws.fd, &ev); err != nil {
		l.remove(c, err)
	}
}

func (l *loop) readable(c *client) {
	var err error
	l.buf, err = c.ws.fr.readFrames(l.buf, c.read, c.onFrame)
	if errors.Is(err, syscall.EAGAIN) {
		return
	}
	if err != nil || c.gone {
		l.remove(c, err)
	}
}

// remove stops reading c and closes its socket; err says why it ended
// (nil after a close frame, recorded by onFrame).
func (l *loop) remove(c *client, err error) {
	if c.id < 0 || l.conns[c.id] != c {
		return
	}
	l.conns[c.id] = nil
	_ = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, c.ws.fd, nil)
	c.ws.close()
	if c.endedBy == "" && !c.w.closing.Load() {
		switch {
		case err == nil:
			c.endedBy = "closed"
		case errors.Is(err, io.EOF):
			c.endedBy = "eof"
		default:
			c.endedBy = "error"
			if c.w.closeLogs.Add(1) <= 5 {
				c.w.logf("%s: %v", c.w.cfg.username(c.user), err)
			}
		}
	}
	close(c.done)
}
