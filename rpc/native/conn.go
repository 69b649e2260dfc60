package native

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/gorilla/websocket"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/utxo/query"
)

// maxBadMessages is how many messages in a row that are not JSON text a
// connection may send before it is closed: one is a client bug worth an
// error reply, a run of them is a client speaking another protocol.
const maxBadMessages = 5

// conn is one stream connection: the reader runs in the HTTP handler's
// goroutine, the writer in its own, and the dispatcher feeds the writer
// through a bounded queue.
type conn struct {
	hb     *hub
	ws     *websocket.Conn
	remote string
	send   chan []byte
	// dead is closed by kill; code, text and drain say how to close.
	dead  chan struct{}
	once  sync.Once
	code  int
	text  string
	drain bool
	// readDone is closed when the reader has returned.
	readDone chan struct{}
	// subs maps each followed script hash to the address it was given as
	// ("" if given as a hash). Owned by the dispatcher.
	subs map[[32]byte]string
}

// enqueue queues msg without blocking; false if the queue is full. A dead
// connection takes (and ignores) anything.
func (c *conn) enqueue(msg []byte) bool {
	if c.isDead() {
		return true
	}
	select {
	case c.send <- msg:
		return true
	default:
		return false
	}
}

func (c *conn) isDead() bool {
	select {
	case <-c.dead:
		return true
	default:
		return false
	}
}

// kill asks the writer to close the connection: with a close frame of
// code and text unless code is 0, after writing what is still queued if
// drain. Only the first kill counts.
func (c *conn) kill(code int, text string, drain bool) {
	c.once.Do(func() {
		c.code, c.text, c.drain = code, text, drain
		close(c.dead)
	})
}

// serveStream upgrades to a websocket and runs the connection's reader
// until the client goes away or the connection is killed.
func (hb *hub) serveStream(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		writeError(w, nil, errorf(http.StatusMethodNotAllowed, "method %s not allowed", r.Method))
		return
	}
	// Registering under the lock, before Close waits, is what lets Close
	// wait for every connection.
	hb.mu.Lock()
	if hb.closed {
		hb.mu.Unlock()
		writeError(w, nil, errorf(http.StatusServiceUnavailable, "%v", ErrClosed))
		return
	}
	hb.wg.Add(2)
	hb.mu.Unlock()
	ws, err := hb.upgrader.Upgrade(w, r, nil)
	if err != nil {
		hb.wg.Add(-2)
		return // the upgrader has answered
	}
	c := &conn{hb: hb, ws: ws, remote: r.RemoteAddr, send: make(chan []byte, hb.opts.QueueLen),
		dead: make(chan struct{}), readDone: make(chan struct{}), subs: map[[32]byte]string{}}
	hb.mu.Lock()
	hb.live[c] = struct{}{}
	hb.mu.Unlock()
	go c.writeLoop()
	defer hb.wg.Done()
	c.readLoop()
}

// pongWait is how long the reader waits for anything from the client: a
// ping cycle, with room for a writer held up by a slow write.
func (o *Options) pongWait() time.Duration { return 2*o.PingInterval + o.WriteTimeout }

func (c *conn) readLoop() {
	hb, ws := c.hb, c.ws
	defer func() {
		close(c.readDone)
		hb.ask(request{c: c, kind: reqLeave})
		c.kill(0, "", false)
	}()
	ws.SetReadLimit(hb.opts.ReadLimit)
	extend := func() { _ = ws.SetReadDeadline(time.Now().Add(hb.opts.pongWait())) }
	extend()
	ws.SetPongHandler(func(string) error { extend(); return nil })
	if !hb.ask(request{c: c, kind: reqJoin}) {
		return
	}
	bad := 0
	for !c.isDead() {
		typ, data, err := ws.ReadMessage()
		if err != nil {
			// The client left, broke the protocol, sent too big a
			// frame (gorilla has sent 1009) or stopped answering.
			return
		}
		extend()
		if typ != websocket.TextMessage || !json.Valid(data) {
			bad++
			if bad >= maxBadMessages {
				c.reply(errorMsg{Type: msgError, Error: "too many messages that are not JSON text"})
				c.kill(websocket.CloseInvalidFramePayloadData, "too many messages that are not JSON text", true)
				return
			}
			c.reply(errorMsg{Type: msgError, Error: "messages must be JSON text"})
			continue
		}
		bad = 0
		c.handleMessage(data)
	}
}

// reply queues an answer from the reader (errors found before the
// dispatcher is involved).
func (c *conn) reply(m any) {
	if !c.enqueue(encode(m)) {
		c.hb.stats.slow.Add(1)
		c.kill(websocket.ClosePolicyViolation, "client too slow: message queue full", false)
	}
}

func (c *conn) handleMessage(data []byte) {
	var m clientMsg
	if err := json.Unmarshal(data, &m); err != nil {
		c.reply(errorMsg{Type: msgError, Error: "bad message: " + err.Error()})
		return
	}
	var kind reqKind
	switch m.Op {
	case opSubscribe:
		kind = reqSubscribe
	case opUnsubscribe:
		kind = reqUnsubscribe
	default:
		c.reply(errorMsg{Type: msgError, ID: m.ID, Op: m.Op,
			Error: fmt.Sprintf("unknown op %q: want %q or %q", m.Op, opSubscribe, opUnsubscribe)})
		return
	}
	items, err := c.hb.parse(&m)
	if err != nil {
		c.reply(errorMsg{Type: msgError, ID: m.ID, Op: m.Op, Error: err.Error()})
		return
	}
	c.hb.ask(request{c: c, kind: kind, id: m.ID, items: items})
}

