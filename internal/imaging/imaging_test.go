package imaging_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"runtime"
	"testing"

	"github.com/webchatroom/chatroom/internal/imaging"
)

const maxPixels = 40_000_000 // DESIGN §5

var (
	red  = color.RGBA{255, 0, 0, 255}
	blue = color.RGBA{0, 0, 255, 255}
)

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want imaging.Format
	}{
		{"jpeg", MustJPEG(t, solid(4, 4, red)), imaging.JPEG},
		{"png", MustPNG(t, solid(4, 4, red)), imaging.PNG},
		{"gif89a", MustGIF(t, image.NewPaletted(image.Rect(0, 0, 2, 2), color.Palette{red, blue})), imaging.GIF},
		{"gif87a", []byte("GIF87a\x01\x00\x01\x00"), imaging.GIF},
		{"webp", webpLossless(2, 2, color.NRGBA{1, 2, 3, 255}), imaging.WebP},
	} {
		got, err := imaging.Sniff(tc.data)
		if err != nil || got != tc.want {
			t.Errorf("Sniff(%s) = %q, %v; want %q", tc.name, got, err, tc.want)
		}
		if want := "image/" + string(tc.want); got.MIME() != want {
			t.Errorf("%s: MIME = %q, want %q", tc.name, got.MIME(), want)
		}
	}
}

func TestSniffRefuses(t *testing.T) {
	pngSig := []byte("\x89PNG\r\n\x1a\n")
	for name, data := range map[string][]byte{
		"svg":               []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>`),
		"svg with xml decl": []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>`),
		"svg after spaces":  []byte("  \n<svg><script>alert(1)</script></svg>"),
		"html":              []byte(`<!DOCTYPE html><html><script>alert(1)</script></html>`),
		"plain text":        []byte("hello, this is not a picture"),
		"empty":             nil,
		"truncated png sig": pngSig[:7],
		"two jpeg bytes":    {0xFF, 0xD8},
		"riff but wave":     []byte("RIFF\x24\x00\x00\x00WAVEfmt "),
		"riff too short":    []byte("RIFF\x00\x00\x00\x00WEB"),
		"bmp":               []byte("BM\x3a\x00\x00\x00\x00\x00\x00\x00\x36\x00"),
		"pdf":               []byte("%PDF-1.7\n"),
	} {
		got, err := imaging.Sniff(data)
		if !errors.Is(err, imaging.ErrUnsupported) {
			t.Errorf("Sniff(%s) = %q, %v; want ErrUnsupported", name, got, err)
		}
		if _, err := imaging.Inspect(data, maxPixels); !errors.Is(err, imaging.ErrUnsupported) {
			t.Errorf("Inspect(%s) = %v; want ErrUnsupported", name, err)
		}
	}
}

func TestInspectEachFormat(t *testing.T) {
	frame := image.NewPaletted(image.Rect(0, 0, 31, 17), color.Palette{red, blue})
	for _, tc := range []struct {
		name string
		data []byte
		want imaging.Info
	}{
		{"png", MustPNG(t, solid(37, 21, red)), imaging.Info{Format: imaging.PNG, Width: 37, Height: 21, Orientation: 1}},
		{"jpeg", MustJPEG(t, solid(40, 25, blue)), imaging.Info{Format: imaging.JPEG, Width: 40, Height: 25, Orientation: 1}},
		{"gif", MustGIF(t, frame), imaging.Info{Format: imaging.GIF, Width: 31, Height: 17, Orientation: 1}},
		{"webp", webpLossless(13, 9, color.NRGBA{10, 20, 30, 255}), imaging.Info{Format: imaging.WebP, Width: 13, Height: 9, Orientation: 1}},
	} {
		got, err := imaging.Inspect(tc.data, maxPixels)
		if err != nil || got != tc.want {
			t.Errorf("Inspect(%s) = %+v, %v; want %+v", tc.name, got, err, tc.want)
			continue
		}
		img, err := imaging.Decode(tc.data, got)
		if err != nil {
			t.Errorf("Decode(%s): %v", tc.name, err)
			continue
		}
		if b := img.Bounds(); b.Dx() != tc.want.Width || b.Dy() != tc.want.Height {
			t.Errorf("Decode(%s) bounds %v, want %d×%d", tc.name, b, tc.want.Width, tc.want.Height)
		}
	}
}

func TestInspectPixelLimit(t *testing.T) {
	p := MustPNG(t, solid(100, 50, red)) // 5000 pixels
	if _, err := imaging.Inspect(p, 5000); err != nil {
		t.Errorf("exactly at the limit: %v, want accepted", err)
	}
	if _, err := imaging.Inspect(p, 4999); !errors.Is(err, imaging.ErrTooManyPixels) {
		t.Errorf("one pixel over the limit: %v, want ErrTooManyPixels", err)
	}
}

