// Package imaging checks and re-encodes pictures users upload: the format is
// sniffed from the bytes (JPEG, PNG, GIF, WebP; never SVG), the pixel count
// is checked from the header before anything is decoded, EXIF orientation is
// applied and the re-encoded output carries no metadata.
package imaging

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"runtime"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// Format is a supported picture format.
type Format string

// The formats accepted.
const (
	JPEG Format = "jpeg"
	PNG  Format = "png"
	GIF  Format = "gif"
	WebP Format = "webp"
)

// Errors a caller maps to its own codes.
var (
	ErrUnsupported   = errors.New("not a JPEG, PNG, GIF or WebP picture")
	ErrTooManyPixels = errors.New("picture has too many pixels")
	ErrInvalid       = errors.New("picture is damaged")
)

// MIME returns the media type of the format.
func (f Format) MIME() string { return "image/" + string(f) }

// Sniff names the format from the leading bytes, or ErrUnsupported.
func Sniff(b []byte) (Format, error) {
	switch {
	case len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF:
		return JPEG, nil
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return PNG, nil
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return GIF, nil
	case len(b) >= 12 && string(b[0:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return WebP, nil
	}
	return "", ErrUnsupported
}

// Info is what the header says about a picture.
type Info struct {
	Format      Format
	Width       int // as stored, before orientation
	Height      int
	Orientation int // EXIF orientation 1–8 (1 = upright)
}

// Upright returns width and height after orientation is applied.
func (i Info) Upright() (int, int) {
	if i.Orientation >= 5 {
		return i.Height, i.Width
	}
	return i.Width, i.Height
}

// Inspect sniffs the format and reads the header only; a picture over
// maxPixels is refused before any pixel is decoded.
func Inspect(b []byte, maxPixels int64) (Info, error) {
	f, err := Sniff(b)
	if err != nil {
		return Info{}, err
	}
	var cfg image.Config
	switch f {
	case JPEG:
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(b))
	case PNG:
		cfg, err = png.DecodeConfig(bytes.NewReader(b))
	case GIF:
		cfg, err = gif.DecodeConfig(bytes.NewReader(b))
	case WebP:
		cfg, err = webp.DecodeConfig(bytes.NewReader(b))
	}
	if err != nil {
		return Info{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return Info{}, fmt.Errorf("%w: empty picture", ErrInvalid)
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return Info{}, fmt.Errorf("%w: %d×%d", ErrTooManyPixels, cfg.Width, cfg.Height)
	}
	return Info{Format: f, Width: cfg.Width, Height: cfg.Height, Orientation: orientation(f, b)}, nil
}

// decodeSlots bounds concurrent decodes: a 40-megapixel picture needs
// 160 MB while decoded.
var decodeSlots = make(chan struct{}, max(2, runtime.NumCPU()))

// Decode decodes a picture Inspect accepted and turns it upright. For a GIF
// it is the first frame.
func Decode(b []byte, info Info) (image.Image, error) {
	img, err := DecodeStored(b, info)
	if err != nil {
		return nil, err
	}
	return Orient(img, info.Orientation), nil
}

// DecodeStored decodes a picture as stored, before orientation: cheaper
// when it is scaled down first and turned upright after (Orient).
func DecodeStored(b []byte, info Info) (image.Image, error) {
	decodeSlots <- struct{}{}
	defer func() { <-decodeSlots }()
	var img image.Image
	var err error
	switch info.Format {
	case JPEG:
		img, err = jpeg.Decode(bytes.NewReader(b))
	case PNG:
		img, err = png.Decode(bytes.NewReader(b))
	case GIF:
		img, err = gif.Decode(bytes.NewReader(b))
	case WebP:
		img, err = webp.Decode(bytes.NewReader(b))
	default:
		return nil, ErrUnsupported
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return img, nil
}

// SquareThumb crops the centre square of img and scales it to size×size.
func SquareThumb(img image.Image, size int) *image.RGBA {
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	x0 := b.Min.X + (b.Dx()-side)/2
	y0 := b.Min.Y + (b.Dy()-side)/2
	return scale(img, image.Rect(x0, y0, x0+side, y0+side), size, size)
}

// Fit scales img down so its longer side is at most maxSide (never up).
func Fit(img image.Image, maxSide int) *image.RGBA {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > maxSide || h > maxSide {
		if w >= h {
			w, h = maxSide, max(1, h*maxSide/w)
		} else {
			w, h = max(1, w*maxSide/h), maxSide
		}
	}
	return scale(img, b, w, h)
}

// scale resamples src's rectangle r to w×h. Large shrinks go through a
// cheap bilinear step first, so a 40-megapixel source stays fast.
func scale(src image.Image, r image.Rectangle, w, h int) *image.RGBA {
	if r.Dx() > 4*w && r.Dy() > 4*h {
		mid := image.NewRGBA(image.Rect(0, 0, 2*w, 2*h))
		draw.ApproxBiLinear.Scale(mid, mid.Bounds(), src, r, draw.Src, nil)
		src, r = mid, mid.Bounds()
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, r, draw.Src, nil)
	return dst
}

// Encode writes img as JPEG when it is opaque and as PNG when it has
// transparency. The output holds pixels only: no EXIF, no GPS.
func Encode(img image.Image) ([]byte, Format, error) {
	if o, ok := img.(interface{ Opaque() bool }); ok && o.Opaque() {
		return EncodeAs(img, JPEG)
	}
	return EncodeAs(img, PNG)
}

// EncodeAs writes img as JPEG or PNG, as f says; for formats this package
// cannot write (GIF, WebP) it chooses as Encode does. The output holds
// pixels only: no EXIF, no GPS.
func EncodeAs(img image.Image, f Format) ([]byte, Format, error) {
	var buf bytes.Buffer
	switch f {
	case JPEG:
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 88}); err != nil {
			return nil, "", fmt.Errorf("encode jpeg: %w", err)
		}
		return buf.Bytes(), JPEG, nil
	case PNG:
		enc := png.Encoder{CompressionLevel: png.BestCompression}
		if err := enc.Encode(&buf, img); err != nil {
			return nil, "", fmt.Errorf("encode png: %w", err)
		}
		return buf.Bytes(), PNG, nil
	}
	return Encode(img)
}
