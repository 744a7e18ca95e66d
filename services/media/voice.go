package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Why a voice file is refused.
var (
	errVoiceUnsupported = errors.New("not WebM or Ogg with Opus, MP4 with AAC or Opus, or MPEG audio")
	errVoiceInvalid     = errors.New("voice file is damaged")
)

// recording is what a voice file's bytes say about it.
type recording struct {
	mime     string
	duration time.Duration // as the container records it; 0 when it records none
}

// inspectVoice sniffs the container from the bytes and reads the duration
// it records: WebM's Segment Info Duration, MP4's mvhd, Ogg's last granule
// position; MPEG audio records none, and neither does the WebM Chrome's
// MediaRecorder writes.
func inspectVoice(b []byte) (recording, error) {
	switch {
	case len(b) >= 4 && binary.BigEndian.Uint32(b) == idEBML:
		d, err := webmDuration(b)
		return recording{mime: "audio/webm", duration: d}, err
	case bytes.HasPrefix(b, []byte("OggS")):
		d, err := oggDuration(b)
		return recording{mime: "audio/ogg", duration: d}, err
	case len(b) >= 8 && string(b[4:8]) == "ftyp":
		d, err := mp4Duration(b)
		return recording{mime: "audio/mp4", duration: d}, err
	case bytes.HasPrefix(b, []byte("ID3")) || (len(b) >= 2 && b[0] == 0xFF && b[1]&0xE0 == 0xE0):
		return recording{mime: "audio/mpeg"}, checkMPEG(b)
	}
	return recording{}, errVoiceUnsupported
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errVoiceInvalid, fmt.Sprintf(format, args...))
}

// oggDuration checks an Ogg stream whose first packet is an Opus header
// and returns its length: the highest granule position of that stream,
// less the pre-skip, at 48 kHz (RFC 7845 §4).
func oggDuration(b []byte) (time.Duration, error) {
	var serial uint32
	var preSkip, last int64
	for i, page := 0, 0; i < len(b); page++ {
		if len(b)-i < 27 || string(b[i:i+4]) != "OggS" || b[i+4] != 0 {
			return 0, invalid("ogg page %d", page)
		}
		granule := int64(binary.LittleEndian.Uint64(b[i+6:]))
		pageSerial := binary.LittleEndian.Uint32(b[i+14:])
		segments := int(b[i+26])
		if len(b)-i < 27+segments {
			return 0, invalid("ogg page %d cut short", page)
		}
		bodyLen := 0
		for _, l := range b[i+27 : i+27+segments] {
			bodyLen += int(l)
		}
		body := i + 27 + segments
		if len(b)-body < bodyLen {
			return 0, invalid("ogg page %d cut short", page)
		}
		if page == 0 {
			head := b[body : body+bodyLen]
			if !bytes.HasPrefix(head, []byte("OpusHead")) {
				return 0, errVoiceUnsupported
			}
			if len(head) < 19 {
				return 0, invalid("opus header cut short")
			}
			serial, preSkip = pageSerial, int64(binary.LittleEndian.Uint16(head[10:]))
		} else if pageSerial == serial && granule > last { // -1: no packet ends on this page
			last = granule
		}
		i = body + bodyLen
	}
	if last <= preSkip {
		return 0, nil
	}
	return time.Duration(last-preSkip) * time.Second / 48000, nil
}

