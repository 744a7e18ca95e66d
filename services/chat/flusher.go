package chat

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// flusher writes the connections that have frames queued, in rounds. A
// round starts as soon as something is queued, but no sooner than delay
// after the previous one: at light load frames go out at once, under load
// every connection gets at most one writev() per delay, carrying all its
// frames of that time (DESIGN §7: system calls dominate fan-out).
type flusher struct {
	delay  time.Duration
	rounds prometheus.Histogram // how long each round took

	mu    sync.Mutex
	dirty []*conn
	spare []*conn
	kick  chan struct{}
}

func newFlusher(delay time.Duration, rounds prometheus.Histogram) *flusher {
	return &flusher{delay: delay, rounds: rounds, kick: make(chan struct{}, 1)}
}

// add schedules c for the next round.
func (f *flusher) add(c *conn) {
	f.mu.Lock()
	f.dirty = append(f.dirty, c)
	f.mu.Unlock()
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// run writes rounds until ctx ends.
func (f *flusher) run(ctx context.Context) {
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.kick:
		}
		if wait := f.delay - time.Since(last); wait > 0 {
			time.Sleep(wait)
		}
		last = time.Now()
		f.round()
		f.rounds.Observe(time.Since(last).Seconds())
	}
}

// round writes every connection scheduled so far.
func (f *flusher) round() {
	f.mu.Lock()
	batch := f.dirty
	f.dirty, f.spare = f.spare[:0], nil
	f.mu.Unlock()
	f.write(batch)
	clear(batch)
	f.mu.Lock()
	f.spare = batch[:0]
	f.mu.Unlock()
}

// write flushes a round's connections, on every core when there are many.
func (f *flusher) write(batch []*conn) {
	const perCore = 256
	parts := min(runtime.GOMAXPROCS(0), (len(batch)+perCore-1)/perCore)
	if parts <= 1 {
		for _, c := range batch {
			c.flush()
		}
		return
	}
	var wg sync.WaitGroup
	size := (len(batch) + parts - 1) / parts
	for start := 0; start < len(batch); start += size {
		part := batch[start:min(start+size, len(batch))]
		wg.Go(func() {
			for _, c := range part {
				c.flush()
			}
		})
	}
	wg.Wait()
}
