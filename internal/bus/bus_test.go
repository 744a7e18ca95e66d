package bus_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/testenv"
)

type echoReq struct {
	N    int    `json:"n"`
	Text string `json:"text"`
}

type echoResp struct {
	N     int    `json:"n"`
	Upper string `json:"upper"`
	By    string `json:"by"`
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// MustEmbedded starts an in-process NATS server that stops with the test.
func MustEmbedded(tb testing.TB) *bus.Embedded {
	tb.Helper()
	e, err := bus.StartEmbedded()
	if err != nil {
		tb.Fatalf("start embedded nats: %v", err)
	}
	tb.Cleanup(e.Shutdown)
	return e
}

// MustConnect opens a bus connection that closes with the test.
func MustConnect(tb testing.TB, o bus.Options) *bus.Conn {
	tb.Helper()
	if o.Log == nil {
		o.Log = quiet
	}
	c, err := bus.Connect(o)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	tb.Cleanup(c.Close)
	return c
}

// MustHandle subscribes fn and waits until the server knows the subscription.
func MustHandle[Req, Resp any](tb testing.TB, c *bus.Conn, subject, queue string, fn func(context.Context, Req) (Resp, error)) {
	tb.Helper()
	if _, err := bus.Handle(c, subject, queue, fn); err != nil {
		tb.Fatalf("handle %s: %v", subject, err)
	}
	MustPing(tb, c)
}

// MustPing round-trips to the server, so earlier subscriptions are in place.
func MustPing(tb testing.TB, c *bus.Conn) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx); err != nil {
		tb.Fatalf("ping: %v", err)
	}
}

func randomHex(tb testing.TB) string {
	tb.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func upper(by string) func(context.Context, echoReq) (echoResp, error) {
	return func(_ context.Context, r echoReq) (echoResp, error) {
		return echoResp{N: r.N, Upper: strings.ToUpper(r.Text), By: by}, nil
	}
}

// pair is a server side and a client side on one embedded bus.
func pair(t *testing.T) (srv, cli *bus.Conn) {
	t.Helper()
	e := MustEmbedded(t)
	return MustConnect(t, bus.Options{Embedded: e, Prefix: "t", Name: "srv"}),
		MustConnect(t, bus.Options{Embedded: e, Prefix: "t", Name: "cli"})
}

func TestRequestHandleRoundTrip(t *testing.T) {
	srv, cli := pair(t)
	MustHandle(t, srv, "echo.upper", "echo", upper("srv"))

	got, err := bus.Request[echoReq, echoResp](context.Background(), cli, "echo.upper", echoReq{N: 7, Text: "héllo 你好"})
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if want := (echoResp{N: 7, Upper: "HÉLLO 你好", By: "srv"}); got != want {
		t.Errorf("reply = %+v, want %+v", got, want)
	}
	if s := cli.Subject("echo.upper"); s != "t.echo.upper" {
		t.Errorf("Subject = %q, want t.echo.upper", s)
	}
}

func TestHandlerAppErrorComesBackIntact(t *testing.T) {
	srv, cli := pair(t)
	MustHandle(t, srv, "users.create", "users", func(context.Context, echoReq) (echoResp, error) {
		return echoResp{}, fmt.Errorf("create: %w", apperr.FieldErrorf("username", "username_taken", "That username is taken."))
	})

	_, err := bus.Request[echoReq, echoResp](context.Background(), cli, "users.create", echoReq{})
	var e *apperr.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *apperr.Error", err, err)
	}
	if e.Code != "username_taken" || e.Message != "That username is taken." || e.Field != "username" {
		t.Errorf("err = %+v, want code username_taken, the message and field username", e)
	}
}

func TestHandlerPlainErrorIsInternalAndHidden(t *testing.T) {
	srv, cli := pair(t)
	MustHandle(t, srv, "db.query", "db", func(context.Context, echoReq) (echoResp, error) {
		return echoResp{}, errors.New("pq: password authentication failed for user root")
	})

	_, err := bus.Request[echoReq, echoResp](context.Background(), cli, "db.query", echoReq{})
	e := apperr.As(err)
	if e.Code != apperr.Internal {
		t.Fatalf("code = %q (%v), want internal", e.Code, err)
	}
	if e.Message == "" || strings.Contains(err.Error(), "password") || strings.Contains(e.Message, "pq:") {
		t.Errorf("the caller sees %q / %q: internal text must not cross the bus", e.Message, err.Error())
	}
}

