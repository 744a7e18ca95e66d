package imaging_test

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/webchatroom/chatroom/internal/imaging"
)

var (
	bigEndian    byteOrder = binary.BigEndian
	littleEndian byteOrder = binary.LittleEndian
)

// The stored picture is 3×2:
//
//	A B C
//	D E F
//
// and upright[o] is how it must look after EXIF orientation o is applied
// (EXIF 2.32, tag 0x0112), row by row.
var upright = map[int][]string{
	1: {"ABC", "DEF"},
	2: {"CBA", "FED"},     // mirror horizontal
	3: {"FED", "CBA"},     // rotate 180
	4: {"DEF", "ABC"},     // mirror vertical
	5: {"AD", "BE", "CF"}, // transpose
	6: {"DA", "EB", "FC"}, // rotate 90° clockwise
	7: {"FC", "EB", "DA"}, // transverse
	8: {"CF", "BE", "AD"}, // rotate 90° counter-clockwise
}

var letterColour = map[byte]color.RGBA{
	'A': {255, 0, 0, 255},
	'B': {0, 255, 0, 255},
	'C': {0, 0, 255, 255},
	'D': {255, 255, 0, 255},
	'E': {255, 0, 255, 255},
	'F': {0, 255, 255, 255},
}

// letters draws upright[1] with each letter a cell×cell block of its colour.
func letters(cell int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 3*cell, 2*cell))
	for row, line := range upright[1] {
		for col := range len(line) {
			c := letterColour[line[col]]
			for y := row * cell; y < (row+1)*cell; y++ {
				for x := col * cell; x < (col+1)*cell; x++ {
					img.SetRGBA(x, y, c)
				}
			}
		}
	}
	return img
}

// readLetters reads back the grid of img, one sample per cell centre,
// naming each sample by the nearest letter colour.
func readLetters(img image.Image, cell int) []string {
	b := img.Bounds()
	var rows []string
	for y := b.Min.Y + cell/2; y < b.Max.Y; y += cell {
		var row strings.Builder
		for x := b.Min.X + cell/2; x < b.Max.X; x += cell {
			row.WriteByte(nearestLetter(img.At(x, y)))
		}
		rows = append(rows, row.String())
	}
	return rows
}

func nearestLetter(c color.Color) byte {
	r, g, b, _ := c.RGBA()
	best, bestD := byte('?'), 1<<62
	for l, lc := range letterColour {
		dr, dg, db := int(r>>8)-int(lc.R), int(g>>8)-int(lc.G), int(b>>8)-int(lc.B)
		if d := dr*dr + dg*dg + db*db; d < bestD {
			best, bestD = l, d
		}
	}
	if bestD > 3*40*40 {
		return '?'
	}
	return best
}

func TestOrientationFromJPEGExif(t *testing.T) {
	plain := MustJPEG(t, solid(30, 20, red))
	for _, bo := range []byteOrder{bigEndian, littleEndian} {
		for o := 1; o <= 8; o++ {
			data := jpegWithExif(plain, exifTIFF(bo, uint16(o)))
			info, err := imaging.Inspect(data, maxPixels)
			if err != nil {
				t.Fatalf("%v orientation %d: %v", bo, o, err)
			}
			if info.Orientation != o {
				t.Errorf("%v: Orientation = %d, want %d", bo, info.Orientation, o)
			}
			if info.Width != 30 || info.Height != 20 {
				t.Errorf("%v orientation %d: stored size %d×%d, want 30×20", bo, o, info.Width, info.Height)
			}
			w, h := info.Upright()
			if wantW, wantH := 30, 20; o >= 5 {
				if w != wantH || h != wantW {
					t.Errorf("orientation %d: Upright = %d×%d, want 20×30", o, w, h)
				}
			} else if w != wantW || h != wantH {
				t.Errorf("orientation %d: Upright = %d×%d, want 30×20", o, w, h)
			}
		}
	}
}

