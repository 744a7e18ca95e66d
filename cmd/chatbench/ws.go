package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// WebSocket opcodes (RFC 6455 §5.2).
const (
	opCont  = 0x0
	opText  = 0x1
	opBin   = 0x2
	opClose = 0x8
	opPing  = 0x9
	opPong  = 0xA
)

// maxFrame is the largest server frame the client accepts.
const maxFrame = 16 << 20

var errProtocol = errors.New("websocket protocol error")

// wsConn is a minimal RFC 6455 client connection on a raw socket. It is
// not a net.Conn on purpose: Go's netpoller would watch every socket too
// and wake for each frame the worker's own epoll loop (loop.go) already
// reads. The socket stays blocking: writes (masked frames, from any
// goroutine, one write() per batch) block like a net.Conn's would, and the
// loop reads with recv(MSG_DONTWAIT) only when epoll says there is data.
type wsConn struct {
	fd int
	fr framer // what the loop has read but not yet handled

	wmu    sync.Mutex
	closed bool
}

// ioTimeout bounds a blocked connect, handshake read or write.
const ioTimeout = 10 * time.Second

// dialWS opens a WebSocket at path on addr (host:port; the host is
// resolved) with the given Host, Origin and Cookie headers, and checks
// the 101 answer.
func dialWS(ctx context.Context, addr, host, path, origin, cookie string) (*wsConn, error) {
	h, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("port %q: %w", portStr, err)
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", h)
	if err != nil || len(ips) == 0 {
		return nil, fmt.Errorf("resolve %s: %v", h, err)
	}
	ip := ips[0].Unmap()
	var sa syscall.Sockaddr
	family := syscall.AF_INET
	if ip.Is4() {
		sa = &syscall.SockaddrInet4{Port: port, Addr: ip.As4()}
	} else {
		family = syscall.AF_INET6
		sa = &syscall.SockaddrInet6{Port: port, Addr: ip.As16()}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, syscall.IPPROTO_TCP)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	tv := syscall.NsecToTimeval(int64(ioTimeout))
	_ = syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &tv) // connect and write
	_ = syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv) // handshake reads
	_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	for {
		err = syscall.Connect(fd, sa)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	c := &wsConn{fd: fd}
	if err := c.handshake(host, path, origin, cookie); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return c, nil
}

// Read and Write are blocking read(2) and write(2), for the handshake.
func (c *wsConn) Read(p []byte) (int, error) {
	for {
		n, err := syscall.Read(c.fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return 0, errors.New("timeout")
		case err != nil:
			return 0, err
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (c *wsConn) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := syscall.Write(c.fd, p[done:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return done, fmt.Errorf("write blocked for %v", ioTimeout)
		case err != nil:
			return done, err
		}
		done += n
	}
	return done, nil
}

// recv is one non-blocking read, for the loop (EAGAIN when nothing is there).
func (c *wsConn) recv(p []byte) (int, error) {
	n, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(c.fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))),
		uintptr(len(p)), syscall.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(n), nil
}

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

