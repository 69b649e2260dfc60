package esplora

import (
	"encoding/hex"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/query"
)

// endpoint is one of the routes the package serves.
type endpoint uint8

const (
	epTipHeight endpoint = iota + 1
	epTipHash
	epBlockHeight
	epBlockHeader
	epBlockStatus
	epScript
	epScriptUTXO
	epBlockTxids
	epBlockRaw
	epBlockTxs
	epOutspend
)

// request is a parsed request: everything that can be checked without a
// view. Addresses need the view's network, so they stay raw here.
type request struct {
	ep endpoint
	// height is the block-height parameter; heights beyond int32 are
	// valid numbers that no block has (Esplora: 404), kept as -1.
	height int32
	hash   chainhash.Hash
	// byAddress: the script is named by an address, else by a script
	// hash (sh). param is the path parameter as given.
	byAddress bool
	param     string
	sh        [32]byte
	page      page
	// start is /block/:hash/txs/:start's start as given (checked once the
	// block is known, as Esplora does); hasStart: the segment is there.
	start    string
	hasStart bool
	// vout is /tx/:txid/outspend/:vout's output index; the txid is in
	// hash.
	vout uint32
}

// page is the paging of a /utxo request.
type page struct {
	// paged: limit or after was given. An unpaged request lists
	// everything, up to Options.MaxUTXOs.
	paged bool
	limit int
	after *utxo.Outpoint
}

// route returns the template naming the request for the server's
// metrics: a route template, never the raw path, so the number of names
// stays bounded.
func (q *request) route() string {
	switch q.ep {
	case epTipHeight:
		return "/blocks/tip/height"
	case epTipHash:
		return "/blocks/tip/hash"
	case epBlockHeight:
		return "/block-height/:height"
	case epBlockHeader:
		return "/block/:hash/header"
	case epBlockStatus:
		return "/block/:hash/status"
	case epScript:
		if q.byAddress {
			return "/address/:address"
		}
		return "/scripthash/:hash"
	case epScriptUTXO:
		if q.byAddress {
			return "/address/:address/utxo"
		}
		return "/scripthash/:hash/utxo"
	case epBlockTxids:
		return "/block/:hash/txids"
	case epBlockRaw:
		return "/block/:hash/raw"
	case epBlockTxs:
		if q.hasStart {
			return "/block/:hash/txs/:start"
		}
		return "/block/:hash/txs"
	case epOutspend:
		return "/tx/:txid/outspend/:vout"
	}
	return "unmatched"
}

// parseRequest matches a path (already stripped of any "/api" prefix) and
// query string against the routes and checks every parameter that does
// not need a view. Its errors are *Error with a 4xx status; with a bad
// parameter of a known route it still returns the request, whose route
// names it for the metrics.
func parseRequest(path, rawQuery string, opts Options) (*request, *Error) {
	seg, ok := strings.CutPrefix(path, "/")
	if !ok {
		return nil, unknownEndpoint(path)
	}
	// Esplora splits on every "/", so a trailing slash or an empty
	// segment matches nothing; bounding the split keeps a path of a
	// million slashes cheap.
	parts := strings.SplitN(seg, "/", 5)
	q := &request{}
	switch {
	case len(parts) == 3 && parts[0] == "blocks" && parts[1] == "tip" && parts[2] == "height":
		q.ep = epTipHeight
	case len(parts) == 3 && parts[0] == "blocks" && parts[1] == "tip" && parts[2] == "hash":
		q.ep = epTipHash
	case len(parts) == 2 && parts[0] == "block-height":
		q.ep = epBlockHeight
		h, err := parseHeight(parts[1])
		if err != nil {
			return q, err
		}
		q.height = h
	case len(parts) == 3 && parts[0] == "block" && (parts[2] == "header" || parts[2] == "status"):
		q.ep = epBlockHeader
		if parts[2] == "status" {
			q.ep = epBlockStatus
		}
		h, err := parseBlockHash(parts[1])
		if err != nil {
			return q, err
		}
		q.hash = h
	case len(parts) == 3 && parts[0] == "block" && blockBodyRoute(parts[2]) != 0,
		len(parts) == 4 && parts[0] == "block" && parts[2] == "txs":
		q.ep = blockBodyRoute(parts[2])
		if len(parts) == 4 {
			q.start, q.hasStart = parts[3], true
		}
		h, err := parseBlockHash(parts[1])
		if err != nil {
			return q, err
		}
		q.hash = h
	case len(parts) == 4 && parts[0] == "tx" && parts[2] == "outspend":
		q.ep = epOutspend
		h, err := parseBlockHash(parts[1])
		if err != nil {
			return q, err
		}
		q.hash = h
		n, err := parseUint(parts[3], math.MaxUint32)
		if err != nil {
			return q, err
		}
		q.vout = uint32(n)
	case (len(parts) == 2 || len(parts) == 3 && parts[2] == "utxo") && (parts[0] == "address" || parts[0] == "scripthash"):
		q.ep = epScript
		if len(parts) == 3 {
			q.ep = epScriptUTXO
		}
		q.param = parts[1]
		q.byAddress = parts[0] == "address"
		if q.ep == epScriptUTXO {
			pg, err := parsePage(rawQuery, opts)
			if err != nil {
				return q, err
			}
			q.page = pg
		}
		if q.byAddress {
			break
		}
		sh, err := query.ParseScriptHash(parts[1])
		if err != nil {
			return q, badRequest("Invalid scripthash")
		}
		q.sh = sh
	default:
		return nil, unknownEndpoint(path)
	}
	return q, nil
}

