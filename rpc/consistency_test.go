package rpc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/rpc/internal/stamp"
	"github.com/satnode/satnode/rpc/rpctest"
	"github.com/satnode/satnode/utxo/chaingen"
	"github.com/satnode/satnode/utxo/muhash"
	"github.com/satnode/satnode/utxo/query"
)

// truth is what a committed tip really was, recorded by the writer.
type truth struct {
	height  int32
	muhash  string
	balance uint64
	utxos   uint64
}

// observation is what one answer claimed about the tip it was read at.
type observation struct {
	what    string
	hash    string
	height  int32
	muhash  string
	balance uint64
	utxos   uint64
	hasMu   bool
	hasBal  bool
	hasUTXO bool
}

// TestConsistencyUnderReorgs runs readers in every dialect while a writer
// connects blocks and reorganizes (each round orphans two blocks and
// double-spends their coins), and checks that every answer describes
// exactly one committed tip: what it says about the set (MuHash, an
// address's balance and unspent outputs) is what the writer recorded for
// the block hash the answer names. An answer that read a half-applied
// block, or mixed two commits, would name a tip with other values or a
// hash that was never a tip.
func TestConsistencyUnderReorgs(t *testing.T) {
	cfg := chaingen.DefaultConfig()
	cfg.Blocks = 400
	c := rpctest.New(t, cfg, 150)
	addr, _, _ := hotAddress(t, c)
	srv := startServer(t, c, Config{MaxUTXOs: 100_000})
	base := "http://" + srv.Addr()

	var mu sync.Mutex
	truths := map[string]truth{}
	record := func() {
		v, err := c.Views.Acquire()
		if err != nil {
			t.Error(err)
			return
		}
		defer v.Release()
		rec, err := v.Reader.BlockRecord(v.Tip.Height)
		if err != nil {
			t.Error(err)
			return
		}
		script, err := query.ScriptForAddress(addr, v.Params.Chain)
		if err != nil {
			t.Error(err)
			return
		}
		st, err := v.Reader.ScriptHashStats(query.ScriptHashOf(script))
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		truths[v.Tip.Hash.String()] = truth{height: v.Tip.Height, muhash: muhash.Digest(rec.MuHash).String(),
			balance: st.Balance(), utxos: st.UTXOCount()}
		mu.Unlock()
	}
	record()

	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer done.Store(true)
		for i := range 30 {
			fork := c.Fork(uint64(1000 + i))
			c.Extend(2)
			record()
			c.Reorg(fork, 3)
			record()
		}
	}()

	obsCh := make(chan observation, 1<<16)
	client := &http.Client{Timeout: 10 * time.Second}
	readers := []func() (observation, error){
		func() (observation, error) { return coreBatch(client, base) },
		func() (observation, error) { return esploraUTXOs(client, base, addr) },
		func() (observation, error) { return esploraAddress(client, base, addr) },
	}
	for _, read := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
				o, err := read()
				if err != nil {
					t.Error(err)
					return
				}
				obsCh <- o
			}
		}()
	}
	wg.Wait()
	close(obsCh)

	n := map[string]int{}
	for o := range obsCh {
		n[o.what]++
		tr, ok := truths[o.hash]
		switch {
		case !ok:
			t.Errorf("%s answered for %s, which was never a committed tip", o.what, o.hash)
		case o.height != tr.height:
			t.Errorf("%s: tip %s at height %d, was at %d", o.what, o.hash, o.height, tr.height)
		case o.hasMu && o.muhash != tr.muhash:
			t.Errorf("%s: muhash %s at %s, the commit had %s", o.what, o.muhash, o.hash, tr.muhash)
		case o.hasBal && o.balance != tr.balance:
			t.Errorf("%s: balance %d at %s, the commit had %d", o.what, o.balance, o.hash, tr.balance)
		case o.hasUTXO && o.utxos != tr.utxos:
			t.Errorf("%s: %d unspent outputs at %s, the commit had %d", o.what, o.utxos, o.hash, tr.utxos)
		}
	}
	t.Logf("%d commits; answers checked: %v", len(truths), n)
	for _, r := range []string{"core batch", "esplora utxo", "esplora address"} {
		if n[r] == 0 {
			t.Errorf("no %s answers were read during the reorgs", r)
		}
	}
}

