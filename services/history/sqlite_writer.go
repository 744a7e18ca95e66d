package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/webchatroom/chatroom/internal/apperr"
)

// maxBatch bounds how many writes share one transaction.
const maxBatch = 256

// writeTimeout bounds one batch transaction.
const writeTimeout = 30 * time.Second

// writer is SQLite's group commit: one goroutine owns the write connection
// and runs every write that is waiting when it is free in ONE transaction,
// so concurrent senders share one fsync. Each write runs in its own
// savepoint, so one that fails leaves the others of its batch intact.
// Appends skip savepoints: they are gathered and stored together after the
// batch's other writes, by appendAll (sqlite_append.go), which refuses an
// append only before writing it; any other error dooms the batch.
type writer struct {
	db        *sql.DB
	sp        savepoint
	appendAll func(ctx context.Context, tx *sql.Tx, ops []*writeOp) error
	ops       chan *writeOp // unbuffered: a write waits until the writer takes it
	quit      chan struct{}
	exited    chan struct{}
	once      sync.Once

	transactions atomic.Uint64
	writes       atomic.Uint64
}

// writeOp is one write: run is called inside the batch transaction, or,
// for an append, msg is handed to appendAll with the batch's other appends.
type writeOp struct {
	run  func(ctx context.Context, tx *sql.Tx) error
	done chan error // buffered 1: the writer never waits for the caller

	msg    *Message // an append: the message to store
	terms  []string // and its search terms, worked out before it queues
	stored *Message // set by appendAll: the stored message, or the one stored before
	dup    bool     // stored was stored before with the same client_id
	err    error    // set by appendAll: the append's refusal
	sameAs *writeOp // an earlier append of this batch with the same sender and client_id
}

// WriteStats counts the group commit's work since the store was opened.
type WriteStats struct {
	Transactions uint64 // batch transactions committed or attempted
	Writes       uint64 // writes (appends, read markers, new conversations) they carried
}

// savepoint holds the savepoint statements, prepared once.
type savepoint struct{ begin, rollback, release *sql.Stmt }

func startWriter(ctx context.Context, db *sql.DB, appendAll func(ctx context.Context, tx *sql.Tx, ops []*writeOp) error) (*writer, error) {
	w := &writer{db: db, appendAll: appendAll, ops: make(chan *writeOp), quit: make(chan struct{}), exited: make(chan struct{})}
	for dst, query := range map[**sql.Stmt]string{&w.sp.begin: `SAVEPOINT op`, &w.sp.rollback: `ROLLBACK TO op`, &w.sp.release: `RELEASE op`} {
		stmt, err := db.PrepareContext(ctx, query)
		if err != nil {
			return nil, fmt.Errorf("prepare %q: %w", query, err)
		}
		*dst = stmt
	}
	go w.loop()
	return w, nil
}

var errWriterClosed = &apperr.Error{Code: apperr.Unavailable, Message: "History is shutting down; try again shortly.", Err: errors.New("sqlite writer closed")}

// do runs fn in the next batch and returns once that batch has committed
// (or ctx ends first; the write may then still commit).
func (w *writer) do(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return w.submit(ctx, &writeOp{run: fn, done: make(chan error, 1)})
}

// append stores m (with its search terms) in the next batch, with the
// batch's other appends.
func (w *writer) append(ctx context.Context, m *Message, terms []string) (stored *Message, dup bool, err error) {
	op := &writeOp{msg: m, terms: terms, done: make(chan error, 1)}
	if err := w.submit(ctx, op); err != nil {
		return nil, false, err
	}
	return op.stored, op.dup, nil
}

func (w *writer) submit(ctx context.Context, op *writeOp) error {
	select {
	case w.ops <- op:
	case <-w.quit:
		return errWriterClosed
	case <-ctx.Done():
		return apperr.Wrap(ctx.Err(), "wait for sqlite writer")
	}
	select {
	case err := <-op.done:
		return err
	case <-ctx.Done():
		return apperr.Wrap(ctx.Err(), "wait for sqlite commit")
	}
}

func (w *writer) loop() {
	defer close(w.exited)
	batch := make([]*writeOp, 0, maxBatch)
	for {
		select {
		case op := <-w.ops:
			batch = append(batch[:0], op)
		case <-w.quit:
			return
		}
	fill: // take every write already waiting
		for len(batch) < maxBatch {
			select {
			case op := <-w.ops:
				batch = append(batch, op)
			default:
				break fill
			}
		}
		w.commit(batch)
		clear(batch)
	}
}

// commit runs a batch in one transaction and answers each write: its own
// error, or the transaction's if the batch did not commit.
func (w *writer) commit(batch []*writeOp) {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	errs := make([]error, len(batch))
	err := func() error {
		tx, err := w.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		defer tx.Rollback()
		var appends []*writeOp
		for i, op := range batch {
			var fatal error
			if op.msg != nil {
				appends = append(appends, op)
				continue
			}
			if errs[i], fatal = w.sp.run(ctx, tx, op.run); fatal != nil {
				return fatal
			}
		}
		if len(appends) > 0 {
			if err := w.appendAll(ctx, tx, appends); err != nil {
				return err
			}
			for i, op := range batch {
				if op.msg != nil {
					errs[i] = op.err
				}
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}()
	w.transactions.Add(1)
	w.writes.Add(uint64(len(batch)))
	for i, op := range batch {
		if err != nil {
			op.done <- apperr.Wrap(err, "sqlite batch")
		} else {
			op.done <- errs[i]
		}
	}
}

// run runs fn and undoes its changes if it fails; fatal is a failure of
// the savepoint itself, which dooms the whole transaction.
func (sp savepoint) run(ctx context.Context, tx *sql.Tx, fn func(context.Context, *sql.Tx) error) (opErr, fatal error) {
	if _, err := tx.StmtContext(ctx, sp.begin).ExecContext(ctx); err != nil {
		return nil, fmt.Errorf("savepoint: %w", err)
	}
	opErr = fn(ctx, tx)
	if opErr != nil {
		if _, err := tx.StmtContext(ctx, sp.rollback).ExecContext(ctx); err != nil {
			return opErr, fmt.Errorf("rollback to savepoint: %w", err)
		}
	}
	if _, err := tx.StmtContext(ctx, sp.release).ExecContext(ctx); err != nil {
		return opErr, fmt.Errorf("release savepoint: %w", err)
	}
	return opErr, nil
}

func (w *writer) stats() WriteStats {
	return WriteStats{Transactions: w.transactions.Load(), Writes: w.writes.Load()}
}

// close stops the writer after the batch in flight; writes not yet taken
// fail with unavailable.
func (w *writer) close() {
	w.once.Do(func() { close(w.quit) })
	<-w.exited
}
