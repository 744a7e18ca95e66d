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
// savepoint, so one that fails leaves the others of its batch intact —
// except clean writes (doClean), which skip the savepoint's three
// statements: they refuse only before writing anything.
type writer struct {
	db     *sql.DB
	sp     savepoint
	ops    chan *writeOp // unbuffered: a write waits until the writer takes it
	quit   chan struct{}
	exited chan struct{}
	once   sync.Once

	transactions atomic.Uint64
	writes       atomic.Uint64
}

// writeOp is one write: run is called inside the batch transaction.
type writeOp struct {
	run   func(ctx context.Context, tx *sql.Tx) error
	clean bool       // run returns an *apperr.Error only before it writes; any other error dooms the batch
	done  chan error // buffered 1: the writer never waits for the caller
}

// WriteStats counts the group commit's work since the store was opened.
type WriteStats struct {
	Transactions uint64 // batch transactions committed or attempted
	Writes       uint64 // writes (appends, read markers, new conversations) they carried
}

// savepoint holds the savepoint statements, prepared once.
type savepoint struct{ begin, rollback, release *sql.Stmt }

func startWriter(ctx context.Context, db *sql.DB) (*writer, error) {
	w := &writer{db: db, ops: make(chan *writeOp), quit: make(chan struct{}), exited: make(chan struct{})}
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

// doClean is do for a write that refuses (with an *apperr.Error) only
// before it has written anything: it needs no savepoint. Any other error
// it returns rolls back its whole batch.
func (w *writer) doClean(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return w.submit(ctx, &writeOp{run: fn, clean: true, done: make(chan error, 1)})
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
		for i, op := range batch {
			var fatal error
			if op.clean {
				errs[i] = op.run(ctx, tx)
				var refused *apperr.Error
				if errs[i] != nil && !errors.As(errs[i], &refused) {
					return errs[i]
				}
				continue
			}
			if errs[i], fatal = w.sp.run(ctx, tx, op.run); fatal != nil {
				return fatal
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
