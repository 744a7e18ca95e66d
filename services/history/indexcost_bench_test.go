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
	"time"

	"github.com/webchatroom/chatroom/services/history"
)

// The cost of indexing a message for search, apart from the rest of an
// append, and the floor of a store that does only what the design asks
// (BenchmarkStoreFloor, below): what decides whether the SQLite store can
// reach 20,000 messages/s beside a fan-out on two cores
// (docs/performance.md, issue 3). Both
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

// BenchmarkStoreFloor is the least a SQLite store can do per message and
// still be the store DESIGN §4 and §7 ask for, with nothing of this
// store's own around it: per transaction of 256 messages one multi-row
// INSERT into the messages table of the migrations (its two unique
// indexes), the conversations' new last_seq, the messages' FTS5 documents
// keyed by their rowids, and a commit with synchronous=FULL. No resend
// lookup, read markers, search keys, checkpoints, goroutines or NATS. It
// reports the µs of the one writer per message: beside a fan-out that
// leaves the store under one core, 20,000 messages/s needs it well under
// 50 (docs/performance.md, issue 3). The NoSearch cases index nothing:
// what the search index costs.
//
//	go test -run '^$' -bench StoreFloor -benchtime 200000x ./services/history/
func BenchmarkStoreFloor(b *testing.B) {
	for _, c := range []struct {
		name   string
		convs  int
		search bool
	}{{"Lobby", 1, true}, {"Direct", 512, true}, {"LobbyNoSearch", 1, false}, {"DirectNoSearch", 512, false}} {
		b.Run(c.name, func(b *testing.B) { storeFloor(b, c.convs, c.search) })
	}
}

// storeFloor: see BenchmarkStoreFloor; without search, what is left when
// no message is indexed.
func storeFloor(b *testing.B, convs int, search bool) {
	var schema []string
	for _, f := range []string{"001_init.sql", "002_media.sql", "003_search.sql"} {
		sql, err := os.ReadFile(filepath.Join("migrations", f))
		if err != nil {
			b.Fatal(err)
		}
		schema = append(schema, string(sql))
	}
	// the write connection's cache, as sqlitedb.Open sets it
	db := openIndexCostDB(b, "PRAGMA cache_size = -16384;\n"+strings.Join(schema, "\n"))
	conv := func(c int) string {
		if convs == 1 {
			return "lobby"
		}
		return fmt.Sprintf("dm-%08d", c)
	}
	for c := range convs {
		if convs == 1 {
			break // the lobby: the migrations made it
		}
		if _, err := db.Exec(`INSERT INTO conversations (id, kind, user_a, user_b, created_at, last_at) VALUES (?, 'direct', ?, ?, 0, 0)`,
			conv(c), fmt.Sprintf("peer%08d", c), fmt.Sprintf("user%08d", c)); err != nil {
			b.Fatal(err)
		}
	}
	text := "明天下午三点开会, see you at the standup 👍"
	docs := indexCostDocs(b.N)
	seq := make([]int64, convs)
	const rowsPerStmt = 64
	insertRows := func(n int) string {
		return `INSERT INTO messages (id, conversation_id, seq, sender_id, kind, text, client_id, created_at) VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, 'text', ?, ?, ?), ", n), ", ") + ` RETURNING rowid`
	}
	ftsRows := func(n int) string {
		return `INSERT INTO search (rowid, terms) VALUES ` + strings.TrimSuffix(strings.Repeat("(?, ?), ", n), ", ")
	}
	// a statement of each query and size, prepared before the transactions
	// (the pool's one connection is theirs then): 64 rows, and the last chunk's
	prepared := map[string]*sql.Stmt{}
	for _, n := range []int{rowsPerStmt, b.N % indexCostBatch % rowsPerStmt} {
		for _, query := range []string{insertRows(n), ftsRows(n)} {
			if n == 0 {
				continue
			}
			st, err := db.Prepare(query)
			if err != nil {
				b.Fatal(err)
			}
			prepared[query] = st
		}
	}
	stmt := func(tx *sql.Tx, query string) *sql.Stmt { return tx.Stmt(prepared[query]) }
	bump, err := db.Prepare(`UPDATE conversations SET last_seq = last_seq + ?, last_at = ? WHERE id = ?`)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UnixMilli()
	inBatches(b, db, docs, func(tx *sql.Tx, first int, batch [][]string) error {
		counts := map[string]int{}
		for chunk := 0; chunk < len(batch); chunk += rowsPerStmt {
			part := batch[chunk:min(chunk+rowsPerStmt, len(batch))]
			args := make([]any, 0, 7*len(part))
			for i := range part {
				n := first + chunk + i
				c := n % convs
				seq[c]++
				counts[conv(c)]++
				args = append(args, fmt.Sprintf("m%016d", n), conv(c), seq[c], fmt.Sprintf("user%08d", c), text, fmt.Sprintf("client-%d", n), now)
			}
			rows, err := stmt(tx, insertRows(len(part))).Query(args...)
			if err != nil {
				return err
			}
			ftsArgs := make([]any, 0, 2*len(part))
			for i := 0; rows.Next(); i++ {
				var rowid int64
				if err := rows.Scan(&rowid); err != nil {
					rows.Close()
					return err
				}
				ftsArgs = append(ftsArgs, -rowid, strings.Join(part[i], " "))
			}
			if err := rows.Err(); err != nil {
				return err
			}
			if !search {
				continue
			}
			if _, err := stmt(tx, ftsRows(len(part))).Exec(ftsArgs...); err != nil {
				return err
			}
		}
		for id, n := range counts {
			if _, err := tx.Stmt(bump).Exec(n, now, id); err != nil {
				return err
			}
		}
		return nil
	})
}