// unknownEndpoint is Esplora's answer for a path it has no route for.
func unknownEndpoint(path string) *Error {
	// Echoing a huge path back helps nobody.
	if len(path) > 200 {
		path = path[:200] + "..."
	}
	return notFound("endpoint does not exist " + strconv.Quote(path))
}

// parseHeight parses a block height as Esplora does (Rust's usize parse:
// decimal digits, optionally after one "+"). A number too big for a
// Bitcoin height is valid but names no block: -1.
func parseHeight(s string) (int32, *Error) {
	s = strings.TrimPrefix(s, "+")
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, badRequest("Invalid number")
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		// Only overflow is left; Rust's usize parse fails the same way.
		return 0, badRequest("Invalid number")
	}
	if n > math.MaxInt32 {
		return -1, nil
	}
	return int32(n), nil
}

// blockBodyRoute names the /block/:hash/… routes answered from the body
// store, 0 for any other last segment.
func blockBodyRoute(seg string) endpoint {
	switch seg {
	case "txids":
		return epBlockTxids
	case "raw":
		return epBlockRaw
	case "txs":
		return epBlockTxs
	}
	return 0
}

// parseUint parses a number as Rust's unsigned parse does (decimal digits,
// optionally after one "+"): a value above max, like any other failure,
// is Esplora's "Invalid number".
func parseUint(s string, max uint64) (uint64, *Error) {
	s = strings.TrimPrefix(s, "+")
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, badRequest("Invalid number")
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > max {
		return 0, badRequest("Invalid number")
	}
	return n, nil
}

// parseBlockHash parses a block hash in the usual byte-reversed hex, all
// 64 digits (chainhash alone would accept fewer).
func parseBlockHash(s string) (chainhash.Hash, *Error) {
	if len(s) != 2*chainhash.HashSize {
		return chainhash.Hash{}, badRequest("Invalid hex string")
	}
	if _, err := hex.DecodeString(s); err != nil {
		return chainhash.Hash{}, badRequest("Invalid hex string")
	}
	h, err := chainhash.NewHashFromStr(s)
	if err != nil {
		return chainhash.Hash{}, badRequest("Invalid hex string")
	}
	return *h, nil
}

// parsePage reads ?limit= and ?after= of a /utxo request.
func parsePage(rawQuery string, opts Options) (page, *Error) {
	var pg page
	if rawQuery == "" {
		return pg, nil
	}
	vals, err := url.ParseQuery(rawQuery)
	if err != nil {
		return pg, badRequest("Invalid query string: " + err.Error())
	}
	if l, ok := vals["limit"]; ok {
		pg.paged = true
		n, err := strconv.Atoi(l[0])
		if err != nil || n < 1 || n > opts.MaxPage {
			return pg, badRequest("Invalid limit: expected a whole number from 1 to " + strconv.Itoa(opts.MaxPage))
		}
		pg.limit = n
	}
	if a, ok := vals["after"]; ok {
		pg.paged = true
		op, err := query.ParseOutpoint(a[0])
		if err != nil {
			return pg, badRequest("Invalid after: expected TXID:VOUT, the X-Satnode-Next header of the previous page")
		}
		pg.after = &op
	}
	if pg.paged && pg.limit == 0 {
		pg.limit = opts.MaxPage
	}
	return pg, nil
}
