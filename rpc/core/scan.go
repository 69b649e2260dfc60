package core

import (
	"bytes"
	"slices"
	"strconv"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/query"
)

// scanResult is Core's scantxoutset "start" answer, in Core's order: the
// shape scanTxOutSet writes by hand (and the tests decode).
type scanResult struct {
	Success     bool          `json:"success"`
	TxOuts      uint64        `json:"txouts"`
	Height      int32         `json:"height"`
	BestBlock   string        `json:"bestblock"`
	Unspents    []scanUnspent `json:"unspents"`
	TotalAmount query.Amount  `json:"total_amount"`
}

type scanUnspent struct {
	TxID          string       `json:"txid"`
	Vout          uint32       `json:"vout"`
	ScriptPubKey  string       `json:"scriptPubKey"`
	Desc          string       `json:"desc"`
	Amount        query.Amount `json:"amount"`
	Coinbase      bool         `json:"coinbase"`
	Height        int32        `json:"height"`
	BlockHash     string       `json:"blockhash"`
	Confirmations int32        `json:"confirmations"`
}

// scanPage is how many outputs one index read returns.
const scanPage = 1000

// scanTxOutSet answers Core's scantxoutset from the script-hash index:
// each descriptor names one script, whose unspent outputs the index lists
// directly, so "start" never scans the set and returns at once; no scan is
// ever in progress, so "status" is null and "abort" false. txouts is the
// size of the set, as Core reports the outputs its scan went through.
func (s *server) scanTxOutSet(c *call, args [][]byte, dst []byte) ([]byte, error) {
	action, err := getString(args[0])
	if err != nil {
		return dst, err
	}
	switch action {
	case "status":
		return append(dst, "null"...), nil
	case "abort":
		return append(dst, "false"...), nil
	case "start":
	default:
		return dst, rpcErr(CodeInvalidParameter, "Invalid action '%s'", action)
	}
	if len(args) < 2 {
		return dst, rpcErr(CodeMisc, "scanobjects argument is required for the start action")
	}
	if kindOf(args[1]) != kindArray {
		return dst, typeError(args[1], kindArray)
	}
	objs, _ := elements(args[1])
	v, err := c.view()
	if err != nil {
		return dst, err
	}
	scripts := make([][]byte, 0, len(objs))
	for _, obj := range objs {
		script, err := scanObjectScript(obj, v)
		if err != nil {
			return dst, err
		}
		scripts = append(scripts, script)
	}
	scripts = uniqueScripts(scripts)
	rec, rerr := v.Reader.BlockRecord(v.Tip.Height)
	if rerr != nil {
		return dst, rerr
	}
	// What is left of the reply for this result: the outputs are counted
	// against it while the index is read, so that a script with 100k
	// outputs is given up after the few that fit, not listed and then
	// measured.
	budget := s.opts.MaxReplyBytes - len(dst)
	type found struct {
		u      utxo.AddrUTXO
		script int // index in scripts and descs
	}
	var all []found
	descs := make([]string, len(scripts))
	need := len(`{"success":true,"txouts":0,"height":0,"bestblock":"","unspents":[],"total_amount":0.00000000}`) + 64
	for i, script := range scripts {
		var after *utxo.Outpoint
		var per int
		for {
			// Read no more than one past the limit, and no more than can
			// fit in the reply.
			limit := min(scanPage, s.opts.MaxUTXOs+1-len(all))
			if per > 0 {
				limit = min(limit, (budget-need)/per+1)
			}
			page, next, err := v.Reader.ScriptHashUnspent(query.ScriptHashOf(script), after, max(limit, 1))
			if err != nil {
				return dst, err
			}
			if len(page) > 0 && per == 0 {
				descs[i] = describe(script, v.Params.Chain).desc
				per = unspentMinBytes + 2*len(script) + len(descs[i])
			}
			for _, u := range page {
				all = append(all, found{u, i})
			}
			need += per * len(page)
			if len(all) > s.opts.MaxUTXOs {
				return dst, rpcErr(CodeInvalidParameter,
					"scan objects match more than %d unspent outputs, the most this server lists in one answer; scan fewer addresses or scripts per call",
					s.opts.MaxUTXOs)
			}
			if need > budget {
				return dst, s.replyTooLarge(false)
			}
			if next == nil {
				break
			}
			after = next
		}
	}
	// Core keeps the coins in a std::map<COutPoint, Coin>: by txid in
	// internal byte order, then vout.
	slices.SortFunc(all, func(a, b found) int {
		if c := bytes.Compare(a.u.Outpoint.Hash[:], b.u.Outpoint.Hash[:]); c != 0 {
			return c
		}
		return int(int64(a.u.Outpoint.Index) - int64(b.u.Outpoint.Index))
	})
	// Written by hand, in scanResult's shape, so that the reply is built
	// once, in place, and checked against the budget as it grows.
	limit := len(dst) + budget
	dst = append(dst, `{"success":true,"txouts":`...)
	dst = strconv.AppendUint(dst, rec.Totals.TxOuts, 10)
	dst = append(dst, `,"height":`...)
	dst = strconv.AppendInt(dst, int64(v.Tip.Height), 10)
	dst = append(dst, `,"bestblock":`...)
	dst = appendHash(dst, &v.Tip.Hash)
	dst = append(dst, `,"unspents":[`...)
	hashes := map[int32]string{}
	var total int64
	for i, f := range all {
		bh, herr := blockHashAt(v, f.u.Height, hashes)
		if herr != nil {
			return dst, herr
		}
		total += f.u.Value
		if i > 0 {
			dst = append(dst, ',')
		}
		txid := chainhash.Hash(f.u.Outpoint.Hash)
		dst = append(dst, `{"txid":`...)
		dst = appendHash(dst, &txid)
		dst = append(dst, `,"vout":`...)
		dst = strconv.AppendUint(dst, uint64(f.u.Outpoint.Index), 10)
		dst = append(dst, `,"scriptPubKey":`...)
		dst = appendHex(dst, scripts[f.script])
		dst = append(dst, `,"desc":`...)
		dst = appendString(dst, descs[f.script])
		dst = append(dst, `,"amount":`...)
		dst = appendAmount(dst, f.u.Value)
		dst = append(dst, `,"coinbase":`...)
		dst = strconv.AppendBool(dst, f.u.Coinbase)
		dst = append(dst, `,"height":`...)
		dst = strconv.AppendInt(dst, int64(f.u.Height), 10)
		dst = append(dst, `,"blockhash":`...)
		dst = appendString(dst, bh)
		dst = append(dst, `,"confirmations":`...)
		dst = strconv.AppendInt(dst, int64(v.Tip.Height-f.u.Height+1), 10)
		dst = append(dst, '}')
		if len(dst) > limit {
			return dst, s.replyTooLarge(false)
		}
	}
	dst = append(dst, `],"total_amount":`...)
	dst = appendAmount(dst, total)
	return append(dst, '}'), nil
}