func TestPNGBombBuilderMakesValidPNG(t *testing.T) {
	// The bomb builder, at a size small enough to decode, yields a PNG the
	// standard decoder reads in full (rows, zlib and Adler-32 checked): so
	// the 30000×30000 one, the same run repeated more often, is a real PNG.
	small := pngBomb(t, 1600, 2000)
	img, err := png.Decode(bytes.NewReader(small))
	if err != nil {
		t.Fatalf("decode small bomb: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1600 || b.Dy() != 2000 {
		t.Fatalf("bounds %v", b)
	}
	if r, g, b, _ := img.At(1599, 1999).RGBA(); r|g|b != 0 {
		t.Errorf("bomb pixel not black")
	}
}

func TestPNGBombRefusedWithoutDecoding(t *testing.T) {
	bomb := pngBomb(t, 30000, 30000)
	if len(bomb) > 200<<10 {
		t.Fatalf("bomb is %d bytes; expected about 110 KB", len(bomb))
	}
	t.Logf("30000×30000 PNG bomb: %d bytes", len(bomb))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := imaging.Inspect(bomb, maxPixels)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, imaging.ErrTooManyPixels) {
		t.Fatalf("Inspect(30000×30000) = %v, want ErrTooManyPixels", err)
	}
	// Decoding would need 112 MB of inflated rows and a 900-megapixel image.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 10<<20 {
		t.Errorf("Inspect allocated %d bytes on a refused bomb: it decoded pixels", alloc)
	}
}

func TestInspectInvalid(t *testing.T) {
	good := MustPNG(t, solid(20, 20, red))
	badCRC := append([]byte{}, good...)
	badCRC[8+8+3] ^= 0xFF // width byte in IHDR, CRC no longer matches
	jpg := MustJPEG(t, solid(20, 20, red))
	for name, data := range map[string][]byte{
		"png signature only":  good[:8],
		"png cut in IHDR":     good[:20],
		"png IHDR crc":        badCRC,
		"png zero width":      pngWithSize(t, good, 0, 20),
		"jpeg SOI only":       jpg[:3],
		"jpeg garbage":        append([]byte{0xFF, 0xD8, 0xFF}, bytes.Repeat([]byte{0x13}, 64)...),
		"jpeg cut before SOF": jpg[:len(jpg)/20],
		"gif header only":     []byte("GIF89a"),
		"webp header only":    []byte("RIFF\x04\x00\x00\x00WEBP"),
		"webp cut":            webpLossless(9, 9, color.NRGBA{1, 2, 3, 255})[:22],
		"webp unknown chunk":  riff(riffChunk("ABCD", []byte("xxxx"))),
	} {
		if info, err := imaging.Inspect(data, maxPixels); !errors.Is(err, imaging.ErrInvalid) {
			t.Errorf("Inspect(%s) = %+v, %v; want ErrInvalid", name, info, err)
		}
	}
}

// pngWithSize rewrites the IHDR size of p (and its CRC).
func pngWithSize(t *testing.T, p []byte, w, h uint32) []byte {
	t.Helper()
	out := append([]byte{}, p...)
	ihdr := append([]byte{}, out[16:29]...)
	ihdr[0], ihdr[1], ihdr[2], ihdr[3] = byte(w>>24), byte(w>>16), byte(w>>8), byte(w)
	ihdr[4], ihdr[5], ihdr[6], ihdr[7] = byte(h>>24), byte(h>>16), byte(h>>8), byte(h)
	copy(out[8:33], pngChunk("IHDR", ihdr))
	return out
}

func TestDecodeTruncatedPixelsIsInvalid(t *testing.T) {
	// Header intact, pixel data cut: Inspect passes, Decode must fail cleanly.
	noisy := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := range noisy.Pix {
		noisy.Pix[i] = byte(i * 7919 >> 3)
	}
	for name, data := range map[string][]byte{
		"png":  MustPNG(t, noisy),
		"jpeg": MustJPEG(t, noisy),
	} {
		cut := data[:len(data)*2/3]
		info, err := imaging.Inspect(cut, maxPixels)
		if err != nil {
			t.Fatalf("Inspect(%s cut) = %v; the header is intact", name, err)
		}
		if _, err := imaging.Decode(cut, info); !errors.Is(err, imaging.ErrInvalid) {
			t.Errorf("Decode(%s cut) = %v, want ErrInvalid", name, err)
		}
	}
}

