// Package testaudio makes voice recordings for tests, byte by byte as their
// container specs say: WebM (EBML) and Ogg with Opus, MP4 with AAC, MPEG
// audio frames, and a WAV file as a container the server must refuse. The
// sound itself is silence; what matters is the container and its duration.
package testaudio

import (
	"bytes"
	"encoding/binary"
	"math"
	"time"
)

// Options shape a recording.
type Options struct {
	Duration   time.Duration // how long the sound is
	NoDuration bool          // leave the recorded duration out, as Chrome's MediaRecorder does in WebM
	Codec      string        // WebM codec ID (default "A_OPUS"), Ogg first packet magic (default "OpusHead"), MP4 sample entry (default "mp4a")
	Pad        int           // filler bytes (WebM Void element, MP4 free box) to make a large file
}

func (o Options) codec(def string) string {
	if o.Codec == "" {
		return def
	}
	return o.Codec
}

// opusSilence is one 20 ms Opus packet of silence.
var opusSilence = []byte{0xF8, 0xFF, 0xFE}

// WebM is an audio-only WebM file like a browser's MediaRecorder writes:
// EBML header, a Segment of unknown size with Info (TimecodeScale, and
// Duration unless o.NoDuration), Tracks with one audio track, and one
// Cluster of 20 ms SimpleBlocks.
func WebM(o Options) []byte {
	header := ebml(0x1A45DFA3,
		ebmlUint(0x4286, 1), ebmlUint(0x42F7, 1), ebmlUint(0x42F2, 4), ebmlUint(0x42F3, 8),
		ebmlString(0x4282, "webm"), ebmlUint(0x4287, 4), ebmlUint(0x4285, 2))
	info := [][]byte{ebmlUint(0x2AD7B1, 1_000_000), ebmlString(0x4D80, "testaudio"), ebmlString(0x5741, "testaudio")}
	if !o.NoDuration {
		info = append(info, ebmlFloat(0x4489, float64(o.Duration.Milliseconds())))
	}
	track := ebml(0xAE,
		ebmlUint(0xD7, 1), ebmlUint(0x73C5, 1), ebmlUint(0x83, 2), ebmlString(0x86, o.codec("A_OPUS")),
		ebml(0x63A2, opusHead(312)),
		ebml(0xE1, ebmlFloat(0xB5, 48000), ebmlUint(0x9F, 1)))
	// a block's timecode is 16 bits relative to its cluster: a cluster per 10 s
	var clusters bytes.Buffer
	for start := 0; start < int(o.Duration.Milliseconds()); start += 10_000 {
		clusters.Write(ebmlID(0x1F43B675))
		clusters.Write(unknownSize)
		clusters.Write(ebmlUint(0xE7, uint64(start)))
		for ms := start; ms < min(start+10_000, int(o.Duration.Milliseconds())); ms += 20 {
			block := []byte{0x81, 0, 0, 0x80} // track 1, timecode relative to the cluster, keyframe
			binary.BigEndian.PutUint16(block[1:], uint16(ms-start))
			clusters.Write(ebml(0xA3, append(block, opusSilence...)))
		}
	}
	var seg bytes.Buffer
	seg.Write(ebml(0x1549A966, info...))
	seg.Write(ebml(0x1654AE6B, track))
	if o.Pad > 0 {
		seg.Write(ebml(0xEC, make([]byte, o.Pad)))
	}
	seg.Write(clusters.Bytes())

	out := append(header, ebmlID(0x18538067)...)
	out = append(out, unknownSize...)
	return append(out, seg.Bytes()...)
}

// unknownSize is the EBML size "unknown", which live recorders write for
// the Segment and Clusters.
var unknownSize = []byte{0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}

func ebmlID(id uint32) []byte {
	b := binary.BigEndian.AppendUint32(nil, id)
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

// ebmlSize is n as an EBML variable-length integer of the shortest width.
func ebmlSize(n int) []byte {
	for w := 1; w <= 8; w++ {
		if uint64(n) < 1<<(7*w)-1 {
			b := make([]byte, w)
			v := uint64(n)
			for i := w - 1; i >= 0; i-- {
				b[i] = byte(v)
				v >>= 8
			}
			b[0] |= 1 << (8 - w)
			return b
		}
	}
	panic("ebml size too large")
}

func ebml(id uint32, children ...[]byte) []byte {
	body := bytes.Join(children, nil)
	out := append(ebmlID(id), ebmlSize(len(body))...)
	return append(out, body...)
}

func ebmlUint(id uint32, v uint64) []byte {
	b := binary.BigEndian.AppendUint64(nil, v)
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	return ebml(id, b)
}

func ebmlFloat(id uint32, v float64) []byte {
	return ebml(id, binary.BigEndian.AppendUint64(nil, math.Float64bits(v)))
}

func ebmlString(id uint32, s string) []byte { return ebml(id, []byte(s)) }

// opusHead is the Opus identification header (RFC 7845 §5.1): one channel.
func opusHead(preSkip uint16) []byte {
	b := []byte("OpusHead\x01\x01")
	b = binary.LittleEndian.AppendUint16(b, preSkip)
	b = binary.LittleEndian.AppendUint32(b, 48000)
	b = binary.LittleEndian.AppendUint16(b, 0)
	return append(b, 0)
}
