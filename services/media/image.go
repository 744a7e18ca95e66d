package media

import (
	"errors"
	"fmt"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/imaging"
)

// picture is an uploaded picture made ready to store.
type picture struct {
	data, thumb     []byte
	mime, thumbMime string
	width, height   int // upright
}

// picture checks an uploaded picture and cleans it: sniffed (JPEG, PNG,
// GIF, WebP), pixel count checked from the header before decoding, turned
// upright and re-encoded without metadata (JPEG stays JPEG, PNG stays PNG,
// WebP becomes JPEG or PNG). A GIF keeps its frames, so it stays animated:
// only its comment and metadata blocks are dropped. The thumbnail, longest
// side at most ThumbSide, is of the first frame.
func (l Limits) picture(data []byte) (*picture, error) {
	if int64(len(data)) > l.ImageBytes {
		return nil, l.errImageTooLarge()
	}
	info, err := imaging.Inspect(data, l.ImagePixels)
	if err != nil {
		return nil, l.imageError(err)
	}
	img, err := imaging.DecodeStored(data, info)
	if err != nil {
		return nil, l.imageError(err)
	}
	p := &picture{}
	p.width, p.height = info.Upright()
	// scaled first, then turned: the longest side stays the longest side
	thumb, f, err := imaging.Encode(imaging.Orient(imaging.Fit(img, l.ThumbSide), info.Orientation))
	if err != nil {
		return nil, fmt.Errorf("thumbnail: %w", err)
	}
	p.thumb, p.thumbMime = thumb, f.MIME()
	if info.Format == imaging.GIF {
		if p.data, _, err = imaging.StripGIF(data); err != nil {
			return nil, l.imageError(err)
		}
		p.mime = imaging.GIF.MIME()
		return p, nil
	}
	if p.data, f, err = imaging.EncodeAs(imaging.Orient(img, info.Orientation), info.Format); err != nil {
		return nil, fmt.Errorf("re-encode picture: %w", err)
	}
	p.mime = f.MIME()
	return p, nil
}

func (l Limits) errImageTooLarge() error {
	return apperr.FieldErrorf("file", "image_too_large", "A picture is at most %d MiB.", l.ImageBytes>>20)
}

func (l Limits) imageError(err error) error {
	switch {
	case errors.Is(err, imaging.ErrUnsupported):
		return &apperr.Error{Code: "image_unsupported", Field: "file", Message: "A picture must be a JPEG, PNG, GIF or WebP file.", Err: err}
	case errors.Is(err, imaging.ErrTooManyPixels):
		return &apperr.Error{Code: "image_too_many_pixels", Field: "file", Message: fmt.Sprintf("The picture has more than %d megapixels.", l.ImagePixels/1_000_000), Err: err}
	default:
		return &apperr.Error{Code: "image_invalid", Field: "file", Message: "The picture could not be read; it may be damaged.", Err: err}
	}
}
