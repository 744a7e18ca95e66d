package chat

import (
	"sync"
	"time"
)

// rateLimiter allows count events per window per key (a sliding log).
type rateLimiter struct {
	count  int
	window time.Duration
	mu     sync.Mutex
	events map[string][]time.Time
}

func newRateLimiter(count int, window time.Duration) *rateLimiter {
	return &rateLimiter{count: count, window: window, events: map[string][]time.Time{}}
}

// allow records an event for key at now unless the limit is reached.
func (r *rateLimiter) allow(key string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events[key]
	cut := 0
	for cut < len(ev) && now.Sub(ev[cut]) >= r.window {
		cut++
	}
	ev = ev[cut:]
	if len(ev) >= r.count {
		r.events[key] = ev
		return false
	}
	r.events[key] = append(ev, now)
	return true
}

// forget drops a key with no recent events (called when a user's last
// connection closes).
func (r *rateLimiter) forget(key string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events[key]
	if len(ev) == 0 || now.Sub(ev[len(ev)-1]) >= r.window {
		delete(r.events, key)
	}
}