// mp4Duration checks an ISO BMFF file (ftyp first) whose every track holds
// AAC ("mp4a") or Opus samples, and returns mvhd's duration (0 when it is
// unset, as in a fragmented file).
func mp4Duration(b []byte) (time.Duration, error) {
	var d time.Duration
	var entries []string
	first := true
	err := eachBox(b, func(typ string, body []byte) error {
		if first && typ != "ftyp" {
			return invalid("mp4 does not start with ftyp")
		}
		first = false
		if typ != "moov" {
			return nil
		}
		return eachBox(body, func(typ string, body []byte) error {
			switch typ {
			case "mvhd":
				var err error
				d, err = mvhdDuration(body)
				return err
			case "trak":
				es, err := sampleEntries(body)
				entries = append(entries, es...)
				return err
			}
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	if len(entries) == 0 {
		return 0, errVoiceUnsupported
	}
	for _, e := range entries {
		if e != "mp4a" && e != "Opus" {
			return 0, errVoiceUnsupported
		}
	}
	return d, nil
}

// eachBox calls fn with the type and body of every box in b.
func eachBox(b []byte, fn func(typ string, body []byte) error) error {
	for i := 0; i < len(b); {
		if len(b)-i < 8 {
			return invalid("mp4 box cut short")
		}
		size, header := uint64(binary.BigEndian.Uint32(b[i:])), 8
		switch size {
		case 0: // to the end
			size = uint64(len(b) - i)
		case 1: // 64-bit size follows the type
			if len(b)-i < 16 {
				return invalid("mp4 box cut short")
			}
			size, header = binary.BigEndian.Uint64(b[i+8:]), 16
		}
		if size < uint64(header) || size > uint64(len(b)-i) {
			return invalid("mp4 box size %d", size)
		}
		if err := fn(string(b[i+4:i+8]), b[i+header:i+int(size)]); err != nil {
			return err
		}
		i += int(size)
	}
	return nil
}

// mvhdDuration reads a movie header: version 0 has 32-bit times, 1 64-bit.
func mvhdDuration(body []byte) (time.Duration, error) {
	var scale, dur uint64
	switch {
	case len(body) >= 20 && body[0] == 0:
		scale, dur = uint64(binary.BigEndian.Uint32(body[12:])), uint64(binary.BigEndian.Uint32(body[16:]))
		if dur == 0xFFFFFFFF {
			dur = 0
		}
	case len(body) >= 32 && body[0] == 1:
		scale, dur = uint64(binary.BigEndian.Uint32(body[20:])), binary.BigEndian.Uint64(body[24:])
		if dur == 0xFFFFFFFFFFFFFFFF {
			dur = 0
		}
	default:
		return 0, invalid("mvhd")
	}
	if scale == 0 || dur == 0 {
		return 0, nil
	}
	if dur/scale > 24*3600 {
		return 24 * time.Hour, nil // absurd, and refused as too long
	}
	return time.Duration(dur) * time.Second / time.Duration(scale), nil
}

// sampleEntries returns the sample entry types of a track's
// mdia/minf/stbl/stsd.
func sampleEntries(trak []byte) ([]string, error) {
	var out []string
	var walk func(b []byte, path []string) error
	walk = func(b []byte, path []string) error {
		return eachBox(b, func(typ string, body []byte) error {
			if typ != path[0] {
				return nil
			}
			if len(path) > 1 {
				return walk(body, path[1:])
			}
			if len(body) < 8 { // stsd: version, flags, entry count, entries
				return invalid("stsd")
			}
			return eachBox(body[8:], func(typ string, _ []byte) error {
				out = append(out, typ)
				return nil
			})
		})
	}
	err := walk(trak, []string{"mdia", "minf", "stbl", "stsd"})
	return out, err
}

// checkMPEG checks MPEG audio: an optional ID3v2 tag, then a valid frame
// header, and another where the first frame ends.
func checkMPEG(b []byte) error {
	i := 0
	if bytes.HasPrefix(b, []byte("ID3")) {
		if len(b) < 10 {
			return invalid("id3 tag cut short")
		}
		i = 10 + (int(b[6]&0x7F)<<21 | int(b[7]&0x7F)<<14 | int(b[8]&0x7F)<<7 | int(b[9]&0x7F))
		if b[5]&0x10 != 0 { // footer
			i += 10
		}
	}
	n, err := mpegFrame(b, i)
	if err != nil {
		return err
	}
	if i+n+4 <= len(b) {
		if _, err := mpegFrame(b, i+n); err != nil {
			return err
		}
	}
	return nil
}

// MPEG audio bitrates in kbit/s by [version is MPEG-1][layer 1–3][index].
var mpegBitrates = [2][3][15]int{
	{ // MPEG-2 and 2.5
		{0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256},
		{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
		{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
	},
	{ // MPEG-1
		{0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448},
		{0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},
		{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},
	},
}

// mpegRates are the sample rates by version bits (0: 2.5, 2: 2, 3: 1).
var mpegRates = map[byte][3]int{0: {11025, 12000, 8000}, 2: {22050, 24000, 16000}, 3: {44100, 48000, 32000}}

// mpegFrame checks the frame header at i and returns the frame's length.
func mpegFrame(b []byte, i int) (int, error) {
	if len(b)-i < 4 || b[i] != 0xFF || b[i+1]&0xE0 != 0xE0 {
		return 0, errVoiceUnsupported
	}
	version, layerBits := b[i+1]>>3&3, b[i+1]>>1&3
	bitrateIdx, rateIdx, pad := int(b[i+2]>>4), int(b[i+2]>>2&3), int(b[i+2]>>1&1)
	rates, ok := mpegRates[version]
	if !ok || layerBits == 0 || bitrateIdx == 0 || bitrateIdx == 15 || rateIdx == 3 {
		return 0, errVoiceUnsupported // reserved values, free format, or AAC in ADTS
	}
	layer := 4 - int(layerBits)
	mpeg1 := 0
	if version == 3 {
		mpeg1 = 1
	}
	bitrate, rate := mpegBitrates[mpeg1][layer-1][bitrateIdx]*1000, rates[rateIdx]
	switch {
	case layer == 1:
		return (12*bitrate/rate + pad) * 4, nil
	case layer == 3 && mpeg1 == 0:
		return 72*bitrate/rate + pad, nil
	}
	return 144*bitrate/rate + pad, nil
}
