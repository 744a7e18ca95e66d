package history_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/webchatroom/chatroom/internal/wire"
	"github.com/webchatroom/chatroom/services/history"
)

var (
	searchBenchDir      = flag.String("searchbench.dir", "", "folder kept between runs for BenchmarkSearchScale's database (e.g. /root/searchbench)")
	searchBenchMessages = flag.Int("searchbench.messages", 1_000_000, "messages BenchmarkSearchScale stores")
)

// BenchmarkSearchScale stores -searchbench.messages messages of the
// generated corpus (25 % lobby, the rest in 30,000 direct conversations of
// 5,000 users) in a SQLite store under -searchbench.dir — through Append,
// 512 senders at once, so through the group commit and its search
// indexing, as the chat gateway stores them — unless a previous run left
// it there, then measures searches and history pages. Each sub-benchmark
// reports p50 and p99 of its b.N runs; run it with -benchtime 1000x:
//
//	go test -run '^$' -bench SearchScale -benchtime 1000x -timeout 0 ./services/history/ \
//	    -args -searchbench.dir /root/searchbench -searchbench.messages 1000000
func BenchmarkSearchScale(b *testing.B) {
	if *searchBenchDir == "" {
		b.Skip("set -searchbench.dir (see the doc comment)")
	}
	n := *searchBenchMessages
	cfg := benchCorpus(n)
	path := filepath.Join(*searchBenchDir, fmt.Sprintf("history-%d.db", n))
	s := openBenchStore(b, path, cfg)
	ctx := context.Background()

	users := cfg.Users[:200] // the chattiest, who have the most direct conversations
	dms := benchDirects(b, s, cfg, 100)
	top2, topLatin := frequentTerms(cfg, 100_000)
	b.Logf("most frequent pair %q, most frequent word %q", top2, topLatin)
	type query struct {
		name string
		q    func(i int) history.SearchQuery
	}
	text := func(q string) func(i int) history.SearchQuery {
		return func(i int) history.SearchQuery {
			return history.SearchQuery{UserID: users[i%len(users)], Terms: history.QueryTerms(q), Limit: 50}
		}
	}
	for _, c := range []query{
		{"zh-会议", text("会议")},
		{"zh-most-frequent-pair-" + top2, text(top2)},
		{"mixed-Go语言", text("Go语言")},
		{"mixed-kubernetes-集群", text("kubernetes 集群")},
		{"sparse-部署-kubernetes", text("部署 kubernetes")}, // frequent words that seldom meet
		{"en-most-frequent-" + topLatin, text(topLatin)},
		{"prefix-kube", text("kube")},
		{"prefix-the", text("the")},
		{"rare-ＡＢＣ公司", text("ＡＢＣ公司")},
		{"none-紫色独角兽", text("紫色独角兽")},
		{"dm-filter-会议", func(i int) history.SearchQuery {
			q := text("会议")(i)
			q.UserID, q.ConversationID = dms[i%len(dms)].Members[0], dms[i%len(dms)].ID
			return q
		}},
		{"images-no-text", func(i int) history.SearchQuery {
			return history.SearchQuery{UserID: users[i%len(users)], Kind: wire.KindImage, Limit: 50}
		}},
		{"month-会议", func(i int) history.SearchQuery {
			q := text("会议")(i)
			q.Since = cfg.Start.Add(cfg.Span / 3)
			q.Until = q.Since.Add(30 * 24 * time.Hour)
			return q
		}},
	} {
		b.Run("search/"+c.name, func(b *testing.B) {
			hits := 0
			measure(b, func(i int) {
				p, err := s.Search(ctx, c.q(i))
				if err != nil {
					b.Fatal(err)
				}
				hits += len(p.Messages)
			})
			b.ReportMetric(float64(hits)/float64(b.N), "hits/op")
		})
	}
	b.Run("history/lobby-newest-50", func(b *testing.B) {
		measure(b, func(int) { MustMessages(b, s, wire.LobbyID, history.Page{Limit: 50}) })
	})
	b.Run("history/lobby-before-50", func(b *testing.B) {
		lobby, err := s.Conversation(ctx, wire.LobbyID)
		if err != nil {
			b.Fatal(err)
		}
		r := rand.New(rand.NewPCG(1, 2))
		measure(b, func(int) {
			MustMessages(b, s, wire.LobbyID, history.Page{Mode: history.Before, Seq: 1 + r.Int64N(lobby.LastSeq), Limit: 50})
		})
	})
	b.Run("history/dm-around-50", func(b *testing.B) {
		measure(b, func(i int) {
			MustMessages(b, s, dms[i%len(dms)].ID, history.Page{Mode: history.Around, Seq: 10, Limit: 50})
		})
	})
}

