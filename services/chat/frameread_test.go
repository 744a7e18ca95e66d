package chat

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// maskedFrame builds a client frame as a browser sends it: the server's
// framing plus the mask bit and key, and the payload masked.
func maskedFrame(fin bool, op byte, payload []byte) []byte {
	plain := appendFrame(nil, op, payload)
	header := plain[:len(plain)-len(payload)]
	if !fin {
		header[0] &^= 0x80
	}
	header[1] |= 0x80
	key := []byte{0x12, 0x34, 0x56, 0x78}
	out := append(append(header, key...), payload...)
	for i := range payload {
		out[len(header)+4+i] ^= key[i&3]
	}
	return out
}

type got struct {
	op      byte
	payload string
}

// feedAll feeds stream in pieces of size step and collects what comes out.
func feedAll(t *testing.T, stream []byte, step, limit int) ([]got, error) {
	t.Helper()
	var r frameReader
	var out []got
	for len(stream) > 0 {
		n := min(step, len(stream))
		// a fresh copy each time, as the shared read buffer is reused
		chunk := append([]byte(nil), stream[:n]...)
		stream = stream[n:]
		if err := r.feed(chunk, limit, func(op byte, p []byte) bool {
			out = append(out, got{op, string(p)})
			return true
		}); err != nil {
			return out, err
		}
		clear(chunk)
	}
	if r.partial != nil || r.msg != nil {
		t.Errorf("reader holds %d partial and %d message bytes after whole frames", len(r.partial), len(r.msg))
	}
	return out, nil
}

func TestFrameReaderSplitsAndJoins(t *testing.T) {
	long := strings.Repeat("长", 30000) // 90,000 bytes: a 64-bit length
	mid := strings.Repeat("m", 300)    // a 16-bit length
	var stream []byte
	stream = append(stream, maskedFrame(true, opText, []byte(`{"type":"typing"}`))...)
	stream = append(stream, maskedFrame(false, opText, []byte("frag-"))...)
	stream = append(stream, maskedFrame(true, opPing, []byte("p"))...) // control inside a fragmented message
	stream = append(stream, maskedFrame(false, opContinuation, []byte(mid))...)
	stream = append(stream, maskedFrame(true, opContinuation, []byte("-end"))...)
	stream = append(stream, maskedFrame(true, opBinary, []byte{0, 1, 2})...)
	stream = append(stream, maskedFrame(true, opText, []byte(long))...)
	stream = append(stream, maskedFrame(true, opClose, []byte{0x03, 0xe8})...)
	want := []got{
		{opText, `{"type":"typing"}`}, {opPing, "p"}, {opText, "frag-" + mid + "-end"},
		{opBinary, "\x00\x01\x02"}, {opText, long}, {opClose, "\x03\xe8"},
	}
	for _, step := range []int{1, 2, 3, 7, 125, 4096, len(stream)} {
		out, err := feedAll(t, stream, step, 128<<10)
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if len(out) != len(want) {
			t.Fatalf("step %d: %d frames, want %d", step, len(out), len(want))
		}
		for i := range want {
			if out[i] != want[i] {
				t.Errorf("step %d frame %d: op %d %.20q, want op %d %.20q", step, i, out[i].op, out[i].payload, want[i].op, want[i].payload)
			}
		}
	}
}

func TestFrameReaderRefusesAtTheHeader(t *testing.T) {
	unmasked := maskedFrame(true, opText, []byte("hi"))
	unmasked[1] &^= 0x80
	big := maskedFrame(true, opText, bytes.Repeat([]byte("a"), 70000))
	for name, c := range map[string]struct {
		stream []byte
		want   *protocolError
	}{
		"too big, header only": {big[:10], errTooBig},
		"too big in fragments": {append(maskedFrame(false, opText, bytes.Repeat([]byte("a"), 40000)), maskedFrame(true, opContinuation, bytes.Repeat([]byte("a"), 30000))...), errTooBig},
		"unmasked":             {unmasked, errUnmasked},
		"reserved bits":        {append([]byte{0x80 | 0x40 | opText}, maskedFrame(true, opText, nil)[1:]...), errReserved},
		"unknown opcode":       {maskedFrame(true, 0x3, nil), errOpcode},
		"fragmented ping":      {maskedFrame(false, opPing, nil), errControl},
		"long ping":            {maskedFrame(true, opPing, bytes.Repeat([]byte("p"), 126)), errControl},
		"lone continuation":    {maskedFrame(true, opContinuation, []byte("x")), errFragmenting},
		"text inside fragment": {append(maskedFrame(false, opText, []byte("a")), maskedFrame(true, opText, []byte("b"))...), errFragmenting},
	} {
		_, err := feedAll(t, c.stream, len(c.stream), 64<<10)
		var pe *protocolError
		if !errors.As(err, &pe) || pe != c.want {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func TestFrameReaderStopsWhenTold(t *testing.T) {
	var r frameReader
	stream := append(maskedFrame(true, opClose, nil), maskedFrame(true, opText, []byte("after close"))...)
	n := 0
	if err := r.feed(stream, 1024, func(byte, []byte) bool { n++; return false }); err != nil || n != 1 {
		t.Fatalf("feed: %v, %d frames handled, want 1", err, n)
	}
}