// unspentMinBytes is the least one scantxoutset unspent takes in the
// reply besides its script's hex and descriptor: the fixed text, a txid,
// the shortest numbers and an empty block hash (a seeded base's coins have
// none). Estimating low never refuses an answer that fits; the encoder
// checks the real size.
const unspentMinBytes = len(`{"txid":"","vout":0,"scriptPubKey":"","desc":"","amount":0.00000000,"coinbase":true,"height":0,"blockhash":"","confirmations":0}`) + 64

// uniqueScripts sorts scripts and drops repeats, as Core's set of needles:
// O(n log n), where a linear search per scan object was quadratic in a
// body of tens of thousands of them. The order does not matter: the
// outputs are sorted by outpoint.
func uniqueScripts(scripts [][]byte) [][]byte {
	slices.SortFunc(scripts, bytes.Compare)
	return slices.CompactFunc(scripts, bytes.Equal)
}

// blockHashAt returns the hash of the block at height, remembering it in
// memo: many outputs of one script share blocks.
func blockHashAt(v *app.View, height int32, memo map[int32]string) (string, error) {
	if h, ok := memo[height]; ok {
		return h, nil
	}
	hdr, err := v.Reader.Header(height)
	if utxo.IsNotFound(err) {
		// Coins of a seeded store's base set can be older than its
		// first header.
		memo[height] = ""
		return "", nil
	}
	if err != nil {
		return "", err
	}
	h := hdr.BlockHash().String()
	memo[height] = h
	return h, nil
}

// scanObjectScript is Core's EvalDescriptorStringOrObject for the two
// descriptors satnode answers: a descriptor string, or an object with
// "desc" and an optional "range" (checked like Core's, then unused: addr()
// and raw() are not ranged).
func scanObjectScript(obj []byte, v *app.View) ([]byte, *Error) {
	var desc []byte
	switch kindOf(obj) {
	case kindString:
		desc = obj
	case kindObject:
		var rng []byte
		eachMember(obj, func(key, val []byte) bool {
			switch {
			case desc == nil && keyIs(key, "desc"):
				desc = val
			case rng == nil && keyIs(key, "range"):
				rng = val
			}
			return true
		})
		if kindOf(desc) == kindNull {
			return nil, rpcErr(CodeInvalidParameter, "Descriptor needs to be provided in scan object")
		}
		if kindOf(rng) != kindNull {
			if err := checkRange(rng); err != nil {
				return nil, err
			}
		}
	default:
		return nil, rpcErr(CodeInvalidParameter, "Scan object needs to be either a string or an object")
	}
	str, err := getString(desc)
	if err != nil {
		return nil, err
	}
	return parseDescriptor(str, v.Params.Chain)
}

// checkRange is Core's ParseDescriptorRange: an end, or [begin,end].
func checkRange(raw []byte) *Error {
	var low, high int64
	switch kindOf(raw) {
	case kindNumber:
		n, err := getInt(raw, 64)
		if err != nil {
			return err
		}
		high = n
	case kindArray:
		el, _ := elements(raw)
		if len(el) != 2 || kindOf(el[0]) != kindNumber || kindOf(el[1]) != kindNumber {
			return rpcErr(CodeInvalidParameter, "Range must be specified as end or as [begin,end]")
		}
		var err *Error
		if low, err = getInt(el[0], 64); err != nil {
			return err
		}
		if high, err = getInt(el[1], 64); err != nil {
			return err
		}
		if low > high {
			return rpcErr(CodeInvalidParameter, "Range specified as [begin,end] must not have begin after end")
		}
	default:
		return rpcErr(CodeInvalidParameter, "Range must be specified as end or as [begin,end]")
	}
	switch {
	case low < 0:
		return rpcErr(CodeInvalidParameter, "Range should be greater or equal than 0")
	case high>>31 != 0:
		return rpcErr(CodeInvalidParameter, "End of range is too high")
	case high >= low+1000000:
		return rpcErr(CodeInvalidParameter, "Range is too large")
	}
	return nil
}
