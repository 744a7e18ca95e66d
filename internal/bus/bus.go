// Package bus is how services talk: NATS subjects under a deployment prefix,
// typed JSON request/reply with timeouts, and fire-and-forget events.
package bus

import (
	"bytes"
	"context"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/wire"
)

// DefaultTimeout bounds a request when the caller's context has no deadline.
const DefaultTimeout = 5 * time.Second

// maxInflight bounds how many requests one subscription handles at once.
const maxInflight = 256

// Conn is one service's connection to the bus.
type Conn struct {
	nc     *nats.Conn
	prefix string
	log    *slog.Logger
}

// Embedded is an in-process NATS server for `chatroom all`.
type Embedded struct{ ns *server.Server }

// StartEmbedded starts a NATS server inside this process with no TCP port.
func StartEmbedded() (*Embedded, error) {
	ns, err := server.NewServer(&server.Options{ServerName: "chatroom-embedded", DontListen: true, NoSigs: true, MaxPayload: 8 << 20})
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("embedded nats: not ready after 10s")
	}
	return &Embedded{ns: ns}, nil
}

// Shutdown stops the embedded server.
func (e *Embedded) Shutdown() {
	e.ns.Shutdown()
	e.ns.WaitForShutdown()
}

// Options say where the bus is and how this connection is named.
type Options struct {
	URL      string    // external server, e.g. nats://127.0.0.1:4222
	Embedded *Embedded // or the in-process server
	Prefix   string    // subject prefix shared by one deployment
	Name     string    // connection name, e.g. "chatroom-auth"
	Log      *slog.Logger
}

// Connect opens a connection and waits until it is established.
func Connect(o Options) (*Conn, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	log := o.Log.With("component", "bus")
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.ReconnectJitter(250*time.Millisecond, time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: we closed it ourselves
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("nats reconnected", "url", nc.ConnectedUrl()) }),
		nats.ErrorHandler(func(_ *nats.Conn, s *nats.Subscription, err error) {
			subj := ""
			if s != nil {
				subj = s.Subject
			}
			log.Error("nats error", "subject", subj, "err", err)
		}),
	}
	url := o.URL
	switch {
	case o.Embedded != nil:
		opts = append(opts, nats.InProcessServer(o.Embedded.ns))
		url = ""
	case url == "":
		return nil, errors.New("nats: no server given (set --nats-url or CHATROOM_NATS_URL)")
	default:
		opts = append(opts, nats.RetryOnFailedConnect(false))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect nats %s: %w", url, err)
	}
	if o.Prefix == "" {
		o.Prefix = "chatroom"
	}
	return &Conn{nc: nc, prefix: o.Prefix, log: log}, nil
}

// Close drains subscriptions and closes the connection.
func (c *Conn) Close() {
	if err := c.nc.Drain(); err != nil {
		c.nc.Close()
	}
}

// Subject returns the full subject name for a wire subject.
func (c *Conn) Subject(s string) string { return c.prefix + "." + s }

// Ping checks that the connection is up and the server answers.
func (c *Conn) Ping(ctx context.Context) error {
	if !c.nc.IsConnected() {
		return errors.New("nats not connected")
	}
	return c.nc.FlushWithContext(ctx)
}

// Publish sends an event; it never waits for subscribers. An event that
// has a binary form (encoding.BinaryMarshaler) travels in it, else as JSON.
func (c *Conn) Publish(subject string, v any) error {
	var b []byte
	var err error
	if m, ok := v.(encoding.BinaryMarshaler); ok {
		b, err = m.MarshalBinary()
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		return fmt.Errorf("encode %s: %w", subject, err)
	}
	if err := c.nc.Publish(c.Subject(subject), b); err != nil {
		return fmt.Errorf("publish %s: %w", subject, err)
	}
	return nil
}

// envelope is the reply of every request: exactly one of OK and Error.
type envelope struct {
	OK    json.RawMessage `json:"ok,omitempty"`
	Error *wire.ErrorBody `json:"error,omitempty"`
}

