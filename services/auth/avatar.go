package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"strings"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/imaging"
)

// Avatar sizes stored for every user: the profile size and the list size.
const (
	avatarLarge = 256
	avatarSmall = 64
)

// avatarFile is one rendered avatar size.
type avatarFile struct {
	size int
	data []byte
}

// avatarImages checks an uploaded picture and renders the stored sizes:
// sniffed (JPEG, PNG, GIF, WebP), pixel count checked before decoding,
// turned upright, centre-cropped square, scaled and re-encoded without any
// metadata.
func (l Limits) avatarImages(data []byte) ([]avatarFile, imaging.Format, error) {
	if int64(len(data)) > l.AvatarBytes {
		return nil, "", apperr.FieldErrorf("avatar", "avatar_too_large", "The picture is larger than %d MiB.", l.AvatarBytes>>20)
	}
	info, err := imaging.Inspect(data, l.AvatarPixels)
	if err != nil {
		return nil, "", avatarError(err, l)
	}
	img, err := imaging.DecodeStored(data, info)
	if err != nil {
		return nil, "", avatarError(err, l)
	}
	var files []avatarFile
	var format imaging.Format
	for _, size := range []int{avatarLarge, avatarSmall} {
		// the centre square of the stored picture, turned upright, is the
		// centre square of the upright picture: scale first, rotate 256 px
		square := imaging.Orient(imaging.SquareThumb(img, size), info.Orientation)
		out, f, err := imaging.Encode(square)
		if err != nil {
			return nil, "", fmt.Errorf("avatar: %w", err)
		}
		files, format = append(files, avatarFile{size: size, data: out}), f
	}
	return files, format, nil
}

func avatarError(err error, l Limits) error {
	switch {
	case errors.Is(err, imaging.ErrUnsupported):
		return &apperr.Error{Code: "avatar_unsupported", Field: "avatar", Message: "The avatar must be a JPEG, PNG, GIF or WebP picture.", Err: err}
	case errors.Is(err, imaging.ErrTooManyPixels):
		return &apperr.Error{Code: "avatar_too_many_pixels", Field: "avatar", Message: fmt.Sprintf("The picture has more than %d megapixels.", l.AvatarPixels/1_000_000), Err: err}
	default:
		return &apperr.Error{Code: "avatar_invalid", Field: "avatar", Message: "The picture could not be read; it may be damaged.", Err: err}
	}
}

// identicon draws the default avatar of a user who uploaded none: a
// symmetric 5×5 pattern in a colour taken from the seed.
func identicon(seed string, size int) *image.RGBA {
	h := sha256.Sum256([]byte(seed))
	fg := hsl(float64(h[0])/255*360, 0.55, 0.55)
	bg := color.RGBA{0xf1, 0xf3, 0xf5, 0xff}
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	draw.Draw(img, img.Bounds(), &image.Uniform{bg}, image.Point{}, draw.Src)
	margin := size / 8
	cell := (size - 2*margin) / 5
	for y := 0; y < 5; y++ {
		for x := 0; x < 3; x++ {
			if h[1+y*3+x]%2 == 0 {
				continue
			}
			for _, cx := range []int{x, 4 - x} {
				r := image.Rect(margin+cx*cell, margin+y*cell, margin+(cx+1)*cell, margin+(y+1)*cell)
				draw.Draw(img, r, &image.Uniform{fg}, image.Point{}, draw.Src)
			}
		}
	}
	return img
}

func hsl(h, s, l float64) color.RGBA {
	c := (1 - abs(2*l-1)) * s
	hp := h / 60
	x := c * (1 - abs(mod2(hp)-1))
	var r, g, b float64
	switch {
	case hp < 1:
		r, g = c, x
	case hp < 2:
		r, g = x, c
	case hp < 3:
		g, b = c, x
	case hp < 4:
		g, b = x, c
	case hp < 5:
		r, b = x, c
	default:
		r, b = c, x
	}
	m := l - c/2
	return color.RGBA{uint8((r + m) * 255), uint8((g + m) * 255), uint8((b + m) * 255), 0xff}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func mod2(v float64) float64 {
	for v >= 2 {
		v -= 2
	}
	return v
}

// avatarKey is the object key of one stored avatar size.
func avatarKey(userID, avatar string, size int) string {
	version, ext, _ := strings.Cut(avatar, ".")
	return fmt.Sprintf("avatars/%s/%s-%d.%s", userID, version, size, ext)
}

// storeAvatar writes the rendered sizes and returns the "<version>.<ext>"
// to record on the account. Without data, the identicon is stored.
func (s *Service) storeAvatar(ctx context.Context, userID string, data []byte) (string, error) {
	var files []avatarFile
	format := imaging.PNG
	if len(data) == 0 {
		for _, size := range []int{avatarLarge, avatarSmall} {
			out, f, err := imaging.Encode(identicon(userID, size))
			if err != nil {
				return "", fmt.Errorf("identicon: %w", err)
			}
			files, format = append(files, avatarFile{size: size, data: out}), f
		}
	} else {
		var err error
		if files, format, err = s.limits.avatarImages(data); err != nil {
			return "", err
		}
	}
	avatar := ids.New()[:12] + "." + extOf(format)
	for _, f := range files {
		key := avatarKey(userID, avatar, f.size)
		if err := s.blobs.Put(ctx, key, bytes.NewReader(f.data), int64(len(f.data)), format.MIME()); err != nil {
			s.deleteAvatar(userID, avatar)
			return "", fmt.Errorf("store avatar: %w", err)
		}
	}
	return avatar, nil
}

// deleteAvatar removes every stored size; failures are only logged.
func (s *Service) deleteAvatar(userID, avatar string) {
	for _, size := range []int{avatarLarge, avatarSmall} {
		if err := s.blobs.Delete(context.Background(), avatarKey(userID, avatar, size)); err != nil {
			s.log.Warn("delete avatar", "user", userID, "err", err)
		}
	}
}

func extOf(f imaging.Format) string {
	if f == imaging.JPEG {
		return "jpg"
	}
	return string(f)
}

// mimeOfExt is the content type of a stored avatar's extension.
func mimeOfExt(ext string) string {
	switch ext {
	case "jpg":
		return "image/jpeg"
	case "png":
		return "image/png"
	}
	return "application/octet-stream"
}
