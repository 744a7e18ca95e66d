package history_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/ids"
	"github.com/webchatroom/chatroom/internal/wire"
	"github.com/webchatroom/chatroom/services/history"
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
	reportAppends(b, s, before, start)
}

// reportAppends reports the msgs/s of b.N appends since start and how many
// writes each group commit carried since before.
func reportAppends(b *testing.B, s *history.SQLiteStore, before history.WriteStats, start time.Time) {
	elapsed := time.Since(start)
	after := s.WriteStats()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(after.Writes-before.Writes)/float64(max(after.Transactions-before.Transactions, 1)), "msgs/tx")
}

// BenchmarkAppendDirect is the load of many private conversations: 512
// senders, each writing into its own direct conversation, so every append
// lands on other index pages. Reports msgs/s, appends per transaction and
// the bytes the process wrote to disk per message (WAL and checkpoints).
func BenchmarkAppendDirect(b *testing.B) {
	s := MustOpenSQLite(b)
	const pairs = 512
	convs := make([]string, pairs)
	users := make([]string, pairs)
	for i := range convs {
		users[i] = ids.New()
		c, _, err := s.Direct(context.Background(), users[i], ids.New(), time.Now())
		if err != nil {
			b.Fatal(err)
		}
		convs[i] = c.ID
	}
	before, wrote := s.WriteStats(), diskWrites(b)
	var n, next atomic.Int64
	b.SetParallelism(pairs / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		me := int(next.Add(1)-1) % pairs
		for pb.Next() {
			i := n.Add(1)
			if _, _, err := s.Append(context.Background(), newMessage(convs[me], users[me], fmt.Sprint(i), "明天下午三点开会, see you at the standup 👍")); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportAppends(b, s, before, start)
	b.ReportMetric(float64(diskWrites(b)-wrote)/float64(b.N)/1024, "KiB-written/msg")
}

// diskWrites is what this process has written to disk so far
// (/proc/self/io write_bytes; 0 where there is no such file).
func diskWrites(tb testing.TB) int64 {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
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
