package media_test

import (
	"bytes"
	"image"
	"image/gif"
	_ "image/jpeg"
	_ "image/png"
	"testing"

	"github.com/webchatroom/chatroom/internal/testimage"
)

func near(c interface{ RGBA() (r, g, b, a uint32) }, want interface{ RGBA() (r, g, b, a uint32) }) bool {
	r1, g1, b1, _ := c.RGBA()
	r2, g2, b2, _ := want.RGBA()
	d := func(a, b uint32) bool { return a>>8+40 >= b>>8 && b>>8+40 >= a>>8 }
	return d(r1, r2) && d(g1, g2) && d(b1, b2)
}

// TestPhotoUprightWithoutGPS uploads a phone photo stored sideways with an
// EXIF orientation and a GPS block: the served picture and thumbnail carry
// no EXIF or GPS and are upright, and the recorded size is the upright one.
func TestPhotoUprightWithoutGPS(t *testing.T) {
	s := MustServe(t)
	u := s.MustUser(t, "traveller")
	// stored 1200×800 with red on top; orientation 6 means "rotate 90°
	// clockwise to display", so upright it is 800×1200, red on the right
	photo := testimage.PhoneJPEG(t, testimage.Halves(1200, 800), 6)
	if !bytes.Contains(photo, []byte(testimage.GPSMarker)) {
		t.Fatal("fixture lacks its GPS block")
	}
	m := s.MustUpload(t, u, form{Kind: "image", Conversation: "lobby", File: photo, Filename: "IMG_0001.JPG"})
	if m.Width != 800 || m.Height != 1200 || m.Mime != "image/jpeg" || m.ThumbnailURL != m.URL+"/thumbnail" {
		t.Fatalf("media %+v", m)
	}
	for _, c := range []struct {
		path         string
		wantW, wantH int
	}{{m.URL, 800, 1200}, {m.ThumbnailURL, 320, 480}} {
		r := s.Get(t, u, c.path)
		if r.Status != 200 || r.Header.Get("Content-Type") != "image/jpeg" {
			t.Fatalf("%s: %d %s", c.path, r.Status, r.Header.Get("Content-Type"))
		}
		for _, secret := range []string{"Exif", "GPS", testimage.GPSMarker} {
			if bytes.Contains(r.Body, []byte(secret)) {
				t.Fatalf("%s still carries %q", c.path, secret)
			}
		}
		if c.path == m.URL && int64(len(r.Body)) != m.Size {
			t.Fatalf("size %d served, %d recorded", len(r.Body), m.Size)
		}
		img, format, err := image.Decode(bytes.NewReader(r.Body))
		if err != nil || format != "jpeg" {
			t.Fatalf("%s: %s %v", c.path, format, err)
		}
		b := img.Bounds()
		if b.Dx() != c.wantW || b.Dy() != c.wantH {
			t.Fatalf("%s is %v, want %d×%d", c.path, b.Size(), c.wantW, c.wantH)
		}
		left, right := img.At(b.Dx()/8, b.Dy()/2), img.At(b.Dx()*7/8, b.Dy()/2)
		if !near(left, testimage.Blue) || !near(right, testimage.Red) {
			t.Fatalf("%s not upright: left %v right %v, want blue then red", c.path, left, right)
		}
	}
}

// TestPicturesKeepTheirKind: a PNG stays a PNG (a screenshot stays sharp)
// and a small picture's thumbnail is not enlarged.
func TestPicturesKeepTheirKind(t *testing.T) {
	s := MustServe(t)
	u := s.MustUser(t, "painter")
	m := s.MustUpload(t, u, form{Kind: "image", Conversation: "lobby", File: testimage.PNG(t, testimage.Halves(300, 100))})
	if m.Mime != "image/png" || m.Width != 300 || m.Height != 100 {
		t.Fatalf("media %+v", m)
	}
	for path, size := range map[string]image.Point{m.URL: {300, 100}, m.ThumbnailURL: {300, 100}} {
		cfg, _, err := image.DecodeConfig(bytes.NewReader(s.Get(t, u, path).Body))
		if err != nil || cfg.Width != size.X || cfg.Height != size.Y {
			t.Fatalf("%s: %+v %v", path, cfg, err)
		}
	}
	big := s.MustUpload(t, u, form{Kind: "image", Conversation: "lobby", File: testimage.PNG(t, testimage.Halves(2000, 500))})
	cfg, _, err := image.DecodeConfig(bytes.NewReader(s.Get(t, u, big.ThumbnailURL).Body))
	if err != nil || cfg.Width != 480 || cfg.Height != 120 {
		t.Fatalf("thumbnail of 2000×500: %+v %v", cfg, err)
	}
}

// TestAnimatedGIFStaysAnimated: the served GIF has all its frames and none
// of its comment or XMP blocks; its thumbnail is a still of the first frame.
func TestAnimatedGIFStaysAnimated(t *testing.T) {
	s := MustServe(t)
	u := s.MustUser(t, "animator")
	anim := testimage.AnimatedGIF(t, 640, 360, 4)
	if !bytes.Contains(anim, []byte(testimage.GIFSecret)) {
		t.Fatal("fixture lacks its metadata blocks")
	}
	m := s.MustUpload(t, u, form{Kind: "image", Conversation: "lobby", File: anim})
	if m.Mime != "image/gif" || m.Width != 640 || m.Height != 360 {
		t.Fatalf("media %+v", m)
	}
	r := s.Get(t, u, m.URL)
	if r.Header.Get("Content-Type") != "image/gif" || bytes.Contains(r.Body, []byte(testimage.GIFSecret)) {
		t.Fatalf("served %s, secret kept: %v", r.Header.Get("Content-Type"), bytes.Contains(r.Body, []byte(testimage.GIFSecret)))
	}
	g, err := gif.DecodeAll(bytes.NewReader(r.Body))
	if err != nil || len(g.Image) != 4 || g.LoopCount != 0 || g.Delay[1] != 10 {
		t.Fatalf("served GIF: %v frames, loop %v, err %v", len(g.Image), g.LoopCount, err)
	}
	th := s.Get(t, u, m.ThumbnailURL)
	img, format, err := image.Decode(bytes.NewReader(th.Body))
	if err != nil || format == "gif" || th.Header.Get("Content-Type") == "image/gif" {
		t.Fatalf("thumbnail is %s (%s), %v: want a still", format, th.Header.Get("Content-Type"), err)
	}
	if b := img.Bounds(); b.Dx() != 480 || b.Dy() != 270 || !near(img.At(10, 10), testimage.Red) {
		t.Fatalf("thumbnail %v, colour %v: want the first (red) frame at 480×270", b, img.At(10, 10))
	}
}
