package history

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/platform"
	"github.com/webchatroom/chatroom/internal/wire"
)

// Routes mounts every HTTP route of the history service.
func (s *Service) Routes(r fiber.Router) {
	requireUser := platform.RequireUser(platform.BusVerifier(s.bus))
	r.Get("/api/conversations", requireUser, s.listConversations)
	r.Post("/api/conversations/direct", requireUser, s.openDirect)
	r.Get("/api/conversations/:id/messages", requireUser, s.listMessages)
	r.Post("/api/conversations/:id/read", requireUser, s.markRead)
	r.Get("/api/search", requireUser, s.search) // http_search.go
}

// userID is the caller's ID; routes sit behind RequireUser.
func userID(c *fiber.Ctx) string {
	se, _ := platform.Session(c)
	return se.User.ID
}

// conversationParam copies the :id parameter out of Fiber's reused buffer.
func conversationParam(c *fiber.Ctx) string { return strings.Clone(c.Params("id")) }

func (s *Service) listConversations(c *fiber.Ctx) error {
	ctx, me := c.UserContext(), userID(c)
	sums, err := s.store.Summaries(ctx, me)
	if err != nil {
		return err
	}
	convs, err := s.wireConversations(ctx, me, sums)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"conversations": convs})
}

type directRequest struct {
	UserID string `json:"user_id"`
}

func (s *Service) openDirect(c *fiber.Ctx) error {
	ctx, me := c.UserContext(), userID(c)
	var req directRequest
	if err := c.BodyParser(&req); err != nil {
		return apperr.Errorf(apperr.Invalid, "Send a JSON object with user_id.")
	}
	sum, created, err := s.Direct(ctx, me, req.UserID)
	if err != nil {
		return err
	}
	convs, err := s.wireConversations(ctx, me, []*Summary{sum})
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if created {
		status = fiber.StatusCreated
	}
	return c.Status(status).JSON(fiber.Map{"conversation": convs[0]})
}

// parsePage reads limit and at most one of before, after and around.
func (l Limits) parsePage(c *fiber.Ctx) (Page, error) {
	p := Page{Mode: Newest, Limit: l.PageDefault}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > l.PageMax {
			return p, apperr.FieldErrorf("limit", apperr.Invalid, "limit is a number from 1 to %d.", l.PageMax)
		}
		p.Limit = n
	}
	cursors := 0
	for _, q := range []struct {
		name string
		mode PageMode
	}{{"before", Before}, {"after", After}, {"around", Around}} {
		v := c.Query(q.name)
		if v == "" {
			continue
		}
		cursors++
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return p, apperr.FieldErrorf(q.name, apperr.Invalid, "%s is a message number, 0 or more.", q.name)
		}
		p.Mode, p.Seq = q.mode, n
	}
	if cursors > 1 {
		return p, apperr.Errorf(apperr.Invalid, "Use only one of before, after and around.")
	}
	return p, nil
}

func (s *Service) listMessages(c *fiber.Ctx) error {
	ctx := c.UserContext()
	p, err := s.limits.parsePage(c)
	if err != nil {
		return err
	}
	conv, err := s.access(ctx, userID(c), conversationParam(c))
	if err != nil {
		return err
	}
	msgs, more, err := s.store.Messages(ctx, conv.ID, p)
	if err != nil {
		return err
	}
	out, err := s.wireMessages(ctx, msgs)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"messages": out, "has_more": more})
}

type readRequest struct {
	Seq *int64 `json:"seq"`
}

func (s *Service) markRead(c *fiber.Ctx) error {
	var req readRequest
	if err := c.BodyParser(&req); err != nil || req.Seq == nil {
		return apperr.FieldErrorf("seq", apperr.Invalid, "Send a JSON object with seq.")
	}
	r := wire.ReadRequest{UserID: userID(c), ConversationID: conversationParam(c), Seq: *req.Seq}
	if _, err := s.Read(c.UserContext(), r); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