func get(client *http.Client, url string) (*http.Response, []byte, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s: %.300s", url, resp.Status, body)
	}
	return resp, body, err
}

func headerTip(resp *http.Response) (string, int32, error) {
	var h int32
	_, err := fmt.Sscan(resp.Header.Get(stamp.HeaderHeight), &h)
	if err != nil {
		return "", 0, fmt.Errorf("no %s header: %v", stamp.HeaderHeight, err)
	}
	return resp.Header.Get(stamp.HeaderHash), h, nil
}

// coreBatch asks, in one batch, for the count, the best hash and the set
// info: one view answers the whole batch, so they must agree.
func coreBatch(client *http.Client, base string) (observation, error) {
	body := `[{"jsonrpc":"2.0","id":1,"method":"getblockcount"},{"jsonrpc":"2.0","id":2,"method":"getbestblockhash"},` +
		`{"jsonrpc":"2.0","id":3,"method":"gettxoutsetinfo","params":["muhash"]}]`
	resp, err := client.Post(base+"/", "application/json", bytes.NewBufferString(body))
	if err != nil {
		return observation{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return observation{}, err
	}
	var replies []struct {
		ID     int             `json:"id"`
		Result json.RawMessage `json:"result"`
		Error  any             `json:"error"`
	}
	if err := json.Unmarshal(raw, &replies); err != nil || len(replies) != 3 {
		return observation{}, fmt.Errorf("batch answer %.300s: %v", raw, err)
	}
	var count int32
	var best string
	var info struct {
		Height    int32  `json:"height"`
		BestBlock string `json:"bestblock"`
		MuHash    string `json:"muhash"`
	}
	for _, r := range replies {
		if r.Error != nil {
			return observation{}, fmt.Errorf("batch call %d failed: %v", r.ID, r.Error)
		}
		var err error
		switch r.ID {
		case 1:
			err = json.Unmarshal(r.Result, &count)
		case 2:
			err = json.Unmarshal(r.Result, &best)
		case 3:
			err = json.Unmarshal(r.Result, &info)
		}
		if err != nil {
			return observation{}, fmt.Errorf("batch call %d: %v", r.ID, err)
		}
	}
	if info.Height != count || info.BestBlock != best {
		return observation{}, fmt.Errorf("one batch mixed states: count %d best %s, gettxoutsetinfo at %d %s",
			count, best, info.Height, info.BestBlock)
	}
	hh, hn, err := headerTip(resp)
	if err != nil || hh != best || hn != count {
		return observation{}, fmt.Errorf("batch headers name %s %d, body %s %d (%v)", hh, hn, best, count, err)
	}
	if _, err := chainhash.NewHashFromStr(best); err != nil {
		return observation{}, err
	}
	return observation{what: "core batch", hash: best, height: count, muhash: info.MuHash, hasMu: true}, nil
}

func esploraUTXOs(client *http.Client, base, addr string) (observation, error) {
	resp, body, err := get(client, base+"/address/"+addr+"/utxo")
	if err != nil {
		return observation{}, err
	}
	var utxos []query.UTXO
	if err := json.Unmarshal(body, &utxos); err != nil {
		return observation{}, err
	}
	hash, height, err := headerTip(resp)
	if err != nil {
		return observation{}, err
	}
	o := observation{what: "esplora utxo", hash: hash, height: height, utxos: uint64(len(utxos)), hasUTXO: true, hasBal: true}
	for _, u := range utxos {
		o.balance += uint64(u.Value)
		if u.Status.BlockHeight > height {
			return observation{}, fmt.Errorf("utxo %s:%d at height %d above the tip %d", u.TxID, u.Vout, u.Status.BlockHeight, height)
		}
	}
	return o, nil
}

func esploraAddress(client *http.Client, base, addr string) (observation, error) {
	resp, body, err := get(client, base+"/address/"+addr)
	if err != nil {
		return observation{}, err
	}
	var a struct {
		ChainStats query.ChainStats `json:"chain_stats"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return observation{}, err
	}
	hash, height, err := headerTip(resp)
	if err != nil {
		return observation{}, err
	}
	cs := a.ChainStats
	return observation{what: "esplora address", hash: hash, height: height, balance: cs.FundedTxoSum - cs.SpentTxoSum,
		utxos: cs.FundedTxoCount - cs.SpentTxoCount, hasBal: true, hasUTXO: true}, nil
}
