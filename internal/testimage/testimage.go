// Package testimage makes pictures for tests: plain ones, phone photos
// with EXIF orientation and GPS, and decompression bombs.
package testimage

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"
)

// Red and Blue are the two halves of Halves.
var (
	Red  = color.RGBA{220, 20, 20, 255}
	Blue = color.RGBA{20, 20, 220, 255}
)

// Halves is a w×h picture whose top half is Red and bottom half Blue.
func Halves(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		c := Red
		if y >= h/2 {
			c = Blue
		}
		for x := 0; x < w; x++ {
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// PNG encodes img as PNG.
func PNG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// JPEG encodes img as JPEG.
func JPEG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// GPSMarker is a string inside the GPS block of PhoneJPEG, to look for in
// output that must not carry it.
const GPSMarker = "GPS-SECRET-31.2304N-121.4737E"

// PhoneJPEG is img as a phone would save it: a JPEG with an APP1 Exif
// segment holding the orientation tag and a GPS block (latitude, longitude
// and GPSMarker as the processing method).
func PhoneJPEG(tb testing.TB, img image.Image, orientation uint16) []byte {
	tb.Helper()
	plain := JPEG(tb, img)
	app1 := append([]byte("Exif\x00\x00"), exifTIFF(orientation)...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(app1)+2))
	out := append([]byte{}, plain[:2]...) // SOI
	out = append(out, seg...)
	out = append(out, app1...)
	return append(out, plain[2:]...)
}

// exifTIFF builds a big-endian TIFF block: IFD0 with Orientation and a
// GPS IFD pointer; the GPS IFD with latitude/longitude refs, rationals and
// a processing-method string.
func exifTIFF(orientation uint16) []byte {
	be := binary.BigEndian
	var b bytes.Buffer
	w16 := func(v uint16) { _ = binary.Write(&b, be, v) }
	w32 := func(v uint32) { _ = binary.Write(&b, be, v) }
	b.WriteString("MM")
	w16(42)
	w32(8) // IFD0 at 8
	// IFD0: 2 entries
	w16(2)
	w16(0x0112) // Orientation
	w16(3)      // SHORT
	w32(1)
	w16(orientation)
	w16(0)
	gpsIFD := uint32(8 + 2 + 2*12 + 4)
	w16(0x8825) // GPSInfo pointer
	w16(4)      // LONG
	w32(1)
	w32(gpsIFD)
	w32(0) // no next IFD
	// GPS IFD: 5 entries, data after it
	dataAt := gpsIFD + 2 + 5*12 + 4
	method := []byte("ASCII\x00\x00\x00" + GPSMarker)
	w16(5)
	w16(1) // GPSLatitudeRef
	w16(2)
	w32(2)
	b.WriteString("N\x00\x00\x00")
	w16(2) // GPSLatitude
	w16(5) // RATIONAL
	w32(3)
	w32(dataAt)
	w16(3) // GPSLongitudeRef
	w16(2)
	w32(2)
	b.WriteString("E\x00\x00\x00")
	w16(4) // GPSLongitude
	w16(5)
	w32(3)
	w32(dataAt + 24)
	w16(0x1B) // GPSProcessingMethod
	w16(7)    // UNDEFINED
	w32(uint32(len(method)))
	w32(dataAt + 48)
	w32(0)
	for _, v := range []uint32{31, 1, 13, 1, 4944, 100, 121, 1, 28, 1, 2532, 100} {
		w32(v)
	}
	b.Write(method)
	return b.Bytes()
}

// PNGBomb is a valid PNG that declares w×h pixels (1-bit grayscale, all
// black): small on disk, gigabytes once decoded.
func PNGBomb(tb testing.TB, w, h int) []byte {
	tb.Helper()
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		_ = binary.Write(&out, binary.BigEndian, uint32(len(data)))
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		out.WriteString(typ)
		out.Write(data)
		_ = binary.Write(&out, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 1, 0 // bit depth 1, grayscale
	chunk("IHDR", ihdr)
	var idat bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&idat, zlib.BestSpeed)
	row := make([]byte, 1+(w+7)/8)
	for y := 0; y < h; y++ {
		_, _ = zw.Write(row)
	}
	_ = zw.Close()
	chunk("IDAT", idat.Bytes())
	chunk("IEND", nil)
	return out.Bytes()
}

// SVG is a scalable picture with a script: never to be accepted.
const SVG = `<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>`

// GIFSecret is a string in the comment and XMP blocks of AnimatedGIF, to
// look for in output that must not carry it.
const GIFSecret = "GIF-SECRET-COMMENT-XMP"

// AnimatedGIF is a looping GIF of frames w×h frames, each a different
// colour, carrying GIFSecret in a comment block and an XMP application
// block (where GIF metadata lives).
func AnimatedGIF(tb testing.TB, w, h, frames int) []byte {
	tb.Helper()
	palette := color.Palette{Red, Blue, color.RGBA{20, 200, 20, 255}, color.RGBA{240, 240, 20, 255}}
	g := &gif.GIF{LoopCount: 0}
	for i := 0; i < frames; i++ {
		img := image.NewPaletted(image.Rect(0, 0, w, h), palette)
		for p := range img.Pix {
			img.Pix[p] = uint8(i % len(palette))
		}
		g.Image, g.Delay = append(g.Image, img), append(g.Delay, 10)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		tb.Fatal(err)
	}
	b := buf.Bytes()
	at := 13 // after the screen descriptor and its colour table
	if b[10]&0x80 != 0 {
		at += 3 << (b[10]&7 + 1)
	}
	comment := append([]byte{0x21, 0xFE, byte(len(GIFSecret))}, GIFSecret...)
	comment = append(comment, 0)
	xmp := append([]byte{0x21, 0xFF, 11}, "XMP DataXMP"...)
	xmp = append(xmp, byte(len(GIFSecret)))
	xmp = append(xmp, GIFSecret...)
	xmp = append(xmp, 0)
	out := append([]byte{}, b[:at]...)
	out = append(out, comment...)
	out = append(out, xmp...)
	return append(out, b[at:]...)
}
