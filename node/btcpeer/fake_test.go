package btcpeer

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// fakePeer is a Bitcoin node on 127.0.0.1 made of raw wire messages, for
// the cases a real btcd does not produce: wrong blocks, junk, silence. It
// runs the handshake of an inbound peer (or breaks it, as told), then hands
// each getdata to onGetData.
type fakePeer struct {
	t        *testing.T
	ln       net.Listener
	net      wire.BitcoinNet
	writeNet wire.BitcoinNet // the magic of what it writes, if not net
	services wire.ServiceFlag
	// onGetData answers one getdata (nil: silence). It runs on the
	// connection's goroutine; w writes one message.
	onGetData func(w func(wire.Message), c net.Conn, hash chainhash.Hash)
	// afterHandshake runs once the handshake is done (optional).
	afterHandshake func(w func(wire.Message), c net.Conn)

	accepted, getdatas, pongs atomic.Int32
	mu                        sync.Mutex
	version                   *wire.MsgVersion // the last one received
	conns                     []net.Conn
	wg                        sync.WaitGroup
}

func newFake(t *testing.T) *fakePeer {
	return &fakePeer{t: t, net: chaincfg.RegressionNetParams.Net, services: wire.SFNodeNetwork | wire.SFNodeWitness}
}

// start listens and serves until the test ends.
func (f *fakePeer) start() *fakePeer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.t.Fatal(err)
	}
	f.ln = ln
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.accepted.Add(1)
			f.mu.Lock()
			f.conns = append(f.conns, c)
			f.mu.Unlock()
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				defer c.Close()
				f.serve(c)
			}()
		}
	}()
	f.t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
		f.wg.Wait()
	})
	return f
}

func (f *fakePeer) addr() string { return f.ln.Addr().String() }

func (f *fakePeer) lastVersion() *wire.MsgVersion {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.version
}

// dropAll closes the accepted connections.
func (f *fakePeer) dropAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
}

func (f *fakePeer) serve(c net.Conn) {
	wnet := f.net
	if f.writeNet != 0 {
		wnet = f.writeNet
	}
	w := func(m wire.Message) {
		_, _ = wire.WriteMessageWithEncodingN(c, m, wire.ProtocolVersion, wnet, wire.WitnessEncoding)
	}
	read := func() (wire.Message, error) {
		for {
			_, m, _, err := wire.ReadMessageWithEncodingN(c, wire.ProtocolVersion, f.net, wire.BaseEncoding)
			if errors.Is(err, wire.ErrUnknownMessage) {
				continue
			}
			return m, err
		}
	}
	m, err := read()
	v, ok := m.(*wire.MsgVersion)
	if err != nil || !ok {
		return
	}
	f.mu.Lock()
	f.version = v
	f.mu.Unlock()
	mine := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 42, 100)
	mine.Services = f.services
	w(mine)
	w(wire.NewMsgSendAddrV2())
	w(wire.NewMsgVerAck())
	for { // the pool's sendaddrv2, then its verack
		m, err := read()
		if err != nil {
			return
		}
		if _, ok := m.(*wire.MsgVerAck); ok {
			break
		}
		if _, ok := m.(*wire.MsgSendAddrV2); !ok {
			return
		}
	}
	if f.afterHandshake != nil {
		f.afterHandshake(w, c)
	}
	for {
		m, err := read()
		if err != nil {
			return
		}
		switch m := m.(type) {
		case *wire.MsgGetData:
			for _, iv := range m.InvList {
				f.getdatas.Add(1)
				if iv.Type != wire.InvTypeWitnessBlock {
					f.t.Errorf("getdata of type %v, want a witness block", iv.Type)
				}
				if f.onGetData != nil {
					f.onGetData(w, c, iv.Hash)
				}
			}
		case *wire.MsgPong:
			f.pongs.Add(1)
		}
	}
}

// serveBlocks answers getdata from blocks, notfound for the others.
func serveBlocks(blocks map[chainhash.Hash]*wire.MsgBlock) func(func(wire.Message), net.Conn, chainhash.Hash) {
	return func(w func(wire.Message), _ net.Conn, h chainhash.Hash) {
		if b := blocks[h]; b != nil {
			w(b)
			return
		}
		nf := wire.NewMsgNotFound()
		_ = nf.AddInvVect(wire.NewInvVect(wire.InvTypeWitnessBlock, &h))
		w(nf)
	}
}

// testBlock is a valid-looking block: a coinbase whose script holds n, and,
// with witness, a second transaction carrying witness data and the
// coinbase's commitment to it. Only what checkBlock checks holds: no
// proof of work, no chain.
func testBlock(n byte, witness bool) *wire.MsgBlock {
	cb := wire.NewMsgTx(1)
	cb.AddTxIn(&wire.TxIn{PreviousOutPoint: wire.OutPoint{Index: wire.MaxPrevOutIndex}, SignatureScript: []byte{1, n, 0xaa}})
	cb.AddTxOut(wire.NewTxOut(50e8, []byte{0x51}))
	b := &wire.MsgBlock{Header: wire.BlockHeader{Version: 4, Timestamp: time.Unix(1700000000+int64(n), 0), Bits: 0x207fffff}}
	b.AddTransaction(cb)
	if witness {
		tx := wire.NewMsgTx(2)
		tx.AddTxIn(&wire.TxIn{PreviousOutPoint: wire.OutPoint{Hash: chainhash.HashH([]byte{n}), Index: 0},
			Witness: wire.TxWitness{bytes.Repeat([]byte{n}, 72), bytes.Repeat([]byte{2}, 33)}})
		tx.AddTxOut(wire.NewTxOut(1e8, append([]byte{0x00, 0x14}, bytes.Repeat([]byte{n}, 20)...)))
		b.AddTransaction(tx)
		var nonce [32]byte
		cb.TxIn[0].Witness = wire.TxWitness{nonce[:]}
		root := blockchain.CalcMerkleRoot(btcutil.NewBlock(b).Transactions(), true)
		commitment := chainhash.DoubleHashB(append(root[:], nonce[:]...))
		cb.AddTxOut(wire.NewTxOut(0, append(append([]byte{}, blockchain.WitnessMagicBytes...), commitment...)))
	}
	b.Header.MerkleRoot = blockchain.CalcMerkleRoot(btcutil.NewBlock(b).Transactions(), false)
	return b
}

func serialize(t *testing.T, b *wire.MsgBlock) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := b.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
