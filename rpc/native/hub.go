package native

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/gorilla/websocket"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/rpc/internal/stamp"
	"github.com/satnode/satnode/utxo"
)

// closeGrace is how long a closing connection gets to take the close
// handshake (and, on Close, how long before connections are cut).
const closeGrace = time.Second

// StreamStats are the stream's counters, for metrics and tests.
type StreamStats struct {
	// Connections are the open stream connections; Subscriptions the
	// script hashes they follow, summed over connections.
	Connections, Subscriptions int64
	// Events are the commit events dispatched.
	Events uint64
	// SlowClosed counts connections closed for not keeping up; Lagged the
	// times the dispatcher itself fell behind the views and closed every
	// connection.
	SlowClosed, Lagged uint64
}

// StreamStats returns the stream's counters.
func (h *Handler) StreamStats() StreamStats {
	s := &h.hub.stats
	return StreamStats{Connections: s.conns.Load(), Subscriptions: s.subs.Load(), Events: s.events.Load(),
		SlowClosed: s.slow.Load(), Lagged: s.lagged.Load()}
}

type reqKind int

const (
	reqJoin reqKind = iota
	reqLeave
	reqSubscribe
	reqUnsubscribe
)

// request is what a connection's reader asks of the dispatcher: every
// change to who follows what goes through the dispatcher, so that it is
// ordered with the events.
type request struct {
	c     *conn
	kind  reqKind
	id    json.RawMessage
	items []item
}

// item is one script hash to follow; addr is the address it was given
// as, "" if given as a script hash.
type item struct {
	sh   [32]byte
	addr string
}

// hub is the stream's fan-out: one subscription to the views and one
// dispatcher goroutine that turns each event into messages for the
// connections following the script hashes it touches.
type hub struct {
	h        *Handler
	opts     *Options
	upgrader websocket.Upgrader
	reqs     chan request
	done     chan struct{} // closed by close
	stopped  chan struct{} // closed when the dispatcher has returned
	net      atomic.Pointer[chaincfg.Params]

	mu     sync.Mutex
	closed bool
	live   map[*conn]struct{} // connections whose goroutines run
	wg     sync.WaitGroup     // their readers and writers
	once   sync.Once

	stats struct {
		conns, subs          atomic.Int64
		events, slow, lagged atomic.Uint64
	}

	// Owned by the dispatcher goroutine.
	sub   *app.Subscription
	conns map[*conn]struct{}
	index map[[32]byte]map[*conn]struct{}
	// tip is the state after the last event dispatched, nil before one.
	tip *stamp.At
	// ended: the views were closed (the node is shutting down), so no
	// event will come again; connections are turned away.
	ended bool
}

func newHub(h *Handler) *hub {
	hb := &hub{
		h: h, opts: &h.opts, reqs: make(chan request, 64), done: make(chan struct{}), stopped: make(chan struct{}),
		live: map[*conn]struct{}{}, conns: map[*conn]struct{}{}, index: map[[32]byte]map[*conn]struct{}{},
	}
	hb.upgrader = websocket.Upgrader{
		// The API serves public chain data read-only and takes no
		// credentials, so a page from any origin may use it.
		CheckOrigin: func(*http.Request) bool { return true },
		Error: func(w http.ResponseWriter, _ *http.Request, status int, reason error) {
			writeError(w, nil, errorf(status, "websocket: %v", reason))
		},
	}
	hb.sub = h.views.Subscribe(hb.opts.EventBuffer)
	go hb.run()
	return hb
}

func (hb *hub) run() {
	defer close(hb.stopped)
	for {
		select {
		case <-hb.done:
			hb.sub.Close()
			for c := range hb.conns {
				hb.drop(c)
			}
			return
		case ev, ok := <-hb.events():
			if !ok {
				hb.subscriptionClosed()
				continue
			}
			hb.dispatch(ev)
		case r := <-hb.reqs:
			hb.handle(r)
		}
	}
}

// events is the subscription's channel, nil (never ready) once ended.
func (hb *hub) events() <-chan *app.Event {
	if hb.ended {
		return nil
	}
	return hb.sub.C
}

// subscriptionClosed handles the end of the views subscription: a lag, or
// the views closing at node shutdown, when every connection is closed
// with 1001 and the stream stays silent until Close.
func (hb *hub) subscriptionClosed() {
	if hb.sub.Lagged() {
		hb.lag()
		return
	}
	hb.ended = true
	for c := range hb.conns {
		hb.refuse(c)
		hb.drop(c)
	}
}

// refuse closes c because the stream cannot serve it: after a lag, or
// once ended.
func (hb *hub) refuse(c *conn) {
	if hb.ended {
		c.kill(websocket.CloseGoingAway, "node shutting down", true)
		return
	}
	c.enqueue(encode(errorMsg{Type: msgError,
		Error: "lagged: the server fell behind the chain and lost events; reconnect and resubscribe"}))
	c.kill(websocket.CloseTryAgainLater, "server fell behind the chain; reconnect", true)
}

