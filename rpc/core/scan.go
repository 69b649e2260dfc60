package core

import (
	"bytes"
	"encoding/hex"
	"slices"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/query"
)

// scanResult is Core's scantxoutset "start" answer, in Core's order.
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
	// The scripts, deduplicated as Core's set of needles.
	var scripts [][]byte
	for _, obj := range objs {
		script, err := scanObjectScript(obj, v)
		if err != nil {
			return dst, err
		}
		if !slices.ContainsFunc(scripts, func(s []byte) bool { return bytes.Equal(s, script) }) {
			scripts = append(scripts, script)
		}
	}
	rec, rerr := v.Reader.BlockRecord(v.Tip.Height)
	if rerr != nil {
		return dst, rerr
	}
	type found struct {
		u      utxo.AddrUTXO
		script []byte
	}
	var all []found
	for _, script := range scripts {
		var after *utxo.Outpoint
		for {
			// Read no more than one past the limit.
			limit := min(scanPage, s.opts.MaxUTXOs+1-len(all))
			page, next, err := v.Reader.ScriptHashUnspent(query.ScriptHashOf(script), after, limit)
			if err != nil {
				return dst, err
			}
			for _, u := range page {
				all = append(all, found{u, script})
			}
			if len(all) > s.opts.MaxUTXOs {
				return dst, rpcErr(CodeInvalidParameter,
					"scan objects match more than %d unspent outputs, the most this server lists in one answer; scan fewer addresses or scripts per call",
					s.opts.MaxUTXOs)
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
	r := scanResult{Success: true, TxOuts: rec.Totals.TxOuts, Height: v.Tip.Height, BestBlock: v.Tip.Hash.String(),
		Unspents: make([]scanUnspent, 0, len(all))}
	descs := map[string]string{}
	hashes := map[int32]string{}
	var total int64
	for _, f := range all {
		d, ok := descs[string(f.script)]
		if !ok {
			d = describe(f.script, v.Params.Chain).desc
			descs[string(f.script)] = d
		}
		bh, herr := blockHashAt(v, f.u.Height, hashes)
		if herr != nil {
			return dst, herr
		}
		total += f.u.Value
		r.Unspents = append(r.Unspents, scanUnspent{
			TxID: chainhash.Hash(f.u.Outpoint.Hash).String(), Vout: f.u.Outpoint.Index,
			ScriptPubKey: hex.EncodeToString(f.script), Desc: d, Amount: query.Amount(f.u.Value),
			Coinbase: f.u.Coinbase, Height: f.u.Height, BlockHash: bh, Confirmations: v.Tip.Height - f.u.Height + 1,
		})
	}
	r.TotalAmount = query.Amount(total)
	return appendJSON(dst, &r)
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
