package imaging

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// StripGIF copies a GIF block by block, keeping what draws and animates it
// (screen, colour tables, frames, graphic control and the looping
// extension) and dropping comments, plain text and other application
// extensions, where XMP and ICC metadata live. The frames' bytes are not
// decoded or changed, so an animated GIF stays animated. It returns the
// copy and the number of frames; a frame outside the screen is ErrInvalid.
func StripGIF(b []byte) ([]byte, int, error) {
	if f, err := Sniff(b); err != nil || f != GIF {
		return nil, 0, ErrUnsupported
	}
	bad := func(why string) ([]byte, int, error) { return nil, 0, fmt.Errorf("%w: gif %s", ErrInvalid, why) }
	if len(b) < 13 {
		return bad("header cut short")
	}
	width, height := int(binary.LittleEndian.Uint16(b[6:])), int(binary.LittleEndian.Uint16(b[8:]))
	i := 13 + colorTableSize(b[10])
	if i > len(b) {
		return bad("colour table cut short")
	}
	out := bytes.NewBuffer(make([]byte, 0, len(b)))
	out.Write(b[:i])
	frames := 0
	for i < len(b) {
		start := i
		switch b[i] {
		case 0x3B: // trailer
			out.WriteByte(0x3B)
			return out.Bytes(), frames, frameCount(frames)
		case 0x2C: // image descriptor, colour table, LZW code size, data
			if i+11 > len(b) {
				return bad("frame header cut short")
			}
			x, y := int(binary.LittleEndian.Uint16(b[i+1:])), int(binary.LittleEndian.Uint16(b[i+3:]))
			w, h := int(binary.LittleEndian.Uint16(b[i+5:])), int(binary.LittleEndian.Uint16(b[i+7:]))
			if x+w > width || y+h > height {
				return bad("frame outside the screen")
			}
			i += 10 + colorTableSize(b[i+9]) + 1
			end, ok := skipSubBlocks(b, i)
			if !ok {
				return bad("frame cut short")
			}
			out.Write(b[start:end])
			i, frames = end, frames+1
		case 0x21: // extension: label, sub-blocks
			if i+2 > len(b) {
				return bad("extension cut short")
			}
			end, ok := skipSubBlocks(b, i+2)
			if !ok {
				return bad("extension cut short")
			}
			if keepExtension(b[i+1], b[i+2:end]) {
				out.Write(b[start:end])
			}
			i = end
		default:
			return bad(fmt.Sprintf("unknown block 0x%02x", b[i]))
		}
	}
	out.WriteByte(0x3B) // many GIFs end without a trailer; browsers accept that
	return out.Bytes(), frames, frameCount(frames)
}

func frameCount(n int) error {
	if n == 0 {
		return fmt.Errorf("%w: gif without frames", ErrInvalid)
	}
	return nil
}

// colorTableSize is the size of the colour table a packed field announces.
func colorTableSize(packed byte) int {
	if packed&0x80 == 0 {
		return 0
	}
	return 3 << ((packed & 7) + 1)
}

// skipSubBlocks returns the index after the sub-blocks starting at i
// (each a length byte and data, ended by a zero length).
func skipSubBlocks(b []byte, i int) (int, bool) {
	for i < len(b) {
		n := int(b[i])
		i++
		if n == 0 {
			return i, true
		}
		i += n
	}
	return 0, false
}

// keepExtension keeps graphic control (delays, transparency) and the
// looping application extensions; body is the extension's sub-blocks.
func keepExtension(label byte, body []byte) bool {
	switch label {
	case 0xF9:
		return true
	case 0xFF:
		if len(body) < 12 || body[0] != 11 {
			return false
		}
		id := string(body[1:12])
		return id == "NETSCAPE2.0" || id == "ANIMEXTS1.0"
	}
	return false
}
