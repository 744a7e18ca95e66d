package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// workerSpec is the first line a worker reads on stdin.
type workerSpec struct {
	Config Config `json:"config"`
	Index  int    `json:"index"`
	RunID  string `json:"run_id"`
}

// worker runs one share of the users in its own process.
type worker struct {
	cfg   Config
	idx   int
	parts []part
	me    part
	run   string
	log   io.Writer

	api      *api
	accounts []account // by user - me.Lo
	clients  []*client // by user - me.Lo; nil when it did not connect
	senders  []*sender
	loop     *loop
	// dmPartner[o] is the user index that may receive sender o's DMs.
	dmPartner []int

	winStart, winEnd atomic.Int64 // measurement window, unix ns (0: not yet)
	closing          atomic.Bool  // the tool is closing its connections
	closeLogs        atomic.Int64

	errMu    sync.Mutex
	errCodes map[string]int64

	setup setupReport
}

// setupReport tells the parent how logging in and connecting went.
type setupReport struct {
	Users          int      `json:"users"`
	Registered     int      `json:"registered"`
	Cached         int      `json:"cached"`
	LoggedIn       int      `json:"logged_in"`
	LoginSeconds   float64  `json:"login_s"`
	Conns          int      `json:"conns"`
	ConnectFailed  int      `json:"connect_failed"`
	ConnectErrors  []string `json:"connect_errors,omitempty"`
	ConnectSeconds float64  `json:"connect_s"`
}

// client is one user's WebSocket and what its reader goroutine saw.
type client struct {
	w     *worker
	user  int
	ws    *wsConn
	snd   *sender // when this user sends
	ready chan struct{}
	done  chan struct{}

	// Owned by the loop goroutine until done is closed.
	id           int32 // in the loop
	isReady      bool
	gone         bool     // a close frame came
	lobbySeen    []bitset // by sender ordinal
	dmSeen       map[int]*bitset
	inWindow     int64
	doubled      int64
	misdelivered int64
	foreign      int64
	other        int64
	dupAcks      int64
	lat, ackLat  *hist
	endedBy      string // why the server ended the connection ("" while open or closed by us)

	deliveries atomic.Int64 // polled while draining
}

// sender sends at a fixed rate on its user's connection.
type sender struct {
	ord    int
	c      *client
	dmConv string
	lobby  stream
	dm     stream

	// Owned by the sender goroutine.
	sentInWindow int64
	blocked      time.Duration // waiting at max-inflight
	writeErr     error
	// Owned by the reader goroutine.
	ackedInWindow int64
}

type stream struct {
	sent     atomic.Int64
	acked    bitset // reader goroutine
	ackedN   atomic.Int64
	erroredN atomic.Int64
}

func (s *sender) inflight() int64 {
	return s.lobby.sent.Load() + s.dm.sent.Load() - s.lobby.ackedN.Load() - s.lobby.erroredN.Load() - s.dm.ackedN.Load() - s.dm.erroredN.Load()
}

// workerMain is the hidden --worker entry point: it follows the parent's
// commands on in and reports on out.
func workerMain(in io.Reader, out io.Writer, logw io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		cancel() // the parent is gone: stop whatever is running
		close(lines)
	}()
	var outMu sync.Mutex
	emit := func(tag string, v any) {
		b, _ := json.Marshal(v)
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(out, "%s %s\n", tag, b)
	}
	fail := func(err error) int {
		emit("error", err.Error())
		return 1
	}
	var spec workerSpec
	if err := json.Unmarshal([]byte(<-lines), &spec); err != nil {
		return fail(fmt.Errorf("worker spec: %w", err))
	}
	w := newWorker(spec, logw)
	if dir := os.Getenv("CHATBENCH_CPUPROFILE"); dir != "" {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("worker-%d.pprof", spec.Index)))
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer f.Close()
			defer pprof.StopCPUProfile()
		}
	}
	next := func() (string, bool) {
		l, ok := <-lines
		return l, ok
	}
	if err := w.login(ctx); err != nil {
		return fail(err)
	}
	emit("loggedin", w.setup)
	if w.cfg.LoginOnly {
		emit("result", w.result(0))
		return 0
	}
	if l, ok := next(); !ok || l != "connect" {
		return fail(errors.New("parent went away"))
	}
	if err := w.connect(ctx); err != nil {
		return fail(err)
	}
	emit("ready", w.setup)
	l, ok := next()
	if !ok {
		return fail(errors.New("parent went away"))
	}
	var cpuWin, cpuStart float64
	if startNs, found := strings.CutPrefix(l, "go "); found {
		ns, _ := strconv.ParseInt(startNs, 10, 64)
		cpuWin = w.send(ctx, time.Unix(0, ns))
	} else if l == "hold" {
		if s, err := readProc("self"); err == nil {
			cpuStart = s.CPU
		}
		l, ok = next()
		if s, err := readProc("self"); err == nil {
			cpuWin = s.CPU - cpuStart // the hold only
		}
		if ok && l == "fetch" {
			emit("fetched", w.fetchPresence(ctx))
			l, ok = next()
		}
		if !ok || l != "stop" {
			return fail(errors.New("parent went away"))
		}
	}
	w.closeAll()
	emit("result", w.result(cpuWin))
	return 0
}