// Request sends req on subject and decodes the reply into Resp. Errors the
// handler returned come back as *apperr.Error with their code; a missing or
// slow responder is apperr.Unavailable.
func Request[Req, Resp any](ctx context.Context, c *Conn, subject string, req Req) (Resp, error) {
	var zero Resp
	b, err := json.Marshal(req)
	if err != nil {
		return zero, fmt.Errorf("encode %s: %w", subject, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	msg, err := c.nc.RequestWithContext(ctx, c.Subject(subject), b)
	if err != nil {
		if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
			return zero, &apperr.Error{Code: apperr.Unavailable, Message: "A service is not answering; try again shortly.", Err: fmt.Errorf("request %s: %w", subject, err)}
		}
		return zero, apperr.Wrap(err, "request "+subject)
	}
	ok, err := openEnvelope(msg.Data)
	if err != nil {
		return zero, apperr.Wrap(err, "decode reply "+subject)
	}
	var resp Resp
	if err := json.Unmarshal(ok, &resp); err != nil {
		return zero, apperr.Wrap(err, "decode reply "+subject)
	}
	return resp, nil
}

// The envelope's two forms start with these; a success is written as
// okPrefix + the reply's JSON + "}" (sealEnvelope), so its reply can be
// decoded in place, without a first pass over the whole envelope.
const okPrefix = `{"ok":`

// sealEnvelope wraps a reply's JSON in the envelope; resp comes from
// json.Marshal, so it is valid and compact already.
func sealEnvelope(resp []byte) []byte {
	b := make([]byte, 0, len(okPrefix)+len(resp)+1)
	return append(append(append(b, okPrefix...), resp...), '}')
}

// openEnvelope returns a success's reply JSON, or the error it carries.
func openEnvelope(data []byte) (json.RawMessage, error) {
	if ok, found := bytes.CutPrefix(data, []byte(okPrefix)); found && len(ok) > 0 && ok[len(ok)-1] == '}' {
		return ok[:len(ok)-1], nil
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, err
	}
	if env.Error != nil {
		return nil, &apperr.Error{Code: env.Error.Code, Message: env.Error.Message, Field: env.Error.Field}
	}
	return env.OK, nil
}

// Handle answers requests on subject in queue group queue (so replicas share
// the load). Each request runs in its own goroutine, at most maxInflight at
// once per subscription.
func Handle[Req, Resp any](c *Conn, subject, queue string, fn func(context.Context, Req) (Resp, error)) (*nats.Subscription, error) {
	sem := make(chan struct{}, maxInflight)
	sub, err := c.nc.QueueSubscribe(c.Subject(subject), queue, func(m *nats.Msg) {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			c.answer(m, subject, func(ctx context.Context) (any, error) {
				var req Req
				if err := json.Unmarshal(m.Data, &req); err != nil {
					return nil, apperr.Errorf(apperr.Invalid, "malformed request on %s", subject)
				}
				return fn(ctx, req)
			})
		}()
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", subject, err)
	}
	return sub, nil
}

func (c *Conn) answer(m *nats.Msg, subject string, run func(context.Context) (any, error)) {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	resp, err := run(ctx)
	var b []byte
	if err == nil {
		if b, err = json.Marshal(resp); err != nil {
			c.log.Error("encode reply", "subject", subject, "err", err)
			err = apperr.Errorf(apperr.Internal, "Something went wrong on our side.")
		}
	}
	if err != nil {
		e := apperr.As(err)
		if apperr.IsInternal(e) {
			c.log.Error("request failed", "subject", subject, "err", err)
		}
		b, _ = json.Marshal(envelope{Error: &wire.ErrorBody{Code: e.Code, Message: e.Message, Field: e.Field}})
	} else {
		b = sealEnvelope(b)
	}
	if err := m.Respond(b); err != nil {
		c.log.Warn("respond", "subject", subject, "err", err)
	}
}

// decodeEvent decodes an event in the form Publish gave it.
func decodeEvent(data []byte, v any) error {
	if u, ok := v.(encoding.BinaryUnmarshaler); ok {
		return u.UnmarshalBinary(data)
	}
	return json.Unmarshal(data, v)
}

// Subscribe calls fn for every event on subject, in order, on this
// connection's own goroutine; fn must not block for long.
func Subscribe[T any](c *Conn, subject string, fn func(T)) (*nats.Subscription, error) {
	return subscribeEvents(c, subject, "", fn)
}

// Consume is Subscribe within queue group queue: each event goes to one
// subscriber of the group (one replica of a service).
func Consume[T any](c *Conn, subject, queue string, fn func(T)) (*nats.Subscription, error) {
	return subscribeEvents(c, subject, queue, fn)
}

// subscribeEvents decodes each event for fn, dropping (and logging) any it
// cannot; queue "" is a plain subscription.
func subscribeEvents[T any](c *Conn, subject, queue string, fn func(T)) (*nats.Subscription, error) {
	sub, err := c.nc.QueueSubscribe(c.Subject(subject), queue, func(m *nats.Msg) {
		var v T
		if err := decodeEvent(m.Data, &v); err != nil {
			c.log.Warn("drop malformed event", "subject", subject, "err", err)
			return
		}
		fn(v)
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", subject, err)
	}
	return sub, nil
}