func TestDecodeGIFFirstFrame(t *testing.T) {
	pal := color.Palette{red, blue}
	f1 := image.NewPaletted(image.Rect(0, 0, 4, 4), pal) // all index 0: red
	f2 := image.NewPaletted(image.Rect(0, 0, 4, 4), pal)
	for i := range f2.Pix {
		f2.Pix[i] = 1 // blue
	}
	data := MustGIF(t, f1, f2)
	info, err := imaging.Inspect(data, maxPixels)
	if err != nil {
		t.Fatal(err)
	}
	img, err := imaging.Decode(data, info)
	if err != nil {
		t.Fatal(err)
	}
	if !near(img.At(2, 2), red, 0) {
		t.Errorf("GIF decoded to %v, want the first frame's red", img.At(2, 2))
	}
}

func TestDecodeUnknownFormat(t *testing.T) {
	if _, err := imaging.Decode([]byte("whatever"), imaging.Info{Format: "svg"}); !errors.Is(err, imaging.ErrUnsupported) {
		t.Errorf("Decode(svg) = %v, want ErrUnsupported", err)
	}
}

func TestEncodeOpaqueIsJPEG(t *testing.T) {
	src := solid(30, 20, color.RGBA{200, 100, 50, 255})
	out, f, err := imaging.Encode(src)
	if err != nil {
		t.Fatal(err)
	}
	if f != imaging.JPEG {
		t.Fatalf("opaque picture encoded as %q, want jpeg", f)
	}
	info, err := imaging.Inspect(out, maxPixels)
	if err != nil || info.Format != imaging.JPEG || info.Width != 30 || info.Height != 20 {
		t.Fatalf("re-inspect = %+v, %v", info, err)
	}
	img, err := imaging.Decode(out, info)
	if err != nil {
		t.Fatal(err)
	}
	if !near(img.At(15, 10), color.RGBA{200, 100, 50, 255}, 8) {
		t.Errorf("colour after JPEG encode = %v", img.At(15, 10))
	}
}

