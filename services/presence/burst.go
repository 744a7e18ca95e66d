package presence

import "time"

// A presence frame names one user and goes to every open socket, so N
// people arriving at once — every socket reconnecting after a restart or
// a deploy — cost N²/2 frames: 112 million for 15,000 arrivals, minutes of
// a busy server (docs/performance.md). Steady comings and goings are cheap
// and worth a frame each; a burst is not: while changes come faster than
// burstBudget deliveries a second allow, they are held, and every sweep
// sends one presence_sync frame instead — the count, and "fetch the list
// again" (docs/api.md). The burst ends at the first sweep with no change
// held; the next change is announced on its own again.

// burstBudget is how many presence deliveries a second (changes × people
// online) are sent one frame per change before changes are held.
const burstBudget = 100_000

// The changes a second announced one by one, whatever the budget says:
// steady churn of a large community (15,000 online people staying an hour
// each come and go ~8 times a second) stays live, and a small one never
// meets a burst it would notice.
const (
	minBurstLimit = 20
	maxBurstLimit = 200
)

// burst is the hold-back state; guarded by the service's annMu.
type burst struct {
	window time.Duration // the period changes are counted over: the sweep interval
	start  time.Time     // this window's start
	sent   int           // changes announced one by one in this window
	on     bool          // in a burst: changes are held, a sync each sweep
	held   bool          // a change was held since the last sync
	count  int           // the online count after the last held change
}

// burstLimit is how many changes a window may announce one by one when
// online people are online.
func burstLimit(online int) int {
	return min(max(burstBudget/max(online, 1), minBurstLimit), maxBurstLimit)
}

// admit reports whether a change that leaves count people online is
// announced on its own; if not, it is held for the next sync.
func (b *burst) admit(now time.Time, count int) bool {
	if now.Sub(b.start) >= b.window || now.Before(b.start) {
		b.start, b.sent = now, 0
	}
	if !b.on && b.sent < burstLimit(count) {
		b.sent++
		return true
	}
	b.on, b.held, b.count = true, true, count
	return false
}

// tick runs at every sweep: sync reports whether a presence_sync frame
// with count is due (changes were held since the last one). A sweep with
// nothing held ends the burst.
func (b *burst) tick(now time.Time) (sync bool, count int) {
	switch {
	case !b.on:
		return false, 0
	case b.held:
		b.held = false
		b.start, b.sent = now, 0
		return true, b.count
	default:
		b.on = false
		return false, 0
	}
}
