package testaudio

import (
	"bytes"
	"encoding/binary"
)

// MP4 is an audio MP4 (ISO BMFF) like Safari's MediaRecorder writes: ftyp,
// then moov with mvhd (timescale 1000, the duration in ms, or 0 with
// o.NoDuration as in a fragmented file) and one sound track whose stsd
// holds one sample entry of type o.Codec (default "mp4a"), then mdat.
func MP4(o Options) []byte {
	dur := uint32(o.Duration.Milliseconds())
	if o.NoDuration {
		dur = 0
	}
	ftyp := box("ftyp", []byte("M4A \x00\x00\x00\x00M4A isommp42"))
	mvhd := fullBox("mvhd", 0, u32(0), u32(0), u32(1000), u32(dur), u32(0x00010000), u16(0x0100), make([]byte, 10),
		matrix(), make([]byte, 24), u32(2))
	tkhd := fullBox("tkhd", 3, u32(0), u32(0), u32(1), u32(0), u32(dur), make([]byte, 8), u16(0), u16(0), u16(0x0100), u16(0),
		matrix(), u32(0), u32(0))
	mdhd := fullBox("mdhd", 0, u32(0), u32(0), u32(48000), u32(uint32(o.Duration.Milliseconds()*48)), u16(0x55C4), u16(0))
	hdlr := fullBox("hdlr", 0, u32(0), []byte("soun"), make([]byte, 12), []byte("SoundHandler\x00"))
	// an AudioSampleEntry: reserved, data reference index, reserved,
	// channels, sample size, pre-defined, reserved, rate 16.16
	entry := box(o.codec("mp4a"), make([]byte, 6), u16(1), make([]byte, 8), u16(1), u16(16), u16(0), u16(0), u32(48000<<16))
	stbl := box("stbl",
		fullBox("stsd", 0, u32(1), entry),
		fullBox("stts", 0, u32(0)), fullBox("stsc", 0, u32(0)), fullBox("stsz", 0, u32(0), u32(0)), fullBox("stco", 0, u32(0)))
	minf := box("minf", fullBox("smhd", 0, u16(0), u16(0)), box("dinf", fullBox("dref", 0, u32(1), fullBox("url ", 1))), stbl)
	moov := box("moov", mvhd, box("trak", tkhd, box("mdia", mdhd, hdlr, minf)))
	out := append(ftyp, moov...)
	if o.Pad > 0 {
		out = append(out, box("free", make([]byte, o.Pad))...)
	}
	return append(out, box("mdat", bytes.Repeat([]byte{0x21, 0x10, 0x04}, 64))...)
}

func box(typ string, payload ...[]byte) []byte {
	body := bytes.Join(payload, nil)
	out := binary.BigEndian.AppendUint32(nil, uint32(8+len(body)))
	out = append(out, typ...)
	return append(out, body...)
}

func fullBox(typ string, flags uint32, payload ...[]byte) []byte {
	return box(typ, append([][]byte{u32(flags)}, payload...)...) // version 0
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

// matrix is the identity transformation matrix of mvhd and tkhd.
func matrix() []byte {
	var out []byte
	for _, v := range []uint32{0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000} {
		out = append(out, u32(v)...)
	}
	return out
}