func TestOrientationEdgeCases(t *testing.T) {
	plain := MustJPEG(t, solid(8, 8, red))
	jfif := []byte("JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
	for name, tc := range map[string]struct {
		data []byte
		want int
	}{
		"no exif":            {plain, 1},
		"orientation 0":      {jpegWithExif(plain, exifTIFF(bigEndian, 0)), 1},
		"orientation 9":      {jpegWithExif(plain, exifTIFF(bigEndian, 9)), 1},
		"garbage tiff":       {jpegWithExif(plain, []byte("XX\x00\x2a\x00\x00\x00\x08")), 1},
		"tiff cut short":     {jpegWithExif(plain, exifTIFF(littleEndian, 6)[:14]), 1},
		"JFIF APP0 first":    {withJPEGSegment(jpegWithExif(plain, exifTIFF(bigEndian, 8)), 0xE0, jfif), 8},
		"non-exif APP1 only": {withJPEGSegment(plain, 0xE1, []byte("http://ns.adobe.com/xap/1.0/\x00<x/>")), 1},
	} {
		info, err := imaging.Inspect(tc.data, maxPixels)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if info.Orientation != tc.want {
			t.Errorf("%s: Orientation = %d, want %d", name, info.Orientation, tc.want)
		}
	}
}

func TestOrientationFromPNGAndWebP(t *testing.T) {
	nrgba := color.NRGBA{9, 99, 199, 255}
	for o := 1; o <= 8; o++ {
		for name, data := range map[string][]byte{
			"png eXIf":              pngWithExif(MustPNG(t, solid(3, 2, red)), exifTIFF(bigEndian, uint16(o))),
			"webp EXIF":             webpWithExif(3, 2, nrgba, exifTIFF(littleEndian, uint16(o))),
			"webp EXIF with header": webpWithExif(3, 2, nrgba, append([]byte("Exif\x00\x00"), exifTIFF(bigEndian, uint16(o))...)),
		} {
			info, err := imaging.Inspect(data, maxPixels)
			if err != nil {
				t.Fatalf("%s %d: %v", name, o, err)
			}
			if info.Orientation != o || info.Width != 3 || info.Height != 2 {
				t.Errorf("%s: Info = %+v, want 3×2 with orientation %d", name, info, o)
			}
			img, err := imaging.Decode(data, info)
			if err != nil {
				t.Fatalf("%s %d: decode: %v", name, o, err)
			}
			w, h := info.Upright()
			if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
				t.Errorf("%s orientation %d: decoded %v, want upright %d×%d", name, o, b, w, h)
			}
		}
	}
}

func TestDecodeTurnsPixelsUpright(t *testing.T) {
	// Lossless: the exact 3×2 picture in a PNG with eXIf.
	for o := 1; o <= 8; o++ {
		for _, bo := range []byteOrder{bigEndian, littleEndian} {
			data := pngWithExif(MustPNG(t, letters(1)), exifTIFF(bo, uint16(o)))
			assertUpright(t, fmt.Sprintf("png %v", bo), data, o, 1)
		}
	}
	// JPEG: 16×16 blocks, one per colour, aligned to the encoder's MCUs so
	// the lossy codec keeps each block's colour.
	for o := 1; o <= 8; o++ {
		for _, bo := range []byteOrder{bigEndian, littleEndian} {
			data := jpegWithExif(MustJPEG(t, letters(16)), exifTIFF(bo, uint16(o)))
			assertUpright(t, fmt.Sprintf("jpeg %v", bo), data, o, 16)
		}
	}
}

func assertUpright(t *testing.T, name string, data []byte, o, cell int) {
	t.Helper()
	info, err := imaging.Inspect(data, maxPixels)
	if err != nil {
		t.Fatalf("%s orientation %d: %v", name, o, err)
	}
	if info.Orientation != o {
		t.Fatalf("%s: Orientation = %d, want %d", name, info.Orientation, o)
	}
	img, err := imaging.Decode(data, info)
	if err != nil {
		t.Fatalf("%s orientation %d: %v", name, o, err)
	}
	if got, want := readLetters(img, cell), upright[o]; strings.Join(got, "/") != strings.Join(want, "/") {
		t.Errorf("%s orientation %d: decoded %v, want %v", name, o, got, want)
	}
}

func TestOrientSubImage(t *testing.T) {
	// Orient must read from the image's own bounds, not from (0,0).
	canvas := image.NewRGBA(image.Rect(0, 0, 10, 10))
	l := letters(1)
	for y := range 2 {
		for x := range 3 {
			canvas.Set(5+x, 7+y, l.At(x, y))
		}
	}
	sub := canvas.SubImage(image.Rect(5, 7, 8, 9))
	for o := 1; o <= 8; o++ {
		if got, want := readLetters(imaging.Orient(sub, o), 1), upright[o]; strings.Join(got, "/") != strings.Join(want, "/") {
			t.Errorf("Orient(sub-image, %d) = %v, want %v", o, got, want)
		}
	}
}

func TestUpright(t *testing.T) {
	for o := 0; o <= 8; o++ {
		w, h := imaging.Info{Width: 4, Height: 3, Orientation: o}.Upright()
		wantW, wantH := 4, 3
		if o >= 5 {
			wantW, wantH = 3, 4
		}
		if w != wantW || h != wantH {
			t.Errorf("Upright(orientation %d) = %d×%d, want %d×%d", o, w, h, wantW, wantH)
		}
	}
}

func TestDecodeStoredKeepsStoredOrientation(t *testing.T) {
	data := pngWithExif(MustPNG(t, letters(1)), exifTIFF(bigEndian, 6))
	info, err := imaging.Inspect(data, maxPixels)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := imaging.DecodeStored(data, info)
	if err != nil {
		t.Fatal(err)
	}
	if got := readLetters(stored, 1); strings.Join(got, "/") != "ABC/DEF" {
		t.Errorf("DecodeStored = %v, want the picture as stored", got)
	}
	// Orient afterwards gives what Decode gives.
	if got := readLetters(imaging.Orient(stored, info.Orientation), 1); strings.Join(got, "/") != strings.Join(upright[6], "/") {
		t.Errorf("Orient(DecodeStored) = %v, want %v", got, upright[6])
	}
}
