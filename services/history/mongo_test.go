package history_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/mongo"

	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/mongodb"
	"github.com/webchatroom/chatroom/internal/testenv"
	"github.com/webchatroom/chatroom/internal/wire"
	"github.com/webchatroom/chatroom/services/history"
)

// TestMongoStore runs the store contract against a real server speaking
// the MongoDB wire protocol: FerretDB, standing in for MongoDB, which this
// build machine cannot install. FerretDB has no transactions, which the
// MongoDB store does not need.
func TestMongoStore(t *testing.T) {
	uri := testenv.FerretDB(t)
	testStore(t, func(t *testing.T) history.Store {
		_, s := mustOpenMongo(t, uri, "t"+ids.New()[:12])
		return s
	})

	// Two replicas on one database race for the seqs of one conversation:
	// the unique (conversation_id, seq) index decides, no seq is lost.
	t.Run("replicas share one conversation", func(t *testing.T) {
		name := "t" + ids.New()[:12]
		_, a := mustOpenMongo(t, uri, name)
		_, b := mustOpenMongo(t, uri, name)
		const senders, each = 6, 50
		seqs := make(chan int64, senders*each)
		var wg sync.WaitGroup
		for g := 0; g < senders; g++ {
			s := a
			if g%2 == 1 {
				s = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				sender := ids.New()
				for i := 0; i < each; i++ {
					m, dup, err := s.Append(context.Background(), newMessage(wire.LobbyID, sender, fmt.Sprint(i), "hi"))
					if err != nil || dup {
						t.Errorf("append: dup=%v err=%v", dup, err)
						return
					}
					seqs <- m.Seq
				}
			}()
		}
		wg.Wait()
		close(seqs)
		MustBeOneToN(t, collect(seqs), senders*each)
		MustHaveExactly(t, a, wire.LobbyID, senders*each)
	})
}

func mustOpenMongo(t *testing.T, uri, name string) (*mongo.Database, *history.MongoStore) {
	t.Helper()
	ctx := context.Background()
	db, err := mongodb.Open(ctx, uri, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := history.OpenMongo(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = db.Drop(context.Background())
		s.Close()
	})
	return db, s
}
