package history_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/webchatroom/chatroom/internal/apperr"
	"github.com/webchatroom/chatroom/internal/bus"
	"github.com/webchatroom/chatroom/internal/chattest"
	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/platform"
	"github.com/webchatroom/chatroom/internal/testenv"
	"github.com/webchatroom/chatroom/internal/wire"
	"github.com/webchatroom/chatroom/services/history"
)

// countingStore is a real store that counts the appends it was asked for,
// so the test knows both replicas took part.
type countingStore struct {
	history.Store
	appends atomic.Int64
}

func (s *countingStore) Append(ctx context.Context, m *history.Message) (*history.Message, bool, error) {
	s.appends.Add(1)
	return s.Store.Append(ctx, m)
}

// TestReplicasOnOneMongoStore runs two history services, as two pods do:
// each its own connection to one MongoDB database (FerretDB here), both
// in queue group "history" on the bus. Concurrent appends to the lobby
// and to a direct conversation, resends included, come out numbered 1..n
// without a hole or a repeat, each acknowledged message stored once.
func TestReplicasOnOneMongoStore(t *testing.T) {
	uri := testenv.FerretDB(t)
	connect := chattest.Bus(t)
	users := startAuth(t, connect, 4)

	name := "t" + ids.New()[:12]
	stores := make([]*countingStore, 2)
	svcs := make([]*history.Service, 2)
	for i := range svcs {
		_, s := mustOpenMongo(t, uri, name)
		stores[i] = &countingStore{Store: s}
		svcs[i] = history.New(history.Config{Store: stores[i], Bus: connect(fmt.Sprintf("history-%d", i)), Log: chattest.QuietLog})
		if err := svcs[i].Subscribe(); err != nil {
			t.Fatal(err)
		}
	}
	gateway := connect("gateway")

	// both replicas open the same direct conversation at once: one conversation
	type opened struct {
		id      string
		created bool
		err     error
	}
	results := make(chan opened, 2)
	for i, svc := range svcs {
		go func() {
			a, b := users[0], users[1]
			if i == 1 {
				a, b = b, a
			}
			sum, created, err := svc.Direct(context.Background(), a, b)
			if err != nil {
				results <- opened{err: err}
				return
			}
			results <- opened{id: sum.ID, created: created}
		}()
	}
	r1, r2 := <-results, <-results
	if r1.err != nil || r2.err != nil || r1.id != r2.id || (r1.created && r2.created) {
		t.Fatalf("two replicas opening one direct conversation: %+v %+v", r1, r2)
	}
	direct := r1.id

	const each = 30
	type acked struct {
		conv, id string
		seq      int64
	}
	acks := make(chan acked, 4*each*2)
	var wg sync.WaitGroup
	for u, sender := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				conv := wire.LobbyID
				if u < 2 && i%2 == 1 { // the direct's two members write there too
					conv = direct
				}
				req := wire.AppendRequest{SenderID: sender, ConversationID: conv, ClientID: fmt.Sprintf("c%d", i), Kind: wire.KindText, Text: "hello"}
				r, err := bus.Request[wire.AppendRequest, wire.AppendReply](context.Background(), gateway, wire.SubjectHistoryAppend, req)
				if err != nil || r.Duplicate {
					t.Errorf("append %s/%d: dup=%v err=%v", sender, i, r.Duplicate, err)
					return
				}
				acks <- acked{conv, r.Message.ID, r.Message.Seq}
				if i%5 == 0 { // the client did not see the ack and sends again
					again, err := bus.Request[wire.AppendRequest, wire.AppendReply](context.Background(), gateway, wire.SubjectHistoryAppend, req)
					if err != nil || !again.Duplicate || again.Message.ID != r.Message.ID || again.Message.Seq != r.Message.Seq {
						t.Errorf("resend %s/%d: %+v %v, first %s seq %d", sender, i, again.Message, err, r.Message.ID, r.Message.Seq)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(acks)
	if t.Failed() {
		return
	}

	seqs := map[string][]int64{}
	ackedIDs := map[string]map[string]bool{wire.LobbyID: {}, direct: {}}
	for a := range acks {
		seqs[a.conv] = append(seqs[a.conv], a.seq)
		ackedIDs[a.conv][a.id] = true
	}
	for conv, n := range map[string]int{wire.LobbyID: 4*each - each, direct: each} {
		MustBeOneToN(t, seqs[conv], n)
		MustHaveExactly(t, stores[0], conv, n)
		for _, m := range MustMessages(t, stores[1], conv, history.Page{Mode: history.After, Seq: 0, Limit: 200}) {
			if !ackedIDs[conv][m.ID] {
				t.Fatalf("stored message %s (seq %d) was never acknowledged", m.ID, m.Seq)
			}
		}
	}
	if stores[0].appends.Load() == 0 || stores[1].appends.Load() == 0 {
		t.Fatalf("the queue group sent every append to one replica: %d and %d", stores[0].appends.Load(), stores[1].appends.Load())
	}
	t.Logf("appends (resends included) per replica: %d, %d", stores[0].appends.Load(), stores[1].appends.Load())

	// a replica that never saw the direct conversation still keeps others out
	outsider := users[2]
	for i, svc := range svcs {
		_, err := svc.Members(context.Background(), wire.MembersRequest{UserID: outsider, ConversationID: direct})
		if apperr.Code(err) != apperr.NotFound {
			t.Fatalf("replica %d lets a non-member into the direct conversation: %v", i, err)
		}
	}
}

// startAuth runs the auth service on the bus and registers n users over
// its HTTP routes; it returns their IDs.
func startAuth(t *testing.T, connect func(string) *bus.Conn, n int) []string {
	t.Helper()
	svc, _ := mustAuth(t, connect("auth"))
	app := platform.New(platform.Config{Name: "auth", Log: chattest.QuietLog})
	svc.Routes(app)
	app.Finish()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { _ = app.Shutdown() })
	site := chattest.Site{URL: "http://" + ln.Addr().String()}
	var out []string
	for i := range n {
		cookie := site.MustLogin(t, fmt.Sprintf("replica%d", i))
		_, me := site.Do(t, cookie, "GET", "/api/auth/me", nil)
		out = append(out, me["user"].(map[string]any)["id"].(string))
	}
	return out
}
