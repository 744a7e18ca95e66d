package chat

import "encoding/binary"

// WebSocket opcodes (RFC 6455 §5.2).
const (
	opText  = 0x1
	opClose = 0x8
	opPing  = 0x9
	opPong  = 0xA
)

// appendFrame appends one unmasked, unfragmented server frame. The gateway
// writes frames itself so that every frame queued for a connection goes out
// in a single write() (DESIGN §7).
func appendFrame(dst []byte, opcode byte, payload []byte) []byte {
	dst = append(dst, 0x80|opcode)
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

// closePayload is the body of a close frame: code and reason.
func closePayload(code int, reason string) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(code))
	if len(reason) > 120 {
		reason = reason[:120]
	}
	return append(b, reason...)
}

// Close codes the gateway uses; the UI reconnects on all but closeSessionEnded.
const (
	closeNormal       = 1000
	closeProtocol     = 1002
	closeTooBig       = 1009
	closeRestart      = 1012 // the gateway stops: reconnect (to another)
	closeSessionEnded = 4001
	closeTooSlow      = 4008
)