func TestEncodeTransparentIsPNG(t *testing.T) {
	src := solid(30, 20, color.RGBA{0, 0, 255, 255})
	src.SetRGBA(3, 4, color.RGBA{0, 0, 0, 0}) // one transparent pixel
	out, f, err := imaging.Encode(src)
	if err != nil {
		t.Fatal(err)
	}
	if f != imaging.PNG {
		t.Fatalf("transparent picture encoded as %q, want png", f)
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, a := img.At(3, 4).RGBA(); a != 0 {
		t.Errorf("transparent pixel came back with alpha %d", a)
	}
	if _, _, _, a := img.At(5, 5).RGBA(); a != 0xFFFF {
		t.Errorf("opaque pixel came back with alpha %d", a)
	}
}

func TestEncodeStripsExif(t *testing.T) {
	// A camera JPEG with EXIF (orientation and, in real life, GPS) goes
	// through the upload path: decode, fit, encode.
	for name, src := range map[string][]byte{
		"jpeg": jpegWithExif(MustJPEG(t, solid(40, 20, red)), exifTIFF(bigEndian, 6)),
		"png":  pngWithExif(MustPNG(t, withTransparentPixel(solid(40, 20, red))), exifTIFF(littleEndian, 6)),
	} {
		if !bytes.Contains(src, []byte("Exif")) && !bytes.Contains(src, []byte("eXIf")) {
			t.Fatalf("%s: test input carries no EXIF", name)
		}
		info, err := imaging.Inspect(src, maxPixels)
		if err != nil {
			t.Fatal(err)
		}
		img, err := imaging.Decode(src, info)
		if err != nil {
			t.Fatal(err)
		}
		out, f, err := imaging.Encode(imaging.Fit(img, 1024))
		if err != nil {
			t.Fatal(err)
		}
		for _, marker := range []string{"Exif", "eXIf", "MM\x00*", "II*\x00"} {
			if bytes.Contains(out, []byte(marker)) {
				t.Errorf("%s re-encoded as %s still contains %q", name, f, marker)
			}
		}
		// The orientation was applied to the pixels, so the output needs none.
		info2, err := imaging.Inspect(out, maxPixels)
		if err != nil {
			t.Fatal(err)
		}
		if info2.Orientation != 1 || info2.Width != 20 || info2.Height != 40 {
			t.Errorf("%s: output info %+v, want upright 20×40 with orientation 1", name, info2)
		}
	}
}

func withTransparentPixel(img *image.RGBA) *image.RGBA {
	img.SetRGBA(0, 0, color.RGBA{})
	return img
}

// threeBands is w×h: the middle third (by the longer side) red, the rest blue.
func threeBands(w, h int) *image.RGBA {
	img := solid(w, h, blue)
	mid := image.Rect(w/3, 0, 2*w/3, h)
	if h > w {
		mid = image.Rect(0, h/3, w, 2*h/3)
	}
	draw.Draw(img, mid, image.NewUniform(red), image.Point{}, draw.Src)
	return img
}

func TestSquareThumbCropsCentre(t *testing.T) {
	for _, tc := range []struct {
		name string
		img  *image.RGBA
		size int
	}{
		{"wide", threeBands(300, 100), 64},
		{"tall", threeBands(100, 300), 64},
		{"wide, big shrink", threeBands(1200, 400), 48},
		{"wide, upscale", threeBands(30, 10), 20},
	} {
		thumb := imaging.SquareThumb(tc.img, tc.size)
		if b := thumb.Bounds(); b.Dx() != tc.size || b.Dy() != tc.size {
			t.Errorf("%s: thumb bounds %v, want %d×%d", tc.name, b, tc.size, tc.size)
			continue
		}
		bad := 0
		for y := range tc.size {
			for x := range tc.size {
				if !near(thumb.At(x, y), red, 8) {
					bad++
				}
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d thumb pixels are not the middle's red (corner %v, centre %v)",
				tc.name, bad, tc.size*tc.size, thumb.At(0, 0), thumb.At(tc.size/2, tc.size/2))
		}
	}
}

func TestSquareThumbOffsetBounds(t *testing.T) {
	// A sub-image whose bounds do not start at (0,0).
	big := threeBands(300, 100)
	sub := big.SubImage(image.Rect(100, 0, 300, 100)).(*image.RGBA) // red | blue, 200×100
	thumb := imaging.SquareThumb(sub, 10)
	// Centre square of the sub-image: x 150..250, half red half blue.
	if !near(thumb.At(1, 5), red, 8) || !near(thumb.At(8, 5), blue, 8) {
		t.Errorf("thumb of offset sub-image: left %v right %v, want red then blue", thumb.At(1, 5), thumb.At(8, 5))
	}
}

func TestFit(t *testing.T) {
	for _, tc := range []struct {
		w, h, max    int
		wantW, wantH int
	}{
		{50, 30, 100, 50, 30}, // smaller: never upsized
		{100, 100, 100, 100, 100},
		{400, 200, 100, 100, 50}, // wide
		{200, 400, 100, 50, 100}, // tall
		{900, 600, 300, 300, 200},
		{1000, 3, 100, 100, 1}, // never zero
	} {
		img := imaging.Fit(threeBands(tc.w, tc.h), tc.max)
		if b := img.Bounds(); b.Dx() != tc.wantW || b.Dy() != tc.wantH {
			t.Errorf("Fit(%d×%d, %d) = %d×%d, want %d×%d", tc.w, tc.h, tc.max, b.Dx(), b.Dy(), tc.wantW, tc.wantH)
			continue
		}
		if tc.wantH < 3 || tc.wantW < 3 {
			continue
		}
		// The content is scaled, not cropped: the middle is red, the ends blue.
		if !near(img.At(tc.wantW/2, tc.wantH/2), red, 8) || !near(img.At(0, 0), blue, 8) {
			t.Errorf("Fit(%d×%d): centre %v corner %v, want red centre, blue corner", tc.w, tc.h, img.At(tc.wantW/2, tc.wantH/2), img.At(0, 0))
		}
	}
}

// near reports whether two colours differ by at most tol per 8-bit channel.
func near(a, b color.Color, tol int) bool {
	ar, ag, ab, aa := a.RGBA()
	br, bg, bb, ba := b.RGBA()
	for _, d := range []int{int(ar>>8) - int(br>>8), int(ag>>8) - int(bg>>8), int(ab>>8) - int(bb>>8), int(aa>>8) - int(ba>>8)} {
		if d < -tol || d > tol {
			return false
		}
	}
	return true
}

func TestEncodeDecodedJPEGStaysJPEG(t *testing.T) {
	// Decode of an upright JPEG returns the decoder's own image type.
	src := MustJPEG(t, solid(24, 16, color.RGBA{10, 120, 200, 255}))
	info, err := imaging.Inspect(src, maxPixels)
	if err != nil {
		t.Fatal(err)
	}
	img, err := imaging.Decode(src, info)
	if err != nil {
		t.Fatal(err)
	}
	out, f, err := imaging.Encode(img)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := imaging.Sniff(out); f != imaging.JPEG || got != imaging.JPEG {
		t.Errorf("an opaque %T encoded as %q (sniffed %q), want jpeg", img, f, got)
	}
}
