package history_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/wire"
)

// senders is how many goroutines send at once per GOMAXPROCS: many users
// typing into one server, not one per core.
const senders = 32

// BenchmarkAppendParallel appends to the lobby of a SQLite store (WAL,
// synchronous=FULL, a real fsync per commit) from many goroutines: the
// group commit's throughput. Reports msgs/s and appends per transaction.
func BenchmarkAppendParallel(b *testing.B) {
	s := MustOpenSQLite(b)
	before := s.WriteStats()
	var n atomic.Int64
	b.SetParallelism(senders)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		sender := ids.New()
		for pb.Next() {
			i := n.Add(1)
			if _, _, err := s.Append(context.Background(), newMessage(wire.LobbyID, sender, fmt.Sprint(i), "hello, 你好")); err != nil {
				b.Error(err)
				return
			}
		}
	})
	elapsed := time.Since(start)
	after := s.WriteStats()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(after.Writes-before.Writes)/float64(max(after.Transactions-before.Transactions, 1)), "msgs/tx")
}

// BenchmarkAppendSerial is one sender at a time: one transaction, one
// fsync per message — what group commit is measured against.
func BenchmarkAppendSerial(b *testing.B) {
	s := MustOpenSQLite(b)
	sender := ids.New()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, _, err := s.Append(context.Background(), newMessage(wire.LobbyID, sender, fmt.Sprint(i), "hello, 你好")); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkAppendOverBus is the whole path a gateway uses: history.append
// over the in-process NATS server, checks, sender lookup (cached), store.
func BenchmarkAppendOverBus(b *testing.B) {
	s := MustServe(b)
	u := s.MustUser(b, "bench")
	var n atomic.Int64
	b.SetParallelism(senders)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if _, err := s.Append(b, wire.AppendRequest{SenderID: u.User.ID, ConversationID: wire.LobbyID, ClientID: fmt.Sprint(i), Kind: wire.KindText, Text: "hello, 你好"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
