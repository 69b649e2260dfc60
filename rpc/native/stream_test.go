package native_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/rpc/internal/stamp"
	"github.com/satnode/satnode/rpc/native"
	"github.com/satnode/satnode/rpc/rpctest"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/chaingen"
	"github.com/satnode/satnode/utxo/query"
)

// followed is a script hash the reorg test follows, with the address it
// subscribes by on the first client ("" for by hash).
type followed struct {
	sh   [32]byte
	hex  string
	addr string
}

// unspentSet is a script hash's unspent coins: outpoint → coin.
type unspentSet map[string]coin

func key(txid string, vout uint32) string { return fmt.Sprintf("%s:%d", txid, vout) }

// unspentOf reads a script hash's whole unspent set from the latest view.
func unspentOf(t *testing.T, c *rpctest.Chain, sh [32]byte) unspentSet {
	t.Helper()
	v, err := c.Views.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer v.Release()
	set := unspentSet{}
	var after *utxo.Outpoint
	for range 1000 {
		page, next, err := v.Reader.ScriptHashUnspent(sh, after, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page {
			txid := u.Outpoint.Hash.String()
			set[key(txid, u.Outpoint.Index)] = coin{TxID: txid, Vout: u.Outpoint.Index, Value: u.Value,
				Height: u.Height, Coinbase: u.Coinbase}
		}
		if next == nil {
			return set
		}
		after = next
	}
	t.Fatal("more than 100000 coins")
	return nil
}

// streamConfig makes the hot addresses busy before segwit activates (which
// this short chain never reaches, and until which chaingen skips segwit hot
// addresses): DefaultConfig's Hot list with legacy script types, paid half
// of all outputs, coinbases included.
func streamConfig() chaingen.Config {
	cfg := chaingen.DefaultConfig()
	cfg.Hot = []chaingen.HotAddress{
		{KeyIndex: 0, Type: chaingen.ScriptP2PKH, Weight: 0.6},
		{KeyIndex: 1, Type: chaingen.ScriptP2SHP2PK, Weight: 0.25},
		{KeyIndex: 2, Type: chaingen.ScriptP2SHMultisig, Weight: 0.15},
	}
	cfg.HotShare = 0.5
	cfg.PreActivationTxsPerBlock = 12
	return cfg
}

// TestStreamReorg follows the hot addresses and a few other script hashes
// through extensions and two reorgs (each to a longer competing branch),
// and checks that the messages describe the chain exactly: blocks in
// order, disconnects before connects, and script-hash changes that, applied
// to each script hash's unspent set at subscription, give its set at the
// end. Since the messages are made from utxo.BlockChange, this checks it
// too: the funded outputs of every connected block against the block
// itself, and the spends through the final sets.
func TestStreamReorg(t *testing.T) {
	cfg := streamConfig()
	c := newChain(t, cfg)
	h, srv := serve(t, c.Views, native.Options{})
	net := &chaincfg.RegressionNetParams

	var fol []followed
	seen := map[[32]byte]bool{}
	add := func(script []byte, byAddr bool) {
		sh := sha256.Sum256(script)
		if seen[sh] {
			return
		}
		seen[sh] = true
		f := followed{sh: sh, hex: hex.EncodeToString(sh[:])}
		if byAddr {
			f.addr = query.DescribeScript(script, net).Address
			if f.addr == "" {
				t.Fatalf("script %x has no address", script)
			}
		}
		fol = append(fol, f)
	}
	for i, hot := range cfg.Hot {
		s, err := chaingen.ScriptsFor(cfg.Seed, hot.KeyIndex, hot.Type)
		if err != nil {
			t.Fatal(err)
		}
		add(s.PkScript, i < 2) // the last by script hash
	}
	// And the payees of early coinbases, which are mature and get spent.
	for hgt := 1; hgt <= 15; hgt++ {
		add(c.Blocks[hgt].Transactions[0].TxOut[0].PkScript, false)
	}

	// Client a subscribes the hot addresses by address, b everything by
	// script hash: they must get the same messages but for "address".
	a, b := dial(t, srv), dial(t, srv)
	for _, w := range []*wsClient{a, b} {
		hello := w.expect("hello")
		if hello.At == nil || hello.At.Height != 120 || hello.At.ChainHeight != 1 || hello.MaxSubscriptions != 1000 {
			t.Fatalf("hello %s", hello.raw)
		}
	}
	var aHashes, aAddrs, bHashes []string
	for _, f := range fol {
		bHashes = append(bHashes, f.hex)
		if f.addr != "" {
			aAddrs = append(aAddrs, f.addr)
		} else {
			aHashes = append(aHashes, f.hex)
		}
	}
	a.send(map[string]any{"op": "subscribe", "id": 1, "scripthashes": aHashes, "addresses": aAddrs})
	b.send(map[string]any{"op": "subscribe", "id": "b", "scripthashes": bHashes})
	ra, rb := a.expect("subscribed"), b.expect("subscribed")
	tip0 := stamp.At{Height: 120, Hash: c.Blocks[120].BlockHash().String(), ChainHeight: 1}
	if string(ra.ID) != "1" || string(rb.ID) != `"b"` || ra.Subscriptions != len(fol) || rb.Subscriptions != len(fol) ||
		len(ra.Addresses) != 2 || len(rb.ScriptHashes) != len(fol) || *ra.At != tip0 || *rb.At != tip0 {
		t.Fatalf("subscribed replies %s and %s", ra.raw, rb.raw)
	}
	for i, ad := range ra.Addresses {
		if ad.Address != fol[i].addr || ad.ScriptHash != fol[i].hex {
			t.Fatalf("address %d confirmed as %+v, want %s %s", i, ad, fol[i].addr, fol[i].hex)
		}
	}
	if st := h.StreamStats(); st.Connections != 2 || st.Subscriptions != int64(2*len(fol)) {
		t.Fatalf("stats %+v", st)
	}
	sets := map[string]unspentSet{}
	for _, f := range fol {
		sets[f.hex] = unspentOf(t, c, f.sh)
	}

	// Every block either branch ever had, to check funded outputs against.
	blocks := map[string]*wire.MsgBlock{}
	keep := func() {
		for _, blk := range c.Blocks[100:] {
			blocks[blk.BlockHash().String()] = blk
		}
	}
	keep()
	hashes := map[int32]string{} // the chain as the messages build it
	for hgt := int32(0); hgt <= 120; hgt++ {
		hashes[hgt] = c.Blocks[hgt].BlockHash().String()
	}
	fork := c.Fork(7)
	c.Extend(3)
	keep()
	c.Extend(2)
	keep()
	c.Reorg(fork, 8) // 125 → 120 → 128
	keep()
	c.Extend(2)
	keep()
	fork2 := c.Fork(9)
	c.Extend(2)
	keep()
	c.Reorg(fork2, 4) // 132 → 130 → 134
	keep()
	final := stamp.At{Height: 134, Hash: c.Blocks[134].BlockHash().String(), ChainHeight: 7}

	// A subscribe is answered once everything up to the latest commit has
	// been sent, so its reply marks the end.
	end := sha256.Sum256([]byte("end"))
	var got [2][]*msg
	for i, w := range []*wsClient{a, b} {
		w.send(map[string]any{"op": "subscribe", "id": "end", "scripthashes": []string{hex.EncodeToString(end[:])}})
		for range 100000 {
			m := w.next()
			if m.Type == "subscribed" && string(m.ID) == `"end"` {
				if *m.At != final {
					t.Fatalf("end marker at %+v, want %+v", *m.At, final)
				}
				break
			}
			got[i] = append(got[i], m)
		}
	}
	if len(got[0]) != len(got[1]) {
		t.Fatalf("client a got %d messages, b %d", len(got[0]), len(got[1]))
	}
	for i, m := range got[0] {
		n := got[1][i]
		if m.Address != "" && n.Address != "" || strings.Replace(string(m.raw), `"address":"`+m.Address+`",`, "", 1) != string(n.raw) {
			t.Fatalf("message %d: a got %s, b %s", i, m.raw, n.raw)
		}
	}

	// Replay.
	var cur *msg // the block message the scripthash messages belong to
	byEvent := map[int64][]*msg{}
	var events []int64
	var nFunded, nSpent, nRemoved, nRestored int
	// What each block did to each script hash when connected, by block
	// hash and script hash: its disconnect must undo exactly that.
	connects := map[[2]string]*msg{}
	undone := map[[2]string]bool{}
	var disconnected []string
	for _, m := range got[0] {
		switch m.Type {
		case "block_connected", "block_disconnected":
			cur = m
			ch := m.At.ChainHeight
			if len(byEvent[ch]) == 0 {
				events = append(events, ch)
			}
			byEvent[ch] = append(byEvent[ch], m)
			connected := m.Type == "block_connected"
			if connected {
				if prev, ok := hashes[m.Height-1]; !ok || prev != m.PrevHash {
					t.Fatalf("block %d %s connected on %s, but the chain has %q there", m.Height, m.Hash, m.PrevHash, prev)
				}
				if _, ok := hashes[m.Height]; ok {
					t.Fatalf("block %d connected over %s", m.Height, hashes[m.Height])
				}
				hashes[m.Height] = m.Hash
			} else {
				if hashes[m.Height] != m.Hash || hashes[m.Height+1] != "" {
					t.Fatalf("block %d %s disconnected, but it is not the tip", m.Height, m.Hash)
				}
				if m.PrevHash != hashes[m.Height-1] {
					t.Fatalf("disconnected block %d has prev %s, chain has %s", m.Height, m.PrevHash, hashes[m.Height-1])
				}
				delete(hashes, m.Height)
			}
			if !connected {
				disconnected = append(disconnected, m.Hash)
			}
			blk := blocks[m.Hash]
			if blk == nil || m.Time != blk.Header.Timestamp.Unix() || m.Txs != uint32(len(blk.Transactions)) {
				t.Fatalf("block message %s does not match the block", m.raw)
			}
		case "scripthash":
			if cur == nil || m.Height != cur.Height || m.Hash != cur.Hash || m.Connected != (cur.Type == "block_connected") {
				t.Fatalf("scripthash message %s does not follow its block", m.raw)
			}
			set := sets[m.ScriptHash]
			if set == nil {
				t.Fatalf("message for a script hash not followed: %s", m.raw)
			}
			if m.Connected {
				if m.Removed != nil || m.Restored != nil || m.Funded == nil || m.Spent == nil {
					t.Fatalf("connected message with the wrong lists: %s", m.raw)
				}
				checkFunded(t, blocks[m.Hash], m)
				connects[[2]string{m.Hash, m.ScriptHash}] = m
				nFunded += len(m.Funded)
				nSpent += len(m.Spent)
				replay(t, m, set, m.Funded, m.Spent)
			} else {
				if m.Funded != nil || m.Spent != nil || m.Removed == nil || m.Restored == nil {
					t.Fatalf("disconnected message with the wrong lists: %s", m.raw)
				}
				checkUndo(t, connects[[2]string{m.Hash, m.ScriptHash}], m)
				undone[[2]string{m.Hash, m.ScriptHash}] = true
				nRemoved += len(m.Removed)
				nRestored += len(m.Restored)
				replay(t, m, set, m.Restored, m.Removed)
			}
		default:
			t.Fatalf("unexpected message %s", m.raw)
		}
	}
	for _, hash := range disconnected {
		checkAllUndone(t, hash, connects, undone)
	}
	// One event per commit, disconnects (downwards) before connects
	// (upwards).
	if !slices.Equal(events, []int64{2, 3, 4, 5, 6, 7}) {
		t.Fatalf("events %v", events)
	}
	shape := map[int64]string{2: "+121+122+123", 3: "+124+125", 4: "-125-124-123-122-121+121+122+123+124+125+126+127+128",
		5: "+129+130", 6: "+131+132", 7: "-132-131+131+132+133+134"}
	for _, ev := range events {
		var s strings.Builder
		for _, m := range byEvent[ev] {
			sign := "+"
			if m.Type == "block_disconnected" {
				sign = "-"
			}
			fmt.Fprintf(&s, "%s%d", sign, m.Height)
		}
		if s.String() != shape[ev] {
			t.Errorf("event %d: blocks %s, want %s", ev, s.String(), shape[ev])
		}
	}
	for hgt := int32(0); hgt <= 134; hgt++ {
		if hashes[hgt] != c.Blocks[hgt].BlockHash().String() {
			t.Fatalf("replayed chain has %s at %d, the chain %s", hashes[hgt], hgt, c.Blocks[hgt].BlockHash())
		}
	}
	for _, f := range fol {
		want := unspentOf(t, c, f.sh)
		if !maps.Equal(sets[f.hex], want) {
			for k, v := range want {
				if g, ok := sets[f.hex][k]; !ok || g != v {
					t.Errorf("%s: final set has %s %+v, replay %+v (present %v)", f.hex, k, v, g, ok)
				}
			}
			for k, v := range sets[f.hex] {
				if _, ok := want[k]; !ok {
					t.Errorf("%s: replay has %s %+v, the final set does not", f.hex, k, v)
				}
			}
			t.Fatalf("script hash %s: replayed set differs from the final view", f.hex)
		}
	}
	t.Logf("%d messages: %d funded, %d spent, %d removed, %d restored", len(got[0]), nFunded, nSpent, nRemoved, nRestored)
	if nFunded == 0 || nSpent == 0 || nRemoved == 0 || nRestored == 0 {
		t.Fatalf("the chain did not exercise every kind of change: %d funded, %d spent, %d removed, %d restored",
			nFunded, nSpent, nRemoved, nRestored)
	}
}

// replay applies one scripthash message to its set: additions first (a
// coin created and spent in one block is in both lists).
func replay(t *testing.T, m *msg, set unspentSet, added, taken []coin) {
	t.Helper()
	for _, c := range added {
		k := key(c.TxID, c.Vout)
		if _, ok := set[k]; ok {
			t.Fatalf("%s adds %s, which is already unspent", m.raw, k)
		}
		if c.SpentBy != "" {
			t.Fatalf("%s: an added coin has a spender", m.raw)
		}
		set[k] = c
	}
	for _, c := range taken {
		k := key(c.TxID, c.Vout)
		have, ok := set[k]
		if !ok {
			t.Fatalf("%s takes %s, which is not unspent", m.raw, k)
		}
		if m.Connected != (c.SpentBy != "") {
			t.Fatalf("%s: spent_by %q in a connected=%v message", m.raw, c.SpentBy, m.Connected)
		}
		c.SpentBy = ""
		if have != c {
			t.Fatalf("%s takes %+v, the set had %+v", m.raw, c, have)
		}
		delete(set, k)
	}
}

// checkFunded compares a connected block's funded list with the block's
// outputs paying the script hash.
func checkFunded(t *testing.T, blk *wire.MsgBlock, m *msg) {
	t.Helper()
	var want []coin
	for i, tx := range blk.Transactions {
		for j, out := range tx.TxOut {
			sh := sha256.Sum256(out.PkScript)
			if hex.EncodeToString(sh[:]) == m.ScriptHash && !utxo.IsUnspendable(out.PkScript) {
				want = append(want, coin{TxID: tx.TxHash().String(), Vout: uint32(j), Value: out.Value,
					Height: m.Height, Coinbase: i == 0})
			}
		}
	}
	if !slices.Equal(want, m.Funded) {
		t.Fatalf("block %d funds %+v to %s, the message says %+v", m.Height, want, m.ScriptHash, m.Funded)
	}
}

// undoOf is what the disconnect of a block must report for a script hash
// the block's connect reported as conn: the outputs it funded are
// removed and the coins it spent restored, in the same order, except coins
// created and spent within the block, which a connect lists in both funded
// and spent and a disconnect in neither (utxo.BlockChange: they were never
// in the set between blocks).
func undoOf(conn *msg) (removed, restored []coin) {
	inBlock := map[string]bool{}
	for _, c := range conn.Funded {
		inBlock[key(c.TxID, c.Vout)] = true
	}
	transient := map[string]bool{}
	for _, c := range conn.Spent {
		if k := key(c.TxID, c.Vout); inBlock[k] {
			transient[k] = true
			continue
		}
		c.SpentBy = ""
		restored = append(restored, c)
	}
	for _, c := range conn.Funded {
		if !transient[key(c.TxID, c.Vout)] {
			removed = append(removed, c)
		}
	}
	return removed, restored
}

// checkUndo compares a disconnect's message with the connect's of the same
// block and script hash.
func checkUndo(t *testing.T, conn, disc *msg) {
	t.Helper()
	if conn == nil {
		t.Fatalf("%s undoes a block that did not touch the script hash when connected", disc.raw)
	}
	removed, restored := undoOf(conn)
	if !slices.Equal(disc.Removed, removed) || !slices.Equal(disc.Restored, restored) {
		t.Fatalf("disconnect\n%s\ndoes not undo connect\n%s", disc.raw, conn.raw)
	}
}

// checkAllUndone checks that every script hash a block changed when
// connected (beyond coins both created and spent in it) got a message when
// the block was disconnected.
func checkAllUndone(t *testing.T, hash string, connects map[[2]string]*msg, undone map[[2]string]bool) {
	t.Helper()
	for k, m := range connects {
		removed, restored := undoOf(m)
		if k[0] == hash && !undone[k] && len(removed)+len(restored) > 0 {
			t.Errorf("block %s was disconnected without undoing %s", hash, m.raw)
		}
	}
}
