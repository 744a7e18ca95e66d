package chat_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/chattest"
	"github.com/webchatroom/chatroom/internal/wire"
	"github.com/webchatroom/chatroom/services/chat"
)

// TestStopSpreadsReconnectsOverTheDrain stops a gateway with ten clients:
// each gets close 1012 (reconnect), one after another across the drain
// time rather than all at once, and those still open get deliveries
// until their turn.
func TestStopSpreadsReconnectsOverTheDrain(t *testing.T) {
	bothIO(t, func(t *testing.T, io func(*chat.Config)) {
		const drain, n = 1500 * time.Millisecond, 10
		g := MustServe(t, io, func(c *chat.Config) { c.Drain = drain })
		type ending struct {
			at    time.Time
			heard bool // got the delivery published mid-drain
		}
		ends := make([]chan ending, n)
		clients := make([]*chattest.Client, n)
		for i := range n {
			clients[i] = g.MustDial(t, g.MustLogin(t, fmt.Sprintf("drain%d", i)))
			ends[i] = make(chan ending, 1)
			go func(c *chattest.Client, end chan<- ending) {
				heard := false
				for f := range c.Frames { // closed when the connection ends
					heard = heard || f["type"] == "mid-drain"
				}
				end <- ending{at: time.Now(), heard: heard}
			}(clients[i], ends[i])
		}

		start := time.Now()
		stopped := make(chan struct{})
		go func() { g.Stop(); close(stopped) }()
		time.Sleep(drain / 2)
		published := time.Now()
		frame, _ := json.Marshal(map[string]string{"type": "mid-drain"})
		if err := g.Bus.Publish(wire.SubjectDeliver, wire.Delivery{Frame: frame}); err != nil {
			t.Fatal(err)
		}

		var at []time.Duration
		for i, c := range clients {
			if code := c.Closed(t); code != 1012 {
				t.Fatalf("client %d closed with %d, want 1012 (service restart: reconnect)", i, code)
			}
			e := <-ends[i]
			at = append(at, e.at.Sub(start))
			if e.at.After(published.Add(200*time.Millisecond)) && !e.heard {
				t.Fatalf("client %d was open %v after the mid-drain delivery and did not get it", i, e.at.Sub(published))
			}
		}
		select {
		case <-stopped:
		case <-time.After(drain + 3*time.Second):
			t.Fatal("Run did not return within the drain and the close wait")
		}
		slices.Sort(at)
		t.Logf("closes at %v", at)
		if span := at[n-1] - at[0]; span < drain/2 {
			t.Fatalf("closes spread over %v, want about %v", span, drain)
		}
		slots := map[time.Duration]bool{} // which drain/n slot each close fell in
		for _, d := range at {
			slots[d/(drain/n)] = true
		}
		if len(slots) < n/2 {
			t.Fatalf("closes bunched in %d of %d slots: %v", len(slots), n, at)
		}
	})
}
