package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
)

// FerretDB's SQLite backend runs an update as a read followed by a separate
// write, so concurrent $inc/$push/findAndModify on one document lose updates.
// serializer is a wire-protocol proxy in front of FerretDB that lets one
// command at a time through, across all connections, which restores
// MongoDB's per-document atomicity (at the cost of concurrency).
type serializer struct {
	backend string // FerretDB's own address
	logger  *slog.Logger

	cmd sync.Mutex // held from forwarding a request until its reply is read

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// serve accepts clients on l until ctx is done, then closes every connection.
func (s *serializer) serve(ctx context.Context, l net.Listener) {
	s.conns = make(map[net.Conn]struct{})
	go func() {
		<-ctx.Done()
		l.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		s.closed = true
		for c := range s.conns {
			c.Close()
		}
	}()
	var wg sync.WaitGroup
	for {
		client, err := l.Accept()
		if err != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.proxy(client); err != nil && ctx.Err() == nil {
				s.logger.Debug("proxy connection closed", "error", err)
			}
		}()
	}
	wg.Wait()
}

// track adds c to the open connections; once shutting down it closes c instead.
func (s *serializer) track(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return
	}
	s.conns[c] = struct{}{}
}

func (s *serializer) untrack(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	c.Close()
}

// proxy forwards one client's requests to its own FerretDB connection.
func (s *serializer) proxy(client net.Conn) error {
	s.track(client)
	defer s.untrack(client)
	backend, err := net.Dial("tcp", s.backend)
	if err != nil {
		return err
	}
	s.track(backend)
	defer s.untrack(backend)

	for {
		req, err := readMsg(client)
		if err != nil {
			return err
		}
		s.cmd.Lock()
		reply, err := roundTrip(backend, req)
		s.cmd.Unlock()
		if err != nil {
			return err
		}
		// FerretDB answers even requests flagged moreToCome (w:0); the client reads no reply.
		if moreToCome(req) {
			continue
		}
		if _, err := client.Write(reply); err != nil {
			return err
		}
	}
}

// roundTrip writes req to backend and reads its reply.
func roundTrip(backend net.Conn, req []byte) ([]byte, error) {
	if _, err := backend.Write(req); err != nil {
		return nil, err
	}
	return readMsg(backend)
}

// readMsg reads one wire-protocol message: a 16-byte header whose first int32 is the total length.
func readMsg(r io.Reader) ([]byte, error) {
	var hdr [16]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(hdr[:])
	if n < 16 || n > 64<<20 {
		return nil, fmt.Errorf("bad message length %d", n)
	}
	msg := make([]byte, n)
	copy(msg, hdr[:])
	_, err := io.ReadFull(r, msg[16:])
	return msg, err
}

// moreToCome reports whether msg is an OP_MSG whose sender expects no reply.
func moreToCome(msg []byte) bool {
	const opMsg, moreToComeBit = 2013, 1 << 1
	return len(msg) >= 20 &&
		binary.LittleEndian.Uint32(msg[12:]) == opMsg &&
		binary.LittleEndian.Uint32(msg[16:])&moreToComeBit != 0
}
