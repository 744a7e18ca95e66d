package media

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/platform"
	"github.com/webchatroom/chatroom/internal/wire"
)

// upload is POST /api/media: multipart file, conversation_id, kind, and
// for voice duration_ms and waveform. The cheap fields are checked first,
// then the caller's access to the conversation, then the file.
func (s *Service) upload(c *fiber.Ctx) (err error) {
	ctx := c.UserContext()
	se, _ := platform.Session(c)
	kind := strings.Clone(c.FormValue("kind"))
	defer func() { s.metrics.uploaded(kind, err) }()
	if kind != wire.KindImage && kind != wire.KindVoice {
		return apperr.FieldErrorf("kind", apperr.Invalid, "kind is image or voice.")
	}
	conv := strings.Clone(c.FormValue("conversation_id"))
	if conv == "" || len(conv) > maxConversationID {
		return apperr.FieldErrorf("conversation_id", apperr.Invalid, "conversation_id names the conversation the file is for.")
	}
	it := &Item{ID: ids.New(), OwnerID: se.User.ID, ConversationID: conv, Kind: kind, CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	if kind == wire.KindVoice {
		if it.DurationMS, err = s.limits.declaredDuration(c.FormValue("duration_ms")); err != nil {
			return err
		}
		if it.Waveform, err = s.limits.waveform(c.FormValue("waveform")); err != nil {
			return err
		}
	}
	if err := s.mayRead(ctx, it.OwnerID, conv); err != nil {
		return err
	}
	var data, thumb []byte
	if kind == wire.KindImage {
		if data, err = s.formFile(c, s.limits.ImageBytes, s.limits.errImageTooLarge()); err != nil {
			return err
		}
		p, err := s.limits.picture(data)
		if err != nil {
			return err
		}
		data, thumb = p.data, p.thumb
		it.Mime, it.ThumbMime, it.Width, it.Height = p.mime, p.thumbMime, p.width, p.height
	} else {
		if data, err = s.formFile(c, s.limits.VoiceBytes, s.limits.errVoiceTooLarge()); err != nil {
			return err
		}
		if it.Mime, err = s.limits.voice(data, it.DurationMS); err != nil {
			return err
		}
	}
	it.Size = int64(len(data))
	if err := s.save(ctx, it, data, thumb); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"media": it.Wire()})
}

// formFile reads the uploaded file, refusing it past limit before reading.
func (s *Service) formFile(c *fiber.Ctx, limit int64, tooLarge error) ([]byte, error) {
	fh, err := c.FormFile("file")
	if err != nil {
		return nil, apperr.FieldErrorf("file", apperr.Invalid, "Choose a file to upload (form field file).")
	}
	if fh.Size > limit {
		return nil, tooLarge
	}
	f, err := fh.Open()
	if err != nil {
		return nil, apperr.Wrap(err, "open upload")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, apperr.Wrap(err, "read upload")
	}
	if int64(len(data)) > limit {
		return nil, tooLarge
	}
	return data, nil
}

// save writes the bytes and the thumbnail under new random keys, then the
// metadata; on failure nothing is left behind.
func (s *Service) save(ctx context.Context, it *Item, data, thumb []byte) error {
	put := func(mime string, b []byte) (string, error) {
		key := "media/" + ids.New()
		if err := s.blobs.Put(ctx, key, bytes.NewReader(b), int64(len(b)), mime); err != nil {
			return "", apperr.Wrap(err, "store media")
		}
		s.metrics.stored.WithLabelValues(it.Kind).Add(float64(len(b)))
		return key, nil
	}
	var err error
	if it.Key, err = put(it.Mime, data); err != nil {
		return err
	}
	if thumb != nil {
		if it.ThumbKey, err = put(it.ThumbMime, thumb); err != nil {
			s.deleteBlobs(it)
			return err
		}
	}
	if err := s.store.Create(ctx, it); err != nil {
		s.deleteBlobs(it)
		return err
	}
	return nil
}

// deleteBlobs removes an item's objects; failures are only logged.
func (s *Service) deleteBlobs(it *Item) {
	for _, key := range []string{it.Key, it.ThumbKey} {
		if key == "" {
			continue
		}
		if err := s.blobs.Delete(context.Background(), key); err != nil {
			s.log.Warn("delete media object", "key", key, "err", err)
		}
	}
}

// declaredDuration checks the duration_ms the client declares.
func (l Limits) declaredDuration(v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 {
		return 0, apperr.FieldErrorf("duration_ms", "duration_invalid", "duration_ms is the recording's length in milliseconds, a whole number from 1.")
	}
	if n > l.VoiceMS {
		return 0, l.errVoiceTooLong()
	}
	return n, nil
}

// waveform checks the waveform field: a JSON array of at most Waveform
// whole numbers 0–255; an empty field is no waveform.
func (l Limits) waveform(v string) ([]int, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	bad := apperr.FieldErrorf("waveform", "waveform_invalid", "waveform is a JSON array of at most %d whole numbers from 0 to 255.", l.Waveform)
	var w []int
	if !strings.HasPrefix(v, "[") || json.Unmarshal([]byte(v), &w) != nil || len(w) > l.Waveform {
		return nil, bad
	}
	for _, x := range w {
		if x < 0 || x > 255 {
			return nil, bad
		}
	}
	return w, nil
}

// voice checks a recording's container and, where it records one, its
// duration against the declared one; it returns the sniffed type.
func (l Limits) voice(data []byte, declaredMS int) (string, error) {
	rec, err := inspectVoice(data)
	switch {
	case errors.Is(err, errVoiceUnsupported):
		return "", &apperr.Error{Code: "voice_unsupported", Field: "file", Err: err,
			Message: "A voice message must be WebM or Ogg with Opus, MP4 with AAC, or MPEG audio."}
	case err != nil:
		return "", &apperr.Error{Code: "voice_invalid", Field: "file", Message: "The recording could not be read; it may be damaged.", Err: err}
	}
	if rec.duration == 0 {
		return rec.mime, nil // the container records no duration: the declared one stands
	}
	if rec.duration > time.Duration(l.VoiceMS)*time.Millisecond+durationSlack {
		return "", l.errVoiceTooLong()
	}
	declared := time.Duration(declaredMS) * time.Millisecond
	if diff := rec.duration - declared; diff > durationSlack || diff < -durationSlack {
		return "", apperr.FieldErrorf("duration_ms", "voice_invalid", "duration_ms says %.1f s but the recording lasts %.1f s.",
			declared.Seconds(), rec.duration.Seconds())
	}
	return rec.mime, nil
}

func (l Limits) errVoiceTooLarge() error {
	return apperr.FieldErrorf("file", "voice_too_large", "A voice message is at most %d MiB.", l.VoiceBytes>>20)
}

func (l Limits) errVoiceTooLong() error {
	return apperr.FieldErrorf("duration_ms", "voice_too_long", "A voice message is at most %d seconds.", l.VoiceMS/1000)
}
