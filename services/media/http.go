package media

import (
	"io"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/platform"
)

// Routes mounts every HTTP route of the media service.
func (s *Service) Routes(r fiber.Router) {
	r.Post("/api/media", platform.RequireUser(s.verify), s.upload)
	r.Get("/api/media/:id", func(c *fiber.Ctx) error { return s.download(c, false) })
	r.Get("/api/media/:id/thumbnail", func(c *fiber.Ctx) error { return s.download(c, true) })
}

// download serves an item's bytes or thumbnail to someone who may read its
// conversation. Everyone else, logged out included, gets the same 404 as
// for an ID that does not exist. Single byte ranges are served (206).
func (s *Service) download(c *fiber.Ctx, thumb bool) (err error) {
	part := "file"
	if thumb {
		part = "thumbnail"
	}
	defer func() {
		status := c.Response().StatusCode()
		if err != nil {
			status = apperr.Status(apperr.Code(err))
		}
		s.metrics.downloads.WithLabelValues(part, strconv.Itoa(status)).Inc()
	}()
	it, err := s.readable(c)
	if err != nil {
		return err
	}
	key, mime := it.Key, it.Mime
	if thumb {
		if it.ThumbKey == "" {
			return errNotFound()
		}
		key, mime = it.ThumbKey, it.ThumbMime
	}
	obj, err := s.blobs.Get(c.UserContext(), key)
	if err != nil {
		return err
	}
	size := obj.Size()
	h := &c.Response().Header
	start, end, partial, err := byteRange(c.Get(fiber.HeaderRange), size)
	if err != nil {
		obj.Close()
		h.Set(fiber.HeaderContentRange, "bytes */"+strconv.FormatInt(size, 10))
		return err
	}
	h.Set(fiber.HeaderContentType, mime)
	h.Set("Content-Security-Policy", platform.SandboxPolicy)
	h.Set(fiber.HeaderCacheControl, "private, max-age=31536000, immutable") // an ID's bytes never change
	h.Set(fiber.HeaderAcceptRanges, "bytes")
	h.Set(fiber.HeaderETag, `"`+it.ID+`-`+part+`"`)
	if !partial {
		return c.SendStream(obj, int(size))
	}
	if _, err := obj.Seek(start, io.SeekStart); err != nil {
		obj.Close()
		return apperr.Wrap(err, "seek media")
	}
	h.Set(fiber.HeaderContentRange, "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(end, 10)+"/"+strconv.FormatInt(size, 10))
	n := end - start + 1
	return c.Status(fiber.StatusPartialContent).SendStream(struct {
		io.Reader
		io.Closer
	}{io.LimitReader(obj, n), obj}, int(n))
}

// readable returns the item of the :id parameter if the caller's session
// may read its conversation, and not_found otherwise.
func (s *Service) readable(c *fiber.Ctx) (*Item, error) {
	token := c.Cookies(platform.SessionCookie)
	id := strings.Clone(c.Params("id"))
	if token == "" || len(token) > 128 || id == "" || len(id) > 64 {
		return nil, errNotFound()
	}
	ctx := c.UserContext()
	se, err := s.verify(ctx, token)
	if apperr.Code(err) == apperr.Unauthorized {
		return nil, errNotFound()
	}
	if err != nil {
		return nil, err
	}
	it, err := s.store.Get(ctx, id)
	if apperr.Code(err) == apperr.NotFound {
		return nil, errNotFound()
	}
	if err != nil {
		return nil, err
	}
	if err := s.mayRead(ctx, se.User.ID, it.ConversationID); err != nil {
		if apperr.Code(err) == apperr.NotFound {
			return nil, errNotFound()
		}
		return nil, err
	}
	return it, nil
}

// byteRange reads a Range header for a body of size bytes (RFC 9110
// §14.2): one range, "a-b", "a-" or "-n", is served as partial content;
// no header, another unit, several ranges or a malformed one are answered
// with the whole body; a range that starts past the end is not satisfiable.
func byteRange(header string, size int64) (start, end int64, partial bool, err error) {
	unsatisfiable := apperr.Errorf("range_not_satisfiable", "The requested range is outside the file.")
	spec, ok := strings.CutPrefix(header, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, size - 1, false, nil
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return 0, size - 1, false, nil
	}
	if first == "" { // the last n bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return 0, size - 1, false, nil
		}
		if n == 0 || size == 0 {
			return 0, 0, false, unsatisfiable
		}
		return max(size-n, 0), size - 1, true, nil
	}
	start, err = strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return 0, size - 1, false, nil
	}
	end = size - 1
	if last != "" {
		if end, err = strconv.ParseInt(last, 10, 64); err != nil || end < start {
			return 0, size - 1, false, nil
		}
		end = min(end, size-1)
	}
	if start >= size {
		return 0, 0, false, unsatisfiable
	}
	return start, end, true, nil
}
