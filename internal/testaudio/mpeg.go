package testaudio

import (
	"encoding/binary"
	"time"
)

// MP3 is MPEG-1 Layer III audio: a small ID3v2 tag, then 128 kbit/s,
// 44.1 kHz frames of silence (1152 samples, about 26 ms, each) for about
// d. MPEG audio records no duration of its own.
func MP3(d time.Duration) []byte {
	out := []byte("ID3\x03\x00\x00")
	tag := append([]byte("TIT2"), 0, 0, 0, 10, 0, 0)
	tag = append(tag, "\x00testaudi"...)
	out = append(out, syncsafe(len(tag))...)
	out = append(out, tag...)
	frames := int(d * 44100 / 1152 / time.Second)
	for i := 0; i < frames; i++ {
		frame := make([]byte, 417) // 144 × 128000 / 44100, no padding
		copy(frame, []byte{0xFF, 0xFB, 0x90, 0xC4})
		out = append(out, frame...)
	}
	return out
}

func syncsafe(n int) []byte {
	return []byte{byte(n >> 21 & 0x7F), byte(n >> 14 & 0x7F), byte(n >> 7 & 0x7F), byte(n & 0x7F)}
}

// WAV is 16-bit mono PCM in a RIFF WAVE file: a real recording format the
// server does not accept for voice messages.
func WAV(d time.Duration) []byte {
	samples := int(d * 8000 / time.Second)
	le := binary.LittleEndian
	out := []byte("RIFF")
	out = le.AppendUint32(out, uint32(36+2*samples))
	out = append(out, "WAVEfmt "...)
	out = le.AppendUint32(out, 16)
	out = le.AppendUint16(out, 1) // PCM
	out = le.AppendUint16(out, 1)
	out = le.AppendUint32(out, 8000)
	out = le.AppendUint32(out, 16000)
	out = le.AppendUint16(out, 2)
	out = le.AppendUint16(out, 16)
	out = append(out, "data"...)
	out = le.AppendUint32(out, uint32(2*samples))
	return append(out, make([]byte, 2*samples)...)
}