func TestNoResponderIsUnavailableQuickly(t *testing.T) {
	_, cli := pair(t)
	start := time.Now()
	// No deadline on the context: without no-responders detection this would wait DefaultTimeout.
	_, err := bus.Request[echoReq, echoResp](context.Background(), cli, "nobody.home", echoReq{})
	if code := apperr.Code(err); code != apperr.Unavailable {
		t.Fatalf("code = %q (%v), want unavailable", code, err)
	}
	if d := time.Since(start); d > bus.DefaultTimeout/2 {
		t.Errorf("no responder took %v; it must fail fast, not wait for the timeout", d)
	}
}

func TestDeadlineIsUnavailable(t *testing.T) {
	srv, cli := pair(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	MustHandle(t, srv, "slow", "slow", func(ctx context.Context, r echoReq) (echoResp, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return echoResp{N: r.N}, nil
	})

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := bus.Request[echoReq, echoResp](ctx, cli, "slow", echoReq{N: 1})
	if code := apperr.Code(err); code != apperr.Unavailable {
		t.Fatalf("code = %q (%v), want unavailable", code, err)
	}
	if e := apperr.As(err); e.Message == "" || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %+v: want a human message and the deadline kept as cause", e)
	}
}

func TestQueueGroupAnswersEachRequestOnce(t *testing.T) {
	e := MustEmbedded(t)
	cli := MustConnect(t, bus.Options{Embedded: e, Prefix: "t", Name: "cli"})

	var mu sync.Mutex
	seen := map[int]int{}         // request number → times handled
	byReplica := map[string]int{} // replica → requests handled
	for _, name := range []string{"a", "b"} {
		replica := MustConnect(t, bus.Options{Embedded: e, Prefix: "t", Name: name})
		MustHandle(t, replica, "work", "workers", func(_ context.Context, r echoReq) (echoResp, error) {
			mu.Lock()
			seen[r.N]++
			byReplica[name]++
			mu.Unlock()
			return echoResp{N: r.N, By: name}, nil
		})
	}

	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			got, err := bus.Request[echoReq, echoResp](context.Background(), cli, "work", echoReq{N: i})
			if err == nil && got.N != i {
				err = fmt.Errorf("request %d answered for %d", i, got.N)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range n {
		if seen[i] != 1 {
			t.Errorf("request %d handled %d times, want exactly once", i, seen[i])
		}
	}
	if len(seen) != n {
		t.Errorf("handlers saw %d distinct requests, want %d", len(seen), n)
	}
	if byReplica["a"] == 0 || byReplica["b"] == 0 {
		t.Errorf("load not shared between replicas: %v", byReplica)
	}
}

func TestPrefixesAreSeparate(t *testing.T) {
	e := MustEmbedded(t)
	a := MustConnect(t, bus.Options{Embedded: e, Prefix: "alpha"})
	b := MustConnect(t, bus.Options{Embedded: e, Prefix: "beta"})
	MustHandle(t, a, "who", "who", upper("alpha"))
	MustHandle(t, b, "who", "who", upper("beta"))
	MustHandle(t, b, "only.beta", "x", upper("beta"))

	for range 20 {
		got, err := bus.Request[echoReq, echoResp](context.Background(), a, "who", echoReq{})
		if err != nil || got.By != "alpha" {
			t.Fatalf("prefix alpha got %+v, %v; want alpha's own handler", got, err)
		}
		got, err = bus.Request[echoReq, echoResp](context.Background(), b, "who", echoReq{})
		if err != nil || got.By != "beta" {
			t.Fatalf("prefix beta got %+v, %v; want beta's own handler", got, err)
		}
	}
	_, err := bus.Request[echoReq, echoResp](context.Background(), a, "only.beta", echoReq{})
	if code := apperr.Code(err); code != apperr.Unavailable {
		t.Errorf("alpha reached beta's handler: code %q, err %v", code, err)
	}

	// Events do not cross prefixes either.
	got := make(chan int, 10)
	if _, err := bus.Subscribe(b, "ev", func(v int) { got <- v }); err != nil {
		t.Fatal(err)
	}
	MustPing(t, b)
	if err := a.Publish("ev", 1); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish("ev", 2); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-got:
		if v != 2 {
			t.Errorf("beta subscriber got %d from alpha", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("beta's own event never arrived")
	}
	MustPing(t, a)
	MustPing(t, b)
	select {
	case v := <-got:
		t.Errorf("beta subscriber also got %d", v)
	default:
	}
}

func TestPublishSubscribeInOrder(t *testing.T) {
	pub, sub := pair(t)
	type event struct {
		Seq int `json:"seq"`
	}
	const n = 2000
	got := make(chan int, n)
	if _, err := bus.Subscribe(sub, "room.lobby", func(e event) { got <- e.Seq }); err != nil {
		t.Fatal(err)
	}
	MustPing(t, sub)
	for i := 1; i <= n; i++ {
		if err := pub.Publish("room.lobby", event{Seq: i}); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	for want := 1; want <= n; want++ {
		select {
		case seq := <-got:
			if seq != want {
				t.Fatalf("event %d arrived as number %d: out of order", seq, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d events arrived", want-1, n)
		}
	}
}

func TestSubscribeDropsMalformedEvents(t *testing.T) {
	pub, sub := pair(t)
	got := make(chan int, 4)
	if _, err := bus.Subscribe(sub, "ev", func(v int) { got <- v }); err != nil {
		t.Fatal(err)
	}
	MustPing(t, sub)
	raw := bus.RawNATS(pub)
	if err := raw.Publish(pub.Subject("ev"), []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish("ev", 42); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-got:
		if v != 42 {
			t.Fatalf("first delivered event = %d, want 42 (the malformed one dropped)", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the valid event after a malformed one never arrived")
	}
}

func TestMalformedRequestGetsInvalidInput(t *testing.T) {
	srv, cli := pair(t)
	called := make(chan struct{}, 1)
	MustHandle(t, srv, "strict", "strict", func(context.Context, echoReq) (echoResp, error) {
		called <- struct{}{}
		return echoResp{}, nil
	})

	msg, err := bus.RawNATS(cli).Request(cli.Subject("strict"), []byte(`{"n": "not a number"`), 5*time.Second)
	if err != nil {
		t.Fatalf("raw request: %v", err)
	}
	var env struct {
		OK    json.RawMessage `json:"ok"`
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &env); err != nil {
		t.Fatalf("reply %q is not JSON: %v", msg.Data, err)
	}
	if env.Error == nil || env.Error.Code != apperr.Invalid || env.Error.Message == "" {
		t.Fatalf("reply = %s, want an invalid_input error", msg.Data)
	}
	if env.OK != nil {
		t.Errorf("reply %s carries both ok and error", msg.Data)
	}
	select {
	case <-called:
		t.Error("the handler ran on a malformed request")
	default:
	}
}

func TestPing(t *testing.T) {
	e, err := bus.StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	c := MustConnect(t, bus.Options{Embedded: e, Prefix: "t"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}

	// With the server gone, readiness must say so.
	e.Shutdown()
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	if err := c.Ping(ctx2); err == nil {
		t.Error("ping succeeded with the server shut down")
	}
}

func TestConnectNeedsAServer(t *testing.T) {
	if _, err := bus.Connect(bus.Options{Log: quiet}); err == nil {
		t.Fatal("Connect with neither URL nor embedded server succeeded")
	}
}

func TestExternalServerRoundTrip(t *testing.T) {
	url := testenv.ExternalNATS(t) // fails the test with the start command if the server is down
	prefix := "t" + randomHex(t)
	srv := MustConnect(t, bus.Options{URL: url, Prefix: prefix, Name: "ext-srv"})
	cli := MustConnect(t, bus.Options{URL: url, Prefix: prefix, Name: "ext-cli"})
	MustHandle(t, srv, "echo.upper", "echo", upper("external"))

	got, err := bus.Request[echoReq, echoResp](context.Background(), cli, "echo.upper", echoReq{N: 3, Text: "over tcp"})
	if err != nil {
		t.Fatalf("request over the external server: %v", err)
	}
	if want := (echoResp{N: 3, Upper: "OVER TCP", By: "external"}); got != want {
		t.Errorf("reply = %+v, want %+v", got, want)
	}
	_, err = bus.Request[echoReq, echoResp](context.Background(), cli, "nobody.home", echoReq{})
	if code := apperr.Code(err); code != apperr.Unavailable {
		t.Errorf("no responder over TCP: code %q (%v), want unavailable", code, err)
	}
}
