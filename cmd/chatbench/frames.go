package main

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"strconv"
)

// Message texts carry their identity and send time:
//
//	cb|<run id>|<sender ordinal>|<stream l or d>|<n>|<send time, unix ns>|xxxx…
//
// and client ids are <run id>.<ordinal>.<stream>.<n>. The server escapes
// quotes inside JSON strings, so the keys searched for below can only be
// keys, never text someone typed.
const runIDLen = 8

var (
	typeKey     = []byte(`"type":"`)
	textKey     = []byte(`"text":"cb|`)
	clientIDKey = []byte(`"client_id":"`)
	codeKey     = []byte(`"code":"`)
	// The gateway marshals maps, whose keys come sorted: "type" is last in
	// message and ack frames. Checking the end first skips a search.
	msgSuffix = []byte(`"type":"message"}`)
	ackSuffix = []byte(`"type":"ack"}`)
)

// frameType returns the type of a server frame without decoding it.
func frameType(p []byte) []byte {
	if bytes.HasSuffix(p, msgSuffix) {
		return msgSuffix[8:15]
	}
	if bytes.HasSuffix(p, ackSuffix) {
		return ackSuffix[8:11]
	}
	return stringAt(p, typeKey)
}

// stringAt returns the JSON string value after key (up to the next quote;
// the values read this way never hold escapes), or nil.
func stringAt(p, key []byte) []byte {
	i := bytes.Index(p, key)
	if i < 0 {
		return nil
	}
	v := p[i+len(key):]
	j := bytes.IndexByte(v, '"')
	if j < 0 {
		return nil
	}
	return v[:j]
}

// benchID identifies one sent message.
type benchID struct {
	ord    int
	stream byte // 'l' lobby or 'd' direct
	n      int
	sentNs int64
}

// parseText finds a bench text in a message or ack frame. ok is false for
// frames without one; ours is false for another run's messages.
func parseText(p []byte, run string) (id benchID, ours, ok bool) {
	i := bytes.Index(p, textKey)
	if i < 0 {
		return id, false, false
	}
	v := p[i+len(textKey):]
	if len(v) < runIDLen+1 || string(v[:runIDLen]) != run || v[runIDLen] != '|' {
		return id, false, true
	}
	v = v[runIDLen+1:]
	var o, n, ts int64
	var good bool
	if o, v, good = uintField(v); !good {
		return id, false, false
	}
	if len(v) < 2 || v[1] != '|' {
		return id, false, false
	}
	id.stream, v = v[0], v[2:]
	if n, v, good = uintField(v); !good {
		return id, false, false
	}
	if ts, _, good = uintField(v); !good {
		return id, false, false
	}
	id.ord, id.n, id.sentNs = int(o), int(n), ts
	return id, true, true
}

// uintField parses decimal digits up to a '|' and returns what follows it.
func uintField(v []byte) (int64, []byte, bool) {
	var x int64
	for i, c := range v {
		if c == '|' {
			return x, v[i+1:], i > 0
		}
		if c < '0' || c > '9' || i > 18 {
			return 0, nil, false
		}
		x = x*10 + int64(c-'0')
	}
	return 0, nil, false
}

// parseClientID reads <run>.<ordinal>.<stream>.<n>.
func parseClientID(cid []byte, run string) (id benchID, ok bool) {
	if len(cid) < runIDLen+1 || string(cid[:runIDLen]) != run || cid[runIDLen] != '.' {
		return id, false
	}
	parts := bytes.Split(cid[runIDLen+1:], []byte("."))
	if len(parts) != 3 || len(parts[1]) != 1 {
		return id, false
	}
	o, err1 := strconv.Atoi(string(parts[0]))
	n, err2 := strconv.Atoi(string(parts[2]))
	if err1 != nil || err2 != nil {
		return id, false
	}
	return benchID{ord: o, stream: parts[1][0], n: n}, true
}

// appendSendFrame appends the JSON of one send (not yet a WebSocket frame).
func appendSendFrame(dst []byte, run string, conv string, ord int, stream byte, n int64, sentNs int64, size int) []byte {
	dst = append(dst, `{"type":"send","client_id":"`...)
	dst = append(dst, run...)
	dst = append(dst, '.')
	dst = strconv.AppendInt(dst, int64(ord), 10)
	dst = append(dst, '.', stream, '.')
	dst = strconv.AppendInt(dst, n, 10)
	dst = append(dst, `","conversation_id":"`...)
	dst = append(dst, conv...)
	dst = append(dst, `","kind":"text","text":"`...)
	start := len(dst)
	dst = append(dst, "cb|"...)
	dst = append(dst, run...)
	dst = append(dst, '|')
	dst = strconv.AppendInt(dst, int64(ord), 10)
	dst = append(dst, '|', stream, '|')
	dst = strconv.AppendInt(dst, n, 10)
	dst = append(dst, '|')
	dst = strconv.AppendInt(dst, sentNs, 10)
	dst = append(dst, '|')
	for len(dst)-start < size {
		dst = append(dst, 'x')
	}
	return append(dst, `"}`...)
}

// bitset is a growable set of small integers.
type bitset []uint64

// set adds n and reports whether it was already there.
func (b *bitset) set(n int) bool {
	w := n >> 6
	if w >= len(*b) {
		nb := make(bitset, max(w+1, 2*len(*b)))
		copy(nb, *b)
		*b = nb
	}
	m := uint64(1) << (n & 63)
	if (*b)[w]&m != 0 {
		return true
	}
	(*b)[w] |= m
	return false
}

func (b bitset) has(n int) bool {
	w := n >> 6
	return w < len(b) && b[w]&(uint64(1)<<(n&63)) != 0
}

// each calls f for every member.
func (b bitset) each(f func(n int)) {
	for w, x := range b {
		for x != 0 {
			t := x & -x
			f(w<<6 + bits.TrailingZeros64(x))
			x ^= t
		}
	}
}

// bytes encodes the set for JSON (little-endian words).
func (b bitset) bytes() []byte {
	out := make([]byte, 0, 8*len(b))
	for _, x := range b {
		out = binary.LittleEndian.AppendUint64(out, x)
	}
	return out
}

func bitsetFrom(p []byte) bitset {
	b := make(bitset, (len(p)+7)/8)
	for i := range b {
		var w [8]byte
		copy(w[:], p[8*i:])
		b[i] = binary.LittleEndian.Uint64(w[:])
	}
	return b
}
