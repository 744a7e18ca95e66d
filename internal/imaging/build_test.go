package imaging_test

// Builders for the test pictures: every format encoded for real, EXIF
// blocks and WebP files put together byte by byte as their specs say.

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"
)

// MustPNG encodes img as PNG.
func MustPNG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// MustJPEG encodes img as JPEG at quality 100.
func MustJPEG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 100}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// MustGIF encodes the frames as an animated GIF.
func MustGIF(tb testing.TB, frames ...*image.Paletted) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, &gif.GIF{Image: frames, Delay: make([]int, len(frames))}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func solid(w, h int, c color.Color) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(c), image.Point{}, draw.Src)
	return img
}

// byteOrder is binary.BigEndian or binary.LittleEndian.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// exifTIFF is a TIFF block whose IFD0 holds ImageWidth and Orientation.
func exifTIFF(bo byteOrder, orientation uint16) []byte {
	var t []byte
	if bo == binary.LittleEndian {
		t = append(t, "II"...)
	} else {
		t = append(t, "MM"...)
	}
	t = bo.AppendUint16(t, 42)
	t = bo.AppendUint32(t, 8) // IFD0 right after the header
	t = bo.AppendUint16(t, 2) // two entries
	// 0x0100 ImageWidth, SHORT, 1, value 640
	t = bo.AppendUint16(t, 0x0100)
	t = bo.AppendUint16(t, 3)
	t = bo.AppendUint32(t, 1)
	t = bo.AppendUint16(t, 640)
	t = bo.AppendUint16(t, 0)
	// 0x0112 Orientation, SHORT, 1, value
	t = bo.AppendUint16(t, 0x0112)
	t = bo.AppendUint16(t, 3)
	t = bo.AppendUint32(t, 1)
	t = bo.AppendUint16(t, orientation)
	t = bo.AppendUint16(t, 0)
	t = bo.AppendUint32(t, 0) // no next IFD
	return t
}

// withJPEGSegment inserts a marker segment right after SOI.
func withJPEGSegment(j []byte, marker byte, payload []byte) []byte {
	seg := []byte{0xFF, marker}
	seg = binary.BigEndian.AppendUint16(seg, uint16(2+len(payload)))
	seg = append(seg, payload...)
	out := append([]byte{}, j[:2]...)
	out = append(out, seg...)
	return append(out, j[2:]...)
}

// jpegWithExif adds an APP1 Exif segment carrying tiff.
func jpegWithExif(j, tiff []byte) []byte {
	return withJPEGSegment(j, 0xE1, append([]byte("Exif\x00\x00"), tiff...))
}

func pngChunk(typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(c, typ...)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// pngWithExif adds an eXIf chunk right after IHDR.
func pngWithExif(p, tiff []byte) []byte {
	const afterIHDR = 8 + 4 + 4 + 13 + 4
	out := append([]byte{}, p[:afterIHDR]...)
	out = append(out, pngChunk("eXIf", tiff)...)
	return append(out, p[afterIHDR:]...)
}

// pngBomb is a valid w×h 1-bit grayscale PNG of zero rows (w a multiple of
// 8, h of 100). Its IDAT repeats one self-contained, flushed deflate run of
// 100 rows, so it is built without compressing the whole picture.
func pngBomb(tb testing.TB, w, h int) []byte {
	tb.Helper()
	const rowsPerRun = 100
	if w%8 != 0 || h%rowsPerRun != 0 {
		tb.Fatalf("pngBomb(%d, %d): unsupported size", w, h)
	}
	rowLen := 1 + w/8 // filter byte + packed bits
	var run bytes.Buffer
	fw, err := flate.NewWriter(&run, flate.BestCompression)
	if err != nil {
		tb.Fatal(err)
	}
	fw.Write(make([]byte, rowLen*rowsPerRun))
	fw.Flush() // ends byte-aligned, not final; refers only to its own bytes
	var final bytes.Buffer
	fw, _ = flate.NewWriter(&final, flate.BestCompression)
	fw.Close() // an empty final block

	idat := []byte{0x78, 0xDA}
	for range h / rowsPerRun {
		idat = append(idat, run.Bytes()...)
	}
	idat = append(idat, final.Bytes()...)
	// Adler-32 of n zero bytes: a stays 1, b adds 1 per byte.
	n := uint64(rowLen) * uint64(h)
	idat = binary.BigEndian.AppendUint32(idat, uint32(n%65521)<<16|1)

	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 1, 0, 0, 0, 0) // bit depth 1, grayscale, deflate, filter 0, no interlace
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", idat)...)
	return append(out, pngChunk("IEND", nil)...)
}

// bitWriter writes the LSB-first bit stream of WebP lossless.
type bitWriter struct {
	buf []byte
	acc uint64
	n   uint
}

func (w *bitWriter) write(v uint64, bits uint) {
	w.acc |= v << w.n
	w.n += bits
	for w.n >= 8 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc >>= 8
		w.n -= 8
	}
}

func (w *bitWriter) bytes() []byte {
	if w.n > 0 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc, w.n = 0, 0
	}
	return w.buf
}

// vp8l is a WebP lossless bitstream of a w×h picture in one colour: no
// transforms, and five prefix codes of one symbol each, so every pixel
// takes zero bits.
func vp8l(w, h int, c color.NRGBA) []byte {
	bw := &bitWriter{}
	bw.write(0x2f, 8) // signature
	bw.write(uint64(w-1), 14)
	bw.write(uint64(h-1), 14)
	bw.write(0, 1)                                       // alpha hint
	bw.write(0, 3)                                       // version
	bw.write(0, 1)                                       // no transform
	bw.write(0, 1)                                       // no colour cache
	bw.write(0, 1)                                       // no meta prefix codes
	for _, sym := range []uint8{c.G, c.R, c.B, c.A, 0} { // green, red, blue, alpha, distance
		bw.write(1, 1)           // simple code
		bw.write(0, 1)           // one symbol
		bw.write(1, 1)           // 8-bit symbol
		bw.write(uint64(sym), 8) // the symbol
	}
	return bw.bytes()
}

func riffChunk(id string, data []byte) []byte {
	c := []byte(id)
	c = binary.LittleEndian.AppendUint32(c, uint32(len(data)))
	c = append(c, data...)
	if len(data)%2 == 1 {
		c = append(c, 0)
	}
	return c
}

func riff(chunks ...[]byte) []byte {
	body := []byte("WEBP")
	for _, c := range chunks {
		body = append(body, c...)
	}
	out := []byte("RIFF")
	out = binary.LittleEndian.AppendUint32(out, uint32(len(body)))
	return append(out, body...)
}

// webpLossless is a simple-format WebP (one VP8L chunk).
func webpLossless(w, h int, c color.NRGBA) []byte {
	return riff(riffChunk("VP8L", vp8l(w, h, c)))
}

// webpWithExif is an extended-format WebP: VP8X, VP8L and an EXIF chunk.
func webpWithExif(w, h int, c color.NRGBA, exif []byte) []byte {
	x := []byte{0x08, 0, 0, 0} // flags: EXIF present
	x = append(x, byte(w-1), byte((w-1)>>8), byte((w-1)>>16))
	x = append(x, byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	return riff(riffChunk("VP8X", x), riffChunk("VP8L", vp8l(w, h, c)), riffChunk("EXIF", exif))
}