func (c *wsConn) handshake(host, path, origin, cookie string) error {
	var k [16]byte
	_, _ = rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key +
		"\r\nOrigin: " + origin + "\r\n"
	if cookie != "" {
		req += "Cookie: " + cookie + "\r\n"
	}
	req += "\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		return err
	}
	buf := make([]byte, 8192)
	n, end := 0, -1
	for end < 0 {
		if n == len(buf) {
			return fmt.Errorf("handshake: response header larger than %d bytes", len(buf))
		}
		m, err := c.Read(buf[n:])
		n += m
		end = bytes.Index(buf[:n], []byte("\r\n\r\n"))
		if err != nil && end < 0 {
			return fmt.Errorf("handshake: %w", err)
		}
	}
	head, rest := buf[:end], buf[end+4:n]
	line, fields, _ := bytes.Cut(head, []byte("\r\n"))
	f := bytes.Fields(line)
	if len(f) < 2 || !bytes.HasPrefix(f[0], []byte("HTTP/1.")) {
		return fmt.Errorf("handshake: bad status line %q", line)
	}
	status, _ := strconv.Atoi(string(f[1]))
	if status != 101 {
		// The error body (JSON with a code) usually came with the header.
		body := rest
		if len(body) == 0 {
			tv := syscall.NsecToTimeval(int64(200 * time.Millisecond))
			_ = syscall.SetsockoptTimeval(c.fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
			if m, err := c.Read(buf[n:]); err == nil {
				body = buf[end+4 : n+m]
			}
		}
		if len(body) > 300 {
			body = body[:300]
		}
		return &httpStatusError{Status: status, Body: string(body)}
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	want := base64.StdEncoding.EncodeToString(sum[:])
	accepted := false
	for _, h := range bytes.Split(fields, []byte("\r\n")) {
		name, val, ok := bytes.Cut(h, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(name), []byte("Sec-WebSocket-Accept")) {
			accepted = string(bytes.TrimSpace(val)) == want
		}
	}
	if !accepted {
		return errors.New("handshake: missing or wrong Sec-WebSocket-Accept")
	}
	// Frames the server sent right behind the 101 (the ready frame, often).
	c.fr.left = append([]byte(nil), rest...)
	return nil
}

// httpStatusError is a refused upgrade.
type httpStatusError struct {
	Status int
	Body   string
}

func (e *httpStatusError) Error() string {
	return fmt.Sprintf("upgrade refused: HTTP %d %s", e.Status, e.Body)
}

// parseHeader reads a server frame header at the start of b. need is the
// header length plus payload length; ok is false when b holds less than a
// whole header. Server frames must be unmasked and unfragmented.
func parseHeader(b []byte) (op byte, hdr, plen int, ok bool, err error) {
	if len(b) < 2 {
		return 0, 0, 0, false, nil
	}
	b0, b1 := b[0], b[1]
	if b0&0x70 != 0 || b1&0x80 != 0 {
		return 0, 0, 0, false, fmt.Errorf("%w: reserved bits or masked server frame", errProtocol)
	}
	op = b0 & 0x0F
	if b0&0x80 == 0 || op == opCont {
		return 0, 0, 0, false, fmt.Errorf("%w: fragmented frame", errProtocol)
	}
	hdr = 2
	switch n := int(b1 & 0x7F); n {
	case 126:
		if len(b) < 4 {
			return 0, 0, 0, false, nil
		}
		plen, hdr = int(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return 0, 0, 0, false, nil
		}
		l := binary.BigEndian.Uint64(b[2:])
		if l > maxFrame {
			return 0, 0, 0, false, fmt.Errorf("%w: frame of %d bytes", errProtocol, l)
		}
		plen, hdr = int(l), 10
	default:
		plen = n
	}
	if op >= opClose && plen > 125 {
		return 0, 0, 0, false, fmt.Errorf("%w: control frame of %d bytes", errProtocol, plen)
	}
	return op, hdr, plen, true, nil
}

// eachFrame calls f for every complete frame at the start of b until f
// returns false. It returns the bytes used and, when the frame after them
// is incomplete, the total length that frame needs (0 when unknown yet).
func eachFrame(b []byte, f func(op byte, payload []byte) bool) (used, need int, err error) {
	for {
		op, hdr, plen, ok, err := parseHeader(b[used:])
		if err != nil {
			return used, 0, err
		}
		if !ok {
			return used, 0, nil
		}
		if len(b)-used < hdr+plen {
			return used, hdr + plen, nil
		}
		p := b[used+hdr : used+hdr+plen]
		used += hdr + plen
		if !f(op, p) {
			return used, 0, nil
		}
	}
}

// framer keeps a connection's partial frame between reads.
type framer struct {
	left   []byte    // start of a frame not yet whole
	readAt time.Time // when the last read returned
}

// readFrames reads once into buf, after the partial frame kept from the
// last read, and calls f for every complete frame (payloads alias buf).
// It returns the buffer for the next read: a larger one when a frame
// does not fit. rd is read(2) on the socket (a plain reader in tests);
// its EAGAIN comes back as the error.
func (fr *framer) readFrames(buf []byte, rd func([]byte) (int, error), f func(op byte, payload []byte) bool) ([]byte, error) {
	if len(fr.left) >= len(buf) {
		buf = make([]byte, 2*len(fr.left))
	}
	n0 := copy(buf, fr.left)
	n, err := rd(buf[n0:])
	if n <= 0 {
		if err == nil {
			err = io.EOF
		}
		return buf, err
	}
	fr.readAt = time.Now()
	data := buf[:n0+n]
	used, need, err := eachFrame(data, f)
	fr.left = append(fr.left[:0], data[used:]...)
	if need > len(buf) {
		buf = make([]byte, need+need/4)
	}
	return buf, err
}

// handleLeft hands out the complete frames already held (those that came
// with the handshake answer).
func (fr *framer) handleLeft(f func(op byte, payload []byte) bool) error {
	fr.readAt = time.Now()
	used, _, err := eachFrame(fr.left, f)
	fr.left = fr.left[used:]
	return err
}

// appendClientFrame appends one masked client frame.
func appendClientFrame(dst []byte, op byte, payload []byte, key uint32) []byte {
	dst = append(dst, 0x80|op)
	switch n := len(payload); {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n < 1<<16:
		dst = append(dst, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	dst = binary.LittleEndian.AppendUint32(dst, key)
	start := len(dst)
	dst = append(dst, payload...)
	maskBytes(dst[start:], key)
	return dst
}

// maskBytes XORs b with the repeating 4-byte key (as it appears on the
// wire, little-endian here), eight bytes at a time.
func maskBytes(b []byte, key uint32) {
	k8 := uint64(key) | uint64(key)<<32
	i := 0
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^k8)
	}
	for j := 0; i < len(b); i, j = i+1, j+1 {
		b[i] ^= byte(key >> (8 * (j & 3)))
	}
}

// maskKey is a masking key; RFC 6455 asks for an unpredictable one, which
// the per-P ChaCha8 generator gives cheaply.
func maskKey() uint32 { return mrand.Uint32() }

// write sends already-framed bytes (one or many frames) in one write().
func (c *wsConn) write(frames []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	_, err := c.Write(frames)
	return err
}

// writeControl sends a ping, pong or close frame.
func (c *wsConn) writeControl(op byte, payload []byte) error {
	var b [6 + 125]byte
	return c.write(appendClientFrame(b[:0], op, payload, maskKey()))
}

// close closes the socket once no write is in progress; later writes fail
// (the descriptor number may already belong to another file).
func (c *wsConn) close() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.closed {
		c.closed = true
		syscall.Close(c.fd)
	}
}

// closeWith sends a close frame with code, then closes the socket.
func (c *wsConn) closeWith(code int) {
	var p [2]byte
	binary.BigEndian.PutUint16(p[:], uint16(code))
	_ = c.writeControl(opClose, p[:])
	c.close()
}
