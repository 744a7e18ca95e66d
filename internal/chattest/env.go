package chattest

import (
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/bus"
)

// QuietLog logs warnings and errors only, so test output stays readable.
var QuietLog = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// Bus starts an in-process NATS server for the test and returns a function
// that opens named connections to it (prefix "test"); all are closed when
// the test ends.
func Bus(tb testing.TB) func(name string) *bus.Conn {
	tb.Helper()
	e, err := bus.StartEmbedded()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(e.Shutdown)
	return func(name string) *bus.Conn {
		tb.Helper()
		c, err := bus.Connect(bus.Options{Embedded: e, Prefix: "test", Name: name, Log: QuietLog})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(c.Close)
		return c
	}
}

// Clock is a settable time source for services under test.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