func newWorker(spec workerSpec, logw io.Writer) *worker {
	cfg := spec.Config
	w := &worker{cfg: cfg, idx: spec.Index, run: spec.RunID, log: logw, errCodes: map[string]int64{}}
	w.parts = layout(cfg.Users, cfg.Procs, cfg.Senders)
	w.me = w.parts[w.idx]
	n := w.me.Hi - w.me.Lo
	w.accounts = make([]account, n)
	w.clients = make([]*client, n)
	w.dmPartner = make([]int, cfg.Senders)
	for o := range w.dmPartner {
		u, pi := senderUser(w.parts, o)
		w.dmPartner[o] = partner(w.parts[pi], u)
	}
	conc := max(1, (cfg.LoginConcurrency+cfg.Procs-1)/cfg.Procs)
	w.api = newAPI(cfg.URL, cfg.SourceIPs, max(conc, 4))
	return w
}

func (w *worker) logf(format string, args ...any) {
	fmt.Fprintf(w.log, "[w%d] %s\n", w.idx, fmt.Sprintf(format, args...))
}

// parallel runs f(i) for i in [0, n) with at most conc at a time and
// returns the first error.
func parallel(ctx context.Context, n, conc int, f func(i int) error) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		nextI    atomic.Int64
	)
	for range min(conc, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(nextI.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// login registers (when needed) and logs in this worker's users, reusing
// cached sessions, then opens the senders' direct conversations.
func (w *worker) login(ctx context.Context) error {
	start := time.Now()
	var cache *cookieCache
	if w.cfg.CookieCache {
		cache = openCookieCache(w.cfg.URL, w.cfg.UserPrefix)
		defer cache.close()
	}
	var registered, cached, logged atomic.Int64
	conc := max(1, (w.cfg.LoginConcurrency+w.cfg.Procs-1)/w.cfg.Procs)
	n := len(w.accounts)
	// Verifying a cached session is cheap: do those with more concurrency.
	err := parallel(ctx, n, conc*4, func(i int) error {
		u := w.me.Lo + i
		name := w.cfg.username(u)
		if a, ok := cache.get(name); ok {
			id, valid, err := w.api.me(ctx, u, a.Cookie)
			if err != nil {
				return fmt.Errorf("check session of %s: %w", name, err)
			}
			if valid && id == a.UserID {
				w.accounts[i] = a
				cached.Add(1)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	lastLog := time.Now()
	err = parallel(ctx, n, conc, func(i int) error {
		if w.accounts[i].Cookie != "" {
			return nil
		}
		u := w.me.Lo + i
		name := w.cfg.username(u)
		// Register first: for an existing user the server answers 409
		// before hashing anything.
		created, err := w.api.register(ctx, u, name, w.cfg.Password)
		if err != nil {
			return err
		}
		if created {
			registered.Add(1)
		}
		a, err := w.api.login(ctx, u, name, w.cfg.Password)
		var e *apiError
		if errors.As(err, &e) && e.Code == "invalid_credentials" {
			return fmt.Errorf("%s exists with another password: use another --user-prefix or --password", name)
		}
		if err != nil {
			return err
		}
		w.accounts[i] = a
		cache.put(a)
		if c := logged.Add(1); c%500 == 0 && time.Since(lastLog) > 5*time.Second {
			w.logf("logged in %d of %d", c+cached.Load(), n)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Direct conversations of the senders here, with their partners.
	if w.cfg.DMRatio > 0 && w.me.Senders > 0 {
		w.senders = make([]*sender, w.me.Senders)
		err = parallel(ctx, w.me.Senders, conc*4, func(i int) error {
			u := w.me.Lo + i
			p := partner(w.me, u)
			conv, err := w.api.direct(ctx, u, w.accounts[i].Cookie, w.accounts[p-w.me.Lo].UserID)
			if err != nil {
				return fmt.Errorf("%s: %w", w.accounts[i].Username, err)
			}
			w.senders[i] = &sender{ord: w.me.SenderBase + i, dmConv: conv}
			return nil
		})
		if err != nil {
			return err
		}
	}
	w.api.closeIdle()
	w.setup.Users = n
	w.setup.Registered = int(registered.Load())
	w.setup.Cached = int(cached.Load())
	w.setup.LoggedIn = int(logged.Load())
	w.setup.LoginSeconds = time.Since(start).Seconds()
	return nil
}

// connect opens every user's WebSocket and waits for its ready frame.
func (w *worker) connect(ctx context.Context) error {
	start := time.Now()
	u, err := url.Parse(w.cfg.URL)
	if err != nil {
		return err
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	if w.loop, err = newLoop(w.cfg.ReadBuffer); err != nil {
		return err
	}
	if w.senders == nil {
		w.senders = make([]*sender, w.me.Senders)
	}
	for i := range w.senders {
		if w.senders[i] == nil {
			w.senders[i] = &sender{ord: w.me.SenderBase + i}
		}
	}
	var pace <-chan time.Time
	if w.cfg.ConnectRate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) * float64(w.cfg.Procs) / w.cfg.ConnectRate))
		defer t.Stop()
		pace = t.C
	}
	var paceMu sync.Mutex
	var mu sync.Mutex
	var connected atomic.Int64
	lastLog := time.Now()
	_ = parallel(ctx, len(w.clients), w.cfg.ConnectConcurrency, func(i int) error {
		if pace != nil {
			paceMu.Lock()
			<-pace
			paceMu.Unlock()
		}
		c := newClient(w, w.me.Lo+i)
		if i < len(w.senders) {
			c.snd = w.senders[i] // its sender runs only once connected (below)
		}
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		ws, err := dialWS(dctx, addr, u.Host, "/ws", w.cfg.URL, w.accounts[i].Cookie)
		if err == nil {
			c.ws = ws
			w.loop.do(func() { w.loop.add(c) })
			select {
			case <-c.ready:
			case <-c.done:
				err = fmt.Errorf("closed before ready: %s", c.endedBy)
			case <-dctx.Done():
				err = errors.New("no ready frame within 30 s")
				w.loop.do(func() { w.loop.remove(c, err) })
				<-c.done
			}
		}
		if err != nil {
			mu.Lock()
			w.setup.ConnectFailed++
			if len(w.setup.ConnectErrors) < 5 {
				w.setup.ConnectErrors = append(w.setup.ConnectErrors, fmt.Sprintf("%s: %v", w.accounts[i].Username, err))
			}
			mu.Unlock()
			return nil
		}
		w.clients[i] = c
		if c.snd != nil {
			c.snd.c = c
		}
		if n := connected.Add(1); n%1000 == 0 && time.Since(lastLog) > 5*time.Second {
			w.logf("connected %d of %d", n, len(w.clients))
		}
		return nil
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	w.setup.Conns = int(connected.Load())
	w.setup.ConnectSeconds = time.Since(start).Seconds()
	return nil
}

// onFrame handles one frame in the loop goroutine; false stops reading.
func (c *client) onFrame(op byte, p []byte) bool {
	switch op {
	case opText:
		if c.onText(p) && !c.isReady {
			c.isReady = true
			close(c.ready)
		}
	case opPing:
		_ = c.ws.writeControl(opPong, p)
	case opClose:
		code, reason := 1005, ""
		if len(p) >= 2 {
			code, reason = int(binary.BigEndian.Uint16(p)), string(p[2:])
		}
		if !c.w.closing.Load() {
			c.endedBy = strconv.Itoa(code)
			if c.w.closeLogs.Add(1) <= 5 {
				c.w.logf("%s closed by the server: %d %s", c.w.cfg.username(c.user), code, reason)
			}
		}
		_ = c.ws.writeControl(opClose, p[:min(len(p), 2)])
		c.gone = true
		return false
	}
	return true
}

// read is read(2) on the socket, for the loop.
func (c *client) read(b []byte) (int, error) { return c.ws.recv(b) }

// onText handles one JSON frame; it reports whether it was the ready frame.
func (c *client) onText(p []byte) bool {
	w := c.w
	switch string(frameType(p)) {
	case "message":
		id, ours, ok := parseText(p, w.run)
		if !ok || !ours {
			c.foreign++
			return false
		}
		var seen *bitset
		if id.stream == 'd' {
			if id.ord >= len(w.dmPartner) || w.dmPartner[id.ord] != c.user {
				c.misdelivered++
				return false
			}
			seen = c.dmSeen[id.ord]
			if seen == nil {
				seen = new(bitset)
				c.dmSeen[id.ord] = seen
			}
		} else {
			if id.ord >= w.cfg.Senders {
				c.misdelivered++
				return false
			}
			if c.lobbySeen == nil {
				c.lobbySeen = make([]bitset, w.cfg.Senders)
			}
			seen = &c.lobbySeen[id.ord]
		}
		if seen.set(id.n) {
			c.doubled++
			return false
		}
		c.deliveries.Add(1)
		now := c.ws.fr.readAt.UnixNano()
		if now >= w.winStart.Load() && now < w.winEnd.Load() {
			c.inWindow++
		}
		if id.sentNs >= w.winStart.Load() && id.sentNs < w.winEnd.Load() {
			if c.lat == nil {
				c.lat = new(hist)
			}
			c.lat.add(uint64(max(now-id.sentNs, 0)) / 1000)
		}
	case "ack":
		id, ours, ok := parseText(p, w.run)
		if !ok || !ours || c.snd == nil || id.ord != c.snd.ord {
			c.foreign++
			return false
		}
		st := &c.snd.lobby
		if id.stream == 'd' {
			st = &c.snd.dm
		}
		if st.acked.set(id.n) {
			c.dupAcks++
			return false
		}
		st.ackedN.Add(1)
		now := c.ws.fr.readAt.UnixNano()
		if now >= w.winStart.Load() && now < w.winEnd.Load() {
			c.snd.ackedInWindow++
		}
		if id.sentNs >= w.winStart.Load() && id.sentNs < w.winEnd.Load() {
			if c.ackLat == nil {
				c.ackLat = new(hist)
			}
			c.ackLat.add(uint64(max(now-id.sentNs, 0)) / 1000)
		}
	case "error":
		code := string(stringAt(p, codeKey))
		if id, ok := parseClientID(stringAt(p, clientIDKey), w.run); ok && c.snd != nil && id.ord == c.snd.ord {
			if id.stream == 'd' {
				c.snd.dm.erroredN.Add(1)
			} else {
				c.snd.lobby.erroredN.Add(1)
			}
		} else {
			code = "other:" + code
		}
		w.errMu.Lock()
		w.errCodes[code]++
		w.errMu.Unlock()
	case "ready":
		return true
	default:
		c.other++
	}
	return false
}

// send runs the senders from start: warmup, the measured window, then a
// drain until every send is answered and deliveries stop. It returns this
// process's CPU seconds in the window.
func (w *worker) send(ctx context.Context, start time.Time) float64 {
	winStart := start.Add(w.cfg.Warmup)
	winEnd := winStart.Add(w.cfg.Duration)
	w.winStart.Store(winStart.UnixNano())
	w.winEnd.Store(winEnd.UnixNano())
	var wg sync.WaitGroup
	if w.cfg.Senders > 0 {
		perSender := w.cfg.Rate / float64(w.cfg.Senders)
		for _, s := range w.senders {
			if s.c == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.run(ctx, start, winStart, winEnd, perSender)
			}()
		}
	}
	sleepUntil(ctx, winStart)
	cpu0, _ := readProc("self")
	sleepUntil(ctx, winEnd)
	cpu1, _ := readProc("self")
	wg.Wait()

	// Drain: every send answered (ack or error), then no delivery for 1 s.
	deadline := time.Now().Add(w.cfg.Drain)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var inflight int64
		for _, s := range w.senders {
			if s.c != nil {
				inflight += s.inflight()
			}
		}
		if inflight == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	last, quiet := int64(-1), 0
	for time.Now().Before(deadline) && ctx.Err() == nil && quiet < 4 {
		var n int64
		for _, c := range w.clients {
			if c != nil {
				n += c.deliveries.Load()
			}
		}
		if n == last {
			quiet++
		} else {
			quiet = 0
		}
		last = n
		time.Sleep(250 * time.Millisecond)
	}
	return cpu1.CPU - cpu0.CPU
}

func sleepUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// run sends on a schedule of perSender messages a second, staggered by
// ordinal so senders do not fire together. Sends due at the same moment go
// out in one write(); a sender with max-inflight unanswered sends waits.
func (s *sender) run(ctx context.Context, start, winStart, winEnd time.Time, perSender float64) {
	w := s.c.w
	interval := float64(time.Second) / perSender
	offset := time.Duration(interval * float64(s.ord) / float64(w.cfg.Senders))
	t0 := start.Add(offset)
	var k int64 // sends done (= index of the next scheduled send)
	var payload, frames []byte
	ratio := w.cfg.DMRatio
	maxIn := int64(w.cfg.MaxInflight)
	for ctx.Err() == nil {
		now := time.Now()
		if !now.Before(winEnd) {
			return
		}
		due := int64(0)
		if el := now.Sub(t0); el >= 0 {
			due = int64(float64(el)/interval) + 1 - k
		}
		if due > 0 {
			room := maxIn - s.inflight()
			nb := min(due, room, 64)
			if nb <= 0 {
				t := time.Now()
				time.Sleep(time.Millisecond)
				s.blocked += time.Since(t)
				continue
			}
			frames = frames[:0]
			ts := time.Now().UnixNano()
			for range nb {
				// Send k is a DM when the running share of DMs crosses an integer.
				st, stream, conv := &s.lobby, byte('l'), "lobby"
				if ratio > 0 && int64(float64(k+1)*ratio) > int64(float64(k)*ratio) {
					st, stream, conv = &s.dm, 'd', s.dmConv
				}
				n := st.sent.Load()
				payload = appendSendFrame(payload[:0], w.run, conv, s.ord, stream, n, ts, w.cfg.Size)
				frames = appendClientFrame(frames, opText, payload, maskKey())
				st.sent.Add(1)
				k++
			}
			if ts >= winStart.UnixNano() {
				s.sentInWindow += nb
			}
			if err := s.c.ws.write(frames); err != nil {
				s.writeErr = err
				return
			}
			continue
		}
		next := t0.Add(time.Duration(float64(k) * interval))
		sleepUntil(ctx, next)
	}
}

// closeAll stops reading and closes every connection.
func (w *worker) closeAll() {
	w.closing.Store(true)
	if w.loop == nil {
		return
	}
	w.loop.stop()
	for _, c := range w.clients {
		if c != nil {
			c.ws.closeWith(1000)
		}
	}
}

func newClient(w *worker, user int) *client {
	return &client{w: w, user: user, id: -1, ready: make(chan struct{}), done: make(chan struct{}), dmSeen: map[int]*bitset{}}
}

// workerResult is what a worker reports at the end.
type workerResult struct {
	Index int         `json:"index"`
	Setup setupReport `json:"setup"`

	Sent          int64            `json:"sent"`
	SentInWindow  int64            `json:"sent_in_window"`
	Acked         int64            `json:"acked"`
	AckedInWindow int64            `json:"acked_in_window"`
	Errored       int64            `json:"errored"`
	BlockedS      float64          `json:"blocked_s"`
	WriteErrors   int              `json:"write_errors"`
	Errors        map[string]int64 `json:"errors,omitempty"`

	Deliveries         int64            `json:"deliveries"`
	DeliveriesInWindow int64            `json:"deliveries_in_window"`
	Doubled            int64            `json:"doubled"`
	Misdelivered       int64            `json:"misdelivered"`
	Foreign            int64            `json:"foreign"`
	Other              int64            `json:"other_frames"`
	DupAcks            int64            `json:"dup_acks"`
	Ended              map[string]int64 `json:"ended,omitempty"`

	Latency    histData `json:"latency"`
	AckLatency histData `json:"ack_latency"`

	Streams []streamReport    `json:"streams,omitempty"`
	Seen    map[string][]byte `json:"seen,omitempty"` // stream key → uint16 LE count of receivers here per n

	CPUWindow float64 `json:"cpu_window_s"`
	CPUTotal  float64 `json:"cpu_total_s"`
	RSSKiB    int64   `json:"rss_kib"`
}

// streamReport is one sender stream as its owner saw it.
type streamReport struct {
	Key    string `json:"key"` // "<ordinal>l" or "<ordinal>d"
	Sent   int64  `json:"sent"`
	Acked  []byte `json:"acked"`  // bitset
	Expect int    `json:"expect"` // deliveries per message: -1 for "every other connection"
}

func streamKey(ord int, stream byte) string { return strconv.Itoa(ord) + string(stream) }

// result gathers everything after the readers have stopped.
func (w *worker) result(cpuWindow float64) workerResult {
	r := workerResult{Index: w.idx, Setup: w.setup, Errors: w.errCodes, Ended: map[string]int64{}, Seen: map[string][]byte{}, CPUWindow: cpuWindow}
	var lat, ackLat merged
	counts := map[string][]uint16{}
	add := func(key string, b bitset) {
		cs := counts[key]
		b.each(func(n int) {
			if n >= len(cs) {
				cs = append(cs, make([]uint16, n+1-len(cs))...)
			}
			cs[n]++
		})
		counts[key] = cs
	}
	for _, c := range w.clients {
		if c == nil {
			continue
		}
		r.Deliveries += c.deliveries.Load()
		r.DeliveriesInWindow += c.inWindow
		r.Doubled += c.doubled
		r.Misdelivered += c.misdelivered
		r.Foreign += c.foreign
		r.Other += c.other
		r.DupAcks += c.dupAcks
		if c.endedBy != "" {
			r.Ended[c.endedBy]++
		}
		lat.addHist(c.lat)
		ackLat.addHist(c.ackLat)
		for o, b := range c.lobbySeen {
			if len(b) > 0 {
				add(streamKey(o, 'l'), b)
			}
		}
		for o, b := range c.dmSeen {
			add(streamKey(o, 'd'), *b)
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cs := counts[k]
		b := make([]byte, 2*len(cs))
		for i, x := range cs {
			binary.LittleEndian.PutUint16(b[2*i:], x)
		}
		r.Seen[k] = b
	}
	r.Latency, r.AckLatency = lat.data(), ackLat.data()
	for i, s := range w.senders {
		if s.c == nil {
			continue
		}
		r.Sent += s.lobby.sent.Load() + s.dm.sent.Load()
		r.SentInWindow += s.sentInWindow
		r.Acked += s.lobby.ackedN.Load() + s.dm.ackedN.Load()
		r.AckedInWindow += s.ackedInWindow
		r.Errored += s.lobby.erroredN.Load() + s.dm.erroredN.Load()
		r.BlockedS += s.blocked.Seconds()
		if s.writeErr != nil {
			r.WriteErrors++
		}
		if n := s.lobby.sent.Load(); n > 0 {
			r.Streams = append(r.Streams, streamReport{Key: streamKey(s.ord, 'l'), Sent: n, Acked: s.lobby.acked.bytes(), Expect: -1})
		}
		if n := s.dm.sent.Load(); n > 0 {
			expect := 0
			if p := partner(w.me, w.me.Lo+i); p >= 0 && w.clients[p-w.me.Lo] != nil {
				expect = 1
			}
			r.Streams = append(r.Streams, streamReport{Key: streamKey(s.ord, 'd'), Sent: n, Acked: s.dm.acked.bytes(), Expect: expect})
		}
	}
	if s, err := readProc("self"); err == nil {
		r.CPUTotal, r.RSSKiB = s.CPU, s.RSSKiB
	}
	return r
}

// runWorkerProcess is main for `chatbench --worker`.
func runWorkerProcess() int {
	return workerMain(os.Stdin, os.Stdout, os.Stderr)
}

// fetchReport is one worker's GET /api/presence fetches.
type fetchReport struct {
	fetchCounts
	Latency histData `json:"latency"`
}

// fetchPresence has every user of this worker fetch the online list once,
// its share of --fetch-concurrency at a time.
func (w *worker) fetchPresence(ctx context.Context) fetchReport {
	conc := max(1, (w.cfg.FetchConcurrency+w.cfg.Procs-1)/w.cfg.Procs)
	var (
		mu  sync.Mutex
		rep fetchReport
		lat hist
	)
	_ = parallel(ctx, len(w.accounts), conc, func(i int) error {
		start := time.Now()
		n, gz, err := w.api.presence(ctx, w.me.Lo+i, w.accounts[i].Cookie)
		took := time.Since(start)
		one := fetchCounts{Fetches: 1, Bytes: n}
		if err != nil {
			one = fetchCounts{Fetches: 1, Failed: 1, Errors: []string{err.Error()}}
		} else if gz {
			one.Gzipped = 1
		}
		mu.Lock()
		defer mu.Unlock()
		rep.add(one)
		if err == nil {
			lat.add(uint64(took.Microseconds()))
		}
		return nil
	})
	var m merged
	m.addHist(&lat)
	rep.Latency = m.data()
	return rep
}