// parse validates a subscribe or unsubscribe: all of it or nothing. Script
// hashes are hex sha256(scriptPubKey) as Esplora writes them (not
// reversed); addresses must be of the node's network.
func (hb *hub) parse(m *clientMsg) ([]item, error) {
	n := len(m.ScriptHashes) + len(m.Addresses)
	switch {
	case n == 0:
		return nil, errors.New(`nothing to do: give "scripthashes" or "addresses"`)
	case n > hb.opts.MaxSubscriptions:
		return nil, errors.New(errTooMany(0, n, hb.opts.MaxSubscriptions))
	}
	items := make([]item, 0, n)
	seen := map[[32]byte]bool{}
	for i, s := range m.ScriptHashes {
		sh, err := query.ParseScriptHash(s)
		if err != nil {
			return nil, fmt.Errorf("scripthashes[%d]: %q is not 64 hex digits", i, s)
		}
		if !seen[sh] {
			seen[sh] = true
			items = append(items, item{sh: sh})
		}
	}
	if len(m.Addresses) > 0 {
		net, err := hb.network()
		if err != nil {
			return nil, err
		}
		for i, s := range m.Addresses {
			script, err := query.ScriptForAddress(s, net)
			if err != nil {
				return nil, fmt.Errorf("addresses[%d]: %q is not a %s address", i, s, net.Name)
			}
			sh := query.ScriptHashOf(script)
			// Messages name the address the way gettxout would print
			// its script, whatever case or form the client used.
			label := query.DescribeScript(script, net).Address
			if label == "" {
				label = s
			}
			if !seen[sh] {
				seen[sh] = true
				items = append(items, item{sh: sh, addr: label})
			} else {
				for j := range items {
					if items[j].sh == sh && items[j].addr == "" {
						items[j].addr = label
					}
				}
			}
		}
	}
	return items, nil
}

// network returns the node's Bitcoin network, known from the first view.
func (hb *hub) network() (*chaincfg.Params, error) {
	if p := hb.net.Load(); p != nil {
		return p, nil
	}
	v, err := hb.h.views.Acquire()
	if errors.Is(err, app.ErrNoView) {
		return nil, errors.New("addresses cannot be parsed before the first commit; use scripthashes")
	} else if err != nil {
		return nil, err
	}
	defer v.Release()
	if v.Params == nil {
		return nil, errors.New("the committed state names no network")
	}
	hb.net.CompareAndSwap(nil, v.Params.Chain)
	return v.Params.Chain, nil
}

// writeLoop writes the queue to the client, pings it, and closes the
// connection when it is killed or the handler closes.
func (c *conn) writeLoop() {
	hb, ws := c.hb, c.ws
	defer func() {
		_ = ws.Close()
		hb.mu.Lock()
		delete(hb.live, c)
		hb.mu.Unlock()
		hb.wg.Done()
	}()
	ping := time.NewTicker(hb.opts.PingInterval)
	defer ping.Stop()
	for {
		// A kill wins over queued messages: a slow client gets no more.
		select {
		case <-c.dead:
			c.finish()
			return
		case <-hb.done:
			c.closeWith(websocket.CloseGoingAway, "server shutting down")
			return
		default:
		}
		select {
		case <-c.dead:
			c.finish()
			return
		case <-hb.done:
			c.closeWith(websocket.CloseGoingAway, "server shutting down")
			return
		case msg := <-c.send:
			_ = ws.SetWriteDeadline(time.Now().Add(hb.opts.WriteTimeout))
			if err := ws.WriteMessage(websocket.TextMessage, msg); err != nil {
				c.kill(0, "", false)
				return
			}
		case <-ping.C:
			if err := ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(hb.opts.WriteTimeout)); err != nil {
				c.kill(0, "", false)
				return
			}
		}
	}
}

// finish closes a killed connection the way kill asked.
func (c *conn) finish() {
	if c.drain {
		// Bounded by the queue's length: nothing is queued after a kill.
	flush:
		for range cap(c.send) {
			select {
			case msg := <-c.send:
				_ = c.ws.SetWriteDeadline(time.Now().Add(c.hb.opts.WriteTimeout))
				if c.ws.WriteMessage(websocket.TextMessage, msg) != nil {
					return
				}
			default:
				break flush
			}
		}
	}
	if c.code != 0 {
		c.closeWith(c.code, c.text)
	}
}

// closeWith sends a close frame and gives the client closeGrace to answer
// it (the reader sees the answer and returns) before the caller closes the
// socket; closing at once could reset the connection before the client has
// read the frame.
func (c *conn) closeWith(code int, text string) {
	if len(text) > 123 { // a close frame's reason is at most 123 bytes
		text = text[:123]
	}
	wait := c.hb.opts.WriteTimeout
	select {
	case <-c.hb.done:
		wait = closeGrace
	default:
	}
	if c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(wait)) != nil {
		return
	}
	t := time.NewTimer(closeGrace)
	defer t.Stop()
	select {
	case <-c.readDone:
	case <-t.C:
	}
}