// measure runs op b.N times and reports the p50 and p99 of one run.
func measure(b *testing.B, op func(i int)) {
	took := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		op(i)
		took[i] = time.Since(start)
	}
	b.StopTimer()
	slices.Sort(took)
	ms := func(p float64) float64 { return float64(took[int(p*float64(len(took)-1))]) / 1e6 }
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
	b.ReportMetric(ms(1), "max-ms")
}

func benchCorpus(n int) corpusConfig {
	r := rand.New(rand.NewPCG(7, 7))
	users := make([]string, 5000)
	for i := range users {
		users[i] = fmt.Sprintf("u%05d", i)
	}
	// a few people have many direct conversations, most have a few
	z := rand.NewZipf(r, 1.1, 2, uint64(len(users)-1))
	seen := map[[2]string]bool{}
	var pairs [][2]string
	for len(pairs) < 30_000 {
		a, b := users[z.Uint64()], users[r.IntN(len(users))]
		if a == b {
			continue
		}
		p := [2]string{min(a, b), max(a, b)}
		if !seen[p] {
			seen[p] = true
			pairs = append(pairs, p)
		}
	}
	return corpusConfig{Seed: 42, Messages: n, Users: users, Pairs: pairs, Lobby: 0.25,
		Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Span: 2 * 365 * 24 * time.Hour}
}

// openBenchStore opens the benchmark's store, storing the corpus first if
// no earlier run finished doing so (a .done file says it did).
func openBenchStore(b *testing.B, path string, cfg corpusConfig) *history.SQLiteStore {
	b.Helper()
	done := path + ".done"
	if _, err := os.Stat(done); err != nil {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			_ = os.Remove(path + suffix)
		}
	}
	s, err := history.OpenSQLite(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if report, err := os.ReadFile(done); err == nil {
		b.Logf("reusing %s: %s", path, report)
		return s
	}
	start := time.Now()
	convs := benchDirects(b, s, cfg, len(cfg.Pairs))
	msgs := make(chan corpusMsg, 4096)
	var wg sync.WaitGroup
	var failed sync.Once
	for range 512 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range msgs {
				if m.Pair >= 0 {
					m.ConversationID = convs[m.Pair].ID
				}
				if _, _, err := s.Append(context.Background(), &m.Message); err != nil {
					failed.Do(func() { b.Error(err) })
				}
			}
		}()
	}
	last := time.Now()
	cfg.each(func(i int, m corpusMsg) bool {
		msgs <- m
		if i > 0 && i%100_000 == 0 {
			b.Logf("%d stored, %.0f/s lately", i, 100_000/time.Since(last).Seconds())
			last = time.Now()
		}
		return !b.Failed()
	})
	close(msgs)
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	took := time.Since(start)
	st := s.WriteStats()
	report := fmt.Sprintf("%d messages stored in %v (%.0f messages/s, %.1f per transaction) on %s",
		cfg.Messages, took.Round(time.Second), float64(cfg.Messages)/took.Seconds(), float64(st.Writes)/float64(max(st.Transactions, 1)),
		time.Now().UTC().Format(time.RFC3339))
	if err := os.WriteFile(done, []byte(report), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Log(report)
	return s
}

// benchDirects gets or creates the first n direct conversations of cfg.
func benchDirects(b *testing.B, s history.Store, cfg corpusConfig, n int) []*history.Conversation {
	b.Helper()
	out := make([]*history.Conversation, n)
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	for w := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 64 {
				c, _, err := s.Direct(context.Background(), cfg.Pairs[i][0], cfg.Pairs[i][1], cfg.Start)
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
				out[i] = c
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	return out
}

// frequentTerms counts the terms of the first n messages of cfg and
// returns the most frequent pair of CJK characters and the most frequent
// Latin word.
func frequentTerms(cfg corpusConfig, n int) (pair, word string) {
	cfg.Messages = min(cfg.Messages, n)
	count := map[string]int{}
	cfg.each(func(_ int, m corpusMsg) bool {
		for _, t := range history.IndexTerms(m.Text) {
			count[t]++
		}
		return true
	})
	best := func(ok func(string) bool) string {
		var top string
		for t, c := range count {
			if ok(t) && (c > count[top] || c == count[top] && t < top) {
				top = t
			}
		}
		return top
	}
	pair = best(func(t string) bool {
		r, _ := utf8.DecodeRuneInString(t)
		return utf8.RuneCountInString(t) == 2 && r > 0x2E80
	})
	word = best(func(t string) bool { return t != "" && t[0] >= 'a' && t[0] <= 'z' && !strings.ContainsAny(t, ":-") })
	return pair, word
}
