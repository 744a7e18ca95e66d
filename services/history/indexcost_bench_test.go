package history_test

import (
	"database/sql"
	"encoding/binary"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/webchatroom/chatroom/services/history"
)

// The cost of indexing a message for search, apart from the rest of an
// append: what decides whether the SQLite store can reach 20,000 messages/s
// beside a fan-out on two cores (docs/performance.md, issue 3). Both
// benchmarks index direct messages of 512 conversations, 256 to a WAL
// transaction with synchronous=FULL, and report µs per message:
//
//	go test -run '^$' -bench IndexCost -benchtime 200000x ./services/history/
//
// IndexCostFTS5 is the search table of migrations/003_search.sql as the
// store writes it. IndexCostGoSegment is a sketch of the alternative, not
// code of the store: the batch's postings gathered in Go and written as one
// segment row per transaction (no merging of segments, no query path).

const indexCostBatch = 256

// indexCostDocs are n messages' terms: the store's own terms of a typical
// text plus its kind, conversation, sender and readers.
func indexCostDocs(n int) [][]string {
	text := history.IndexTerms("明天下午三点开会, see you at the standup 👍")
	docs := make([][]string, n)
	for i := range docs {
		c := i % 512
		docs[i] = append(slices.Clone(text), "k:text", fmt.Sprintf("c:dm-%08d", c), fmt.Sprintf("s:user%08d", c),
			fmt.Sprintf("u:user%08d", c), fmt.Sprintf("u:peer%08d", c))
	}
	return docs
}

func openIndexCostDB(b *testing.B, schema string) *sql.DB {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(b.TempDir(), "x.db")+"?_pragma=journal_mode(wal)&_pragma=synchronous(full)")
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	b.Cleanup(func() { db.Close() })
	if _, err := db.Exec(schema); err != nil {
		b.Fatal(err)
	}
	return db
}

// inBatches runs write for each batch of docs in its own transaction.
func inBatches(b *testing.B, db *sql.DB, docs [][]string, write func(tx *sql.Tx, first int, batch [][]string) error) {
	b.ResetTimer()
	for first := 0; first < len(docs); first += indexCostBatch {
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		if err := write(tx, first, docs[first:min(first+indexCostBatch, len(docs))]); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(len(docs)), "µs/msg")
}

func BenchmarkIndexCostFTS5(b *testing.B) {
	migration, err := os.ReadFile("migrations/003_search.sql")
	if err != nil {
		b.Fatal(err)
	}
	create := regexp.MustCompile(`(?s)CREATE VIRTUAL TABLE search .*?\);`).Find(migration)
	if create == nil {
		b.Fatal("no CREATE VIRTUAL TABLE search in migrations/003_search.sql")
	}
	db := openIndexCostDB(b, string(create))
	inBatches(b, db, indexCostDocs(b.N), func(tx *sql.Tx, first int, batch [][]string) error {
		q := "INSERT INTO search (rowid, terms) VALUES " + strings.TrimSuffix(strings.Repeat("(?, ?), ", len(batch)), ", ")
		args := make([]any, 0, 2*len(batch))
		for i, terms := range batch {
			args = append(args, -int64(first+i+1), strings.Join(terms, " "))
		}
		_, err := tx.Exec(q, args...)
		return err
	})
}

func BenchmarkIndexCostGoSegment(b *testing.B) {
	db := openIndexCostDB(b, `CREATE TABLE segments (id INTEGER PRIMARY KEY, data BLOB NOT NULL)`)
	inBatches(b, db, indexCostDocs(b.N), func(tx *sql.Tx, first int, batch [][]string) error {
		postings := map[string][]int64{}
		for i, terms := range batch {
			for _, t := range terms {
				postings[t] = append(postings[t], int64(first+i+1))
			}
		}
		var seg []byte
		for _, t := range slices.Sorted(maps.Keys(postings)) {
			seg = binary.AppendUvarint(seg, uint64(len(t)))
			seg = append(seg, t...)
			keys := postings[t]
			seg = binary.AppendUvarint(seg, uint64(len(keys)))
			prev := int64(0)
			for _, k := range keys {
				seg = binary.AppendUvarint(seg, uint64(k-prev))
				prev = k
			}
		}
		_, err := tx.Exec(`INSERT INTO segments (data) VALUES (?)`, seg)
		return err
	})
}
