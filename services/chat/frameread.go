package chat

import "encoding/binary"

// WebSocket opcodes a client may send besides those in frame.go.
const (
	opContinuation = 0x0
	opBinary       = 0x2
)

// protocolError is a client frame that breaks RFC 6455 (or the frame cap):
// the connection is closed with code.
type protocolError struct {
	code   int
	reason string
}

func (e *protocolError) Error() string { return e.reason }

var (
	errTooBig      = &protocolError{closeTooBig, "frame too large"}
	errUnmasked    = &protocolError{closeProtocol, "client frames must be masked"}
	errReserved    = &protocolError{closeProtocol, "reserved bits set"}
	errOpcode      = &protocolError{closeProtocol, "unknown opcode"}
	errControl     = &protocolError{closeProtocol, "bad control frame"}
	errFragmenting = &protocolError{closeProtocol, "bad fragmentation"}
)

// frameReader assembles a client's frames from the bytes read off its
// socket, wherever the reads split them. Between frames it holds nothing,
// so an idle connection keeps no buffer.
type frameReader struct {
	partial []byte // an incomplete frame, copied out of the read buffer
	msg     []byte // payload of a fragmented message so far
	msgOp   byte   // its opcode while one is being assembled
}

// feed parses data and calls on with each whole message (text or binary,
// fragments joined) and each control frame, unmasked. Payloads may point
// into data: on must not keep them. on returns false to stop reading (the
// connection is closing). A message larger than limit, or a frame that
// breaks the protocol, is reported as soon as its header arrives.
func (r *frameReader) feed(data []byte, limit int, on func(op byte, payload []byte) bool) error {
	buf := data
	if len(r.partial) > 0 {
		r.partial = append(r.partial, data...)
		buf = r.partial
	}
	for len(buf) >= 2 {
		b0, b1 := buf[0], buf[1]
		fin, op := b0&0x80 != 0, b0&0x0f
		n, hl := uint64(b1&0x7f), 2
		switch n {
		case 126:
			if len(buf) < 4 {
				return r.keep(buf)
			}
			n, hl = uint64(binary.BigEndian.Uint16(buf[2:])), 4
		case 127:
			if len(buf) < 10 {
				return r.keep(buf)
			}
			n, hl = binary.BigEndian.Uint64(buf[2:]), 10
		}
		if err := r.check(b0, b1, fin, op, n, limit); err != nil {
			return err
		}
		if uint64(len(buf)) < uint64(hl)+4+n {
			return r.keep(buf)
		}
		key := buf[hl : hl+4]
		payload := buf[hl+4 : uint64(hl)+4+n]
		for i := range payload {
			payload[i] ^= key[i&3]
		}
		buf = buf[uint64(hl)+4+n:]
		if !r.dispatch(fin, op, payload, on) {
			r.partial, r.msg = nil, nil
			return nil
		}
	}
	return r.keep(buf)
}

// check validates a frame header before its payload has arrived.
func (r *frameReader) check(b0, b1 byte, fin bool, op byte, n uint64, limit int) error {
	switch {
	case b0&0x70 != 0:
		return errReserved
	case b1&0x80 == 0:
		return errUnmasked
	case op >= 0x8:
		if op > opPong || !fin || n > 125 {
			return errControl
		}
	case op > opBinary:
		return errOpcode
	case (op == opContinuation) != (r.msgOp != 0):
		return errFragmenting
	case uint64(len(r.msg))+n > uint64(limit):
		return errTooBig
	}
	return nil
}

func (r *frameReader) dispatch(fin bool, op byte, payload []byte, on func(byte, []byte) bool) bool {
	switch {
	case op >= 0x8 || (fin && r.msgOp == 0):
		return on(op, payload)
	case !fin:
		if r.msgOp == 0 {
			r.msgOp = op
		}
		r.msg = append(r.msg, payload...)
		return true
	}
	msg, msgOp := append(r.msg, payload...), r.msgOp
	r.msg, r.msgOp = nil, 0
	return on(msgOp, msg)
}

// keep holds on to an incomplete frame: in partial already, or copied out
// of the (shared) read buffer.
func (r *frameReader) keep(rest []byte) error {
	switch {
	case len(rest) == 0:
		r.partial = nil
	case len(r.partial) > 0:
		r.partial = r.partial[:copy(r.partial, rest)] // rest is a tail of partial
	default:
		r.partial = append([]byte(nil), rest...)
	}
	return nil
}
