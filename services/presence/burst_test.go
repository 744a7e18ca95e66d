package presence

import (
	"testing"
	"time"
)

func TestBurstLimitFollowsThePeopleOnline(t *testing.T) {
	for _, c := range []struct{ online, limit int }{
		{0, 200}, {1, 200}, {500, 200}, {1000, 100}, {2000, 50}, {5000, 20}, {15000, 20}, {1_000_000, 20},
	} {
		if got := burstLimit(c.online); got != c.limit {
			t.Errorf("burstLimit(%d) = %d, want %d", c.online, got, c.limit)
		}
	}
}

func TestBurstHoldsChangesOverTheLimitUntilAQuietSweep(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	b := burst{window: time.Second}
	limit := burstLimit(5000) // 20
	for i := range limit {
		if !b.admit(t0.Add(time.Duration(i)*time.Millisecond), 5000) {
			t.Fatalf("change %d of %d held", i+1, limit)
		}
	}
	if b.admit(t0.Add(500*time.Millisecond), 5001) {
		t.Fatal("a change over the limit within the window was announced")
	}
	// in the burst, even the first change of a new window is held
	if b.admit(t0.Add(1500*time.Millisecond), 5002) {
		t.Fatal("a change in a burst was announced")
	}
	if sync, count := b.tick(t0.Add(2 * time.Second)); !sync || count != 5002 {
		t.Fatalf("tick after held changes: sync %v count %d, want true 5002", sync, count)
	}
	if b.admit(t0.Add(2100*time.Millisecond), 5003) {
		t.Fatal("the burst ended before a sweep without changes")
	}
	if sync, count := b.tick(t0.Add(3 * time.Second)); !sync || count != 5003 {
		t.Fatalf("second tick: sync %v count %d, want true 5003", sync, count)
	}
	if sync, _ := b.tick(t0.Add(4 * time.Second)); sync {
		t.Fatal("a sync with nothing held")
	}
	if sync, _ := b.tick(t0.Add(5 * time.Second)); sync {
		t.Fatal("a sync after the burst ended")
	}
	if !b.admit(t0.Add(5100*time.Millisecond), 5003) {
		t.Fatal("after a quiet sweep a change is announced on its own again")
	}
}

func TestBurstCountsChangesPerWindow(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	b := burst{window: time.Second}
	// 20 a second, the limit at 5,000 online, for ten seconds: never a burst
	for s := range 10 {
		for i := range 20 {
			if !b.admit(t0.Add(time.Duration(s)*time.Second+time.Duration(i)*40*time.Millisecond), 5000) {
				t.Fatalf("second %d, change %d held", s, i)
			}
		}
		if sync, _ := b.tick(t0.Add(time.Duration(s)*time.Second + 999*time.Millisecond)); sync {
			t.Fatalf("second %d: a sync without a burst", s)
		}
	}
}