// lag handles a views subscription cut off for falling behind: events
// are lost, so every connection is told and closed (after what was queued
// for it, which is still correct), and a fresh subscription serves the
// connections that come next.
func (hb *hub) lag() {
	hb.stats.lagged.Add(1)
	hb.h.log.Warn("native: stream dispatcher fell behind the commits; closing every stream connection",
		"connections", len(hb.conns))
	for c := range hb.conns {
		// What was queued before is still correct, as far as it goes.
		hb.refuse(c)
		hb.drop(c)
	}
	hb.sub = hb.h.views.Subscribe(hb.opts.EventBuffer)
	hb.tip = nil
}

// send queues msg for c, closing c if its queue is full: a client that
// cannot keep up must not hold back the others.
func (hb *hub) send(c *conn, msg []byte) {
	if c.enqueue(msg) {
		return
	}
	hb.stats.slow.Add(1)
	hb.h.log.Info("native: closing a stream client that does not keep up", "remote", c.remote)
	c.kill(websocket.ClosePolicyViolation, "client too slow: message queue full", false)
	hb.drop(c)
}

// drop forgets c; its goroutines end on their own once it is killed.
func (hb *hub) drop(c *conn) {
	if _, ok := hb.conns[c]; !ok {
		return
	}
	delete(hb.conns, c)
	hb.stats.conns.Add(-1)
	for sh := range c.subs {
		hb.unindex(c, sh)
	}
	hb.stats.subs.Add(-int64(len(c.subs)))
	c.subs = nil
}

func (hb *hub) unindex(c *conn, sh [32]byte) {
	if cs := hb.index[sh]; cs != nil {
		delete(cs, c)
		if len(cs) == 0 {
			delete(hb.index, sh)
		}
	}
}

func (hb *hub) dispatch(ev *app.Event) {
	hb.stats.events.Add(1)
	at := stamp.At{Height: ev.Tip.Height, Hash: ev.Tip.Hash.String(), ChainHeight: ev.Height}
	for _, b := range ev.Blocks {
		if len(hb.conns) == 0 {
			break
		}
		msg := blockMsgOf(b, at)
		for c := range hb.conns {
			hb.send(c, msg)
		}
		if len(hb.index) > 0 {
			hb.dispatchCoins(b)
		}
	}
	hb.tip = &at
}

// dispatchCoins sends one message per followed script hash the block
// touched, to each of its followers, in the order the block first touched
// them.
func (hb *hub) dispatchCoins(b *utxo.BlockChange) {
	var order [][32]byte
	seen := map[[32]byte]*touched{}
	get := func(sh [32]byte) *touched {
		t := seen[sh]
		if t == nil {
			t = &touched{}
			seen[sh] = t
			order = append(order, sh)
		}
		return t
	}
	for i := range b.Created {
		cc := &b.Created[i]
		if _, ok := hb.index[cc.ScriptHash]; ok {
			t := get(cc.ScriptHash)
			t.added = append(t.added, coinOf(cc, false))
		}
	}
	for i := range b.Spent {
		cc := &b.Spent[i]
		if _, ok := hb.index[cc.ScriptHash]; ok {
			t := get(cc.ScriptHash)
			// A coin a disconnect restores is unspent again: no spender.
			t.taken = append(t.taken, coinOf(cc, b.Connected))
		}
	}
	for _, sh := range order {
		// Followers differ only in the address they subscribed with.
		byLabel := map[string][]byte{}
		for c := range hb.index[sh] {
			label := c.subs[sh]
			msg, ok := byLabel[label]
			if !ok {
				msg = scriptHashMsg(b, sh, label, seen[sh])
				byLabel[label] = msg
			}
			hb.send(c, msg)
		}
	}
}

// position returns the state from which a connection or subscription
// starts: after it returns, every event up to that state has been
// dispatched and every later one will be. Events are published with their
// view under the views' lock, so all events up to the latest view are in
// the subscription's buffer by the time Acquire returns it; they are
// dispatched here, before the caller starts following anything. The state
// is nil before the first commit. ok is false if the subscription turned
// out to have lagged or ended: every registered connection is closed, and
// the caller must refuse its own.
func (hb *hub) position() (at *stamp.At, ok bool) {
	if hb.ended {
		return nil, false
	}
	v, err := hb.h.views.Acquire()
	if err != nil {
		// No view yet, so no event either: the stream starts from
		// nothing (or from the last event, should one have come since).
		return hb.tip, true
	}
	defer v.Release()
	if v.Params != nil {
		hb.net.CompareAndSwap(nil, v.Params.Chain)
	}
	// Bounded by the buffer: everything up to v is in it already.
drain:
	for range cap(hb.sub.C) {
		if hb.tip != nil && hb.tip.ChainHeight >= v.Height {
			break
		}
		select {
		case ev, ok := <-hb.sub.C:
			if !ok {
				hb.subscriptionClosed()
				return nil, false
			}
			hb.dispatch(ev)
		default:
			break drain
		}
	}
	if hb.tip != nil && hb.tip.ChainHeight >= v.Height {
		t := *hb.tip
		return &t, true
	}
	t := stamp.Of(v)
	return &t, true
}

