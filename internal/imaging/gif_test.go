package imaging_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image/gif"
	"testing"

	"github.com/webchatroom/chatroom/internal/imaging"
	"github.com/webchatroom/chatroom/internal/testimage"
)

func TestStripGIFKeepsFramesDropsMetadata(t *testing.T) {
	in := testimage.AnimatedGIF(t, 32, 24, 5)
	out, frames, err := imaging.StripGIF(in)
	if err != nil || frames != 5 {
		t.Fatalf("StripGIF: %d frames, %v", frames, err)
	}
	if bytes.Contains(out, []byte(testimage.GIFSecret)) || bytes.Contains(out, []byte("XMP DataXMP")) {
		t.Fatal("comment or XMP block kept")
	}
	if !bytes.Contains(out, []byte("NETSCAPE2.0")) {
		t.Fatal("the looping extension was dropped")
	}
	want, _ := gif.DecodeAll(bytes.NewReader(in))
	got, err := gif.DecodeAll(bytes.NewReader(out))
	if err != nil || len(got.Image) != 5 || got.LoopCount != want.LoopCount {
		t.Fatalf("stripped GIF: %v", err)
	}
	for i := range got.Image {
		if !bytes.Equal(got.Image[i].Pix, want.Image[i].Pix) || got.Delay[i] != want.Delay[i] {
			t.Fatalf("frame %d changed", i)
		}
	}
	if again, _, _ := imaging.StripGIF(out); !bytes.Equal(again, out) {
		t.Fatal("stripping twice changes the output")
	}
}

func TestStripGIFRefusesDamage(t *testing.T) {
	in := testimage.AnimatedGIF(t, 32, 24, 2)
	noTrailer := in[:len(in)-1]
	if out, frames, err := imaging.StripGIF(noTrailer); err != nil || frames != 2 || out[len(out)-1] != 0x3B {
		t.Fatalf("GIF without trailer: %d frames, %v", frames, err)
	}
	// frames of 32 px on a screen narrowed to 31 px
	outside := bytes.Clone(in)
	binary.LittleEndian.PutUint16(outside[6:], 31)
	for name, data := range map[string][]byte{
		"cut in a frame":       in[:len(in)-20],
		"header only":          in[:13],
		"frame outside screen": outside,
		"unknown block":        append(bytes.Clone(in[:len(in)-1]), 0x99, 0x3B),
		"no frames":            append(bytes.Clone(in[:13+colorTable(in)]), 0x3B),
	} {
		if _, _, err := imaging.StripGIF(data); !errors.Is(err, imaging.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, _, err := imaging.StripGIF(MustPNG(t, solid(4, 4, red))); !errors.Is(err, imaging.ErrUnsupported) {
		t.Errorf("a PNG: %v, want ErrUnsupported", err)
	}
}

func colorTable(b []byte) int {
	if b[10]&0x80 == 0 {
		return 0
	}
	return 3 << (b[10]&7 + 1)
}

func TestEncodeAsKeepsTheFormatItCanWrite(t *testing.T) {
	img := solid(8, 8, red)
	for _, c := range []struct{ in, out imaging.Format }{
		{imaging.JPEG, imaging.JPEG}, {imaging.PNG, imaging.PNG}, {imaging.WebP, imaging.JPEG}, {imaging.GIF, imaging.JPEG},
	} {
		b, f, err := imaging.EncodeAs(img, c.in)
		if err != nil || f != c.out {
			t.Fatalf("EncodeAs(%s) = %s, %v; want %s", c.in, f, err, c.out)
		}
		if sniffed, _ := imaging.Sniff(b); sniffed != c.out {
			t.Fatalf("EncodeAs(%s) wrote %s", c.in, sniffed)
		}
	}
}
