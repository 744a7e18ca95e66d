//go:build !linux

package chat

import "net"

// poller exists on Linux only; elsewhere every connection is read by a
// goroutine of its own (rawSocket).
type poller struct{}

func newPoller(int) (*poller, error) { return nil, nil }

func (*poller) open(*conn, net.Conn) (socket, func(), error) { panic("chat: no epoll here") }

func (*poller) close() {}