func (hb *hub) handle(r request) {
	c := r.c
	if r.kind == reqLeave {
		hb.drop(c)
		return
	}
	if c.isDead() {
		return
	}
	switch r.kind {
	case reqJoin:
		at, ok := hb.position()
		if !ok {
			hb.refuse(c)
			return
		}
		hb.conns[c] = struct{}{}
		hb.stats.conns.Add(1)
		hb.send(c, encode(helloMsg{Type: msgHello, At: at, MaxSubscriptions: hb.opts.MaxSubscriptions}))
	case reqSubscribe:
		hb.subscribe(r)
	case reqUnsubscribe:
		hb.unsubscribe(r)
	}
}

func (hb *hub) subscribe(r request) {
	c := r.c
	if _, ok := hb.conns[c]; !ok {
		return
	}
	added := 0
	for _, it := range r.items {
		if _, ok := c.subs[it.sh]; !ok {
			added++
		}
	}
	if n := len(c.subs) + added; n > hb.opts.MaxSubscriptions {
		hb.send(c, encode(errorMsg{Type: msgError, ID: r.id, Op: opSubscribe,
			Error: errTooMany(len(c.subs), added, hb.opts.MaxSubscriptions)}))
		return
	}
	// The new script hashes are followed from here on: events up to now
	// are dispatched before they enter the index.
	at, ok := hb.position()
	if _, in := hb.conns[c]; !ok || !in {
		return // closed by a lag or the end, or as too slow for what was drained
	}
	for _, it := range r.items {
		old, ok := c.subs[it.sh]
		if !ok {
			hb.stats.subs.Add(1)
			if hb.index[it.sh] == nil {
				hb.index[it.sh] = map[*conn]struct{}{}
			}
			hb.index[it.sh][c] = struct{}{}
		}
		// An address label, once given, is kept: the client asked to
		// see that address in the messages.
		if !ok || old == "" {
			c.subs[it.sh] = it.addr
		}
	}
	reply := replyOf(msgSubscribed, r, len(c.subs))
	reply.At = at
	hb.send(c, encode(reply))
}

func (hb *hub) unsubscribe(r request) {
	c := r.c
	if _, ok := hb.conns[c]; !ok {
		return
	}
	for _, it := range r.items {
		if _, ok := c.subs[it.sh]; ok {
			delete(c.subs, it.sh)
			hb.unindex(c, it.sh)
			hb.stats.subs.Add(-1)
		}
	}
	hb.send(c, encode(replyOf(msgUnsubscribed, r, len(c.subs))))
}

func replyOf(typ string, r request, count int) *subscribedMsg {
	m := &subscribedMsg{Type: typ, ID: r.id, ScriptHashes: []string{}, Addresses: []addressJSON{},
		Subscriptions: count}
	for _, it := range r.items {
		sh := hex.EncodeToString(it.sh[:])
		if it.addr == "" {
			m.ScriptHashes = append(m.ScriptHashes, sh)
		} else {
			m.Addresses = append(m.Addresses, addressJSON{Address: it.addr, ScriptHash: sh})
		}
	}
	return m
}

// ask hands a request to the dispatcher; false if the handler is closing
// or (except for leave, which must always get through) c is dead.
func (hb *hub) ask(r request) bool {
	dead := r.c.dead
	if r.kind == reqLeave {
		dead = nil // a nil channel never fires
	}
	select {
	case hb.reqs <- r:
		return true
	case <-hb.done:
		return false
	case <-dead:
		return false
	}
}

// close stops the dispatcher, then the connections: each gets a going-away
// close frame and closeGrace to answer; any still running after twice that
// (a writer stuck on a client that does not read) is cut.
func (hb *hub) close() {
	hb.once.Do(func() {
		hb.mu.Lock()
		hb.closed = true
		hb.mu.Unlock()
		close(hb.done)
		<-hb.stopped
		finished := make(chan struct{})
		go func() { hb.wg.Wait(); close(finished) }()
		t := time.NewTimer(2 * closeGrace)
		defer t.Stop()
		select {
		case <-finished:
			return
		case <-t.C:
		}
		hb.mu.Lock()
		for c := range hb.live {
			_ = c.ws.NetConn().Close()
		}
		hb.mu.Unlock()
		<-finished
	})
}
