package core

import (
	"strconv"
	"strings"
)

// arg is one declared parameter of a method: its name for named calls and
// the JSON type Core's RPCArg::MatchesType checks (check false for the
// arguments Core declares with skip_type_check, like hash_or_height).
type arg struct {
	name  string
	kind  kind
	check bool
}

// method is one RPC method: its parameters, how many are required, the
// help text Core returns (as a -1 error) when the argument count is wrong,
// and the function that appends its JSON result to dst.
type method struct {
	name     string
	args     []arg
	required int
	help     string
	run      func(c *call, args [][]byte, dst []byte) ([]byte, error)
}

// methods builds the method table. It is built by New, not at package
// initialization, and never changes afterwards.
func methods(s *server) map[string]*method {
	ms := []*method{
		{name: "getblockchaininfo", run: s.getBlockchainInfo,
			help: "getblockchaininfo\n\nReturns an object containing various state info regarding blockchain processing.\n"},
		{name: "getblockcount", run: s.getBlockCount,
			help: "getblockcount\n\nReturns the height of the most-work fully-validated chain.\n"},
		{name: "getbestblockhash", run: s.getBestBlockHash,
			help: "getbestblockhash\n\nReturns the hash of the best (tip) block in the most-work fully-validated chain.\n"},
		{name: "getblockhash", run: s.getBlockHash, required: 1,
			args: []arg{{"height", kindNumber, true}},
			help: "getblockhash height\n\nReturns hash of block in best-block-chain at height provided.\n\n" +
				"Arguments:\n1. height    (numeric, required) The height index\n"},
		{name: "getblockheader", run: s.getBlockHeader, required: 1,
			args: []arg{{"blockhash", kindString, true}, {"verbose", kindBool, true}},
			help: "getblockheader \"blockhash\" ( verbose )\n\n" +
				"If verbose is false, returns a string that is serialized, hex-encoded data for blockheader 'hash'.\n" +
				"If verbose is true, returns an Object with information about blockheader <hash>.\n\n" +
				"Arguments:\n1. blockhash    (string, required) The block hash\n" +
				"2. verbose      (boolean, optional, default=true) true for a json object, false for the hex-encoded data\n"},
		{name: "gettxout", run: s.getTxOut, required: 2,
			args: []arg{{"txid", kindString, true}, {"n", kindNumber, true}, {"include_mempool", kindBool, true}},
			help: "gettxout \"txid\" n ( include_mempool )\n\nReturns details about an unspent transaction output.\n\n" +
				"Arguments:\n1. txid               (string, required) The transaction id\n" +
				"2. n                  (numeric, required) vout number\n" +
				"3. include_mempool    (boolean, optional, default=true) Ignored: satnode has no mempool\n"},
		{name: "gettxoutsetinfo", run: s.getTxOutSetInfo,
			args: []arg{{"hash_type", kindString, true}, {"hash_or_height", kindNumber, false}, {"use_index", kindBool, true}},
			help: "gettxoutsetinfo ( \"hash_type\" hash_or_height use_index )\n\n" +
				"Returns statistics about the unspent transaction output set.\n\n" +
				"Arguments:\n1. hash_type         (string, optional, default=\"muhash\") \"muhash\" or \"none\" (satnode keeps no hash_serialized_3)\n" +
				"2. hash_or_height    (string or numeric, optional) The block hash or height of the target height\n" +
				"3. use_index         (boolean, optional, default=true) Ignored: satnode always answers from its block records\n"},
		{name: "scantxoutset", run: s.scanTxOutSet, required: 1,
			args: []arg{{"action", kindString, true}, {"scanobjects", kindArray, true}},
			help: "scantxoutset \"action\" ( [scanobjects,...] )\n\n" +
				"Returns the unspent outputs paying to addr() or raw() descriptors, from satnode's script index.\n\n" +
				"Arguments:\n1. action         (string, required) \"start\", \"abort\" or \"status\"\n" +
				"2. scanobjects    (json array, optional) Descriptors or {\"desc\": ..., \"range\": ...} objects\n"},
		{name: "getblock", run: s.getBlock, required: 1,
			args: []arg{{"blockhash", kindString, true}, {"verbosity|verbose", kindNumber, false}},
			help: "getblock \"blockhash\" ( verbosity )\n\n" +
				"If verbosity is 0, returns a string that is serialized, hex-encoded data for block 'hash'.\n" +
				"If verbosity is 1, returns an Object with information about block <hash>.\n" +
				"If verbosity is 2, returns an Object with information about block <hash> and information about each transaction.\n" +
				"If verbosity is 3, returns an Object with information about block <hash> and information about each transaction, including prevout information for inputs.\n" +
				"satnode answers for the blocks of its chain whose body it holds ([bodies] retention).\n\n" +
				"Arguments:\n1. blockhash    (string, required) The block hash\n" +
				"2. verbosity    (numeric, optional, default=1) 0 for hex-encoded data, 1 for a JSON object, 2 for JSON object with transaction data, and 3 for JSON object with transaction data including prevout information for inputs\n"},
		{name: "getrawtransaction", run: s.getRawTransaction, required: 1,
			args: []arg{{"txid", kindString, true}, {"verbosity|verbose", kindNumber, false}, {"blockhash", kindString, true}},
			help: "getrawtransaction \"txid\" ( verbosity \"blockhash\" )\n\n" +
				"Return the raw transaction data from the block given by blockhash.\n" +
				"satnode has no mempool and no transaction index: the block hash is required, and the block's body must be held ([bodies] retention).\n\n" +
				"Arguments:\n1. txid         (string, required) The transaction id\n" +
				"2. verbosity    (numeric, optional, default=0) 0 for hex-encoded data, 1 for a JSON object, and 2 for JSON object with fee and prevout\n" +
				"3. blockhash    (string, required by satnode) The block in which to look for the transaction\n"},
		{name: "getnetworkinfo", run: s.getNetworkInfo,
			help: "getnetworkinfo\n\nReturns an object containing various state info regarding P2P networking.\n"},
	}
	m := make(map[string]*method, len(ms))
	for _, x := range ms {
		m[x.name] = x
	}
	return m
}

// positional returns the call's arguments in declaration order, checked
// as Core's RPCHelpMan::HandleRequest checks them: named parameters are
// mapped to positions first (transformNamedArguments), then a wrong count
// is the help text as a -1 error and wrong types one -3 error listing
// every mismatch. A nil element is an argument left out.
func (m *method) positional(params []byte) ([][]byte, *Error) {
	var args [][]byte
	switch kindOf(params) {
	case kindArray:
		var ok bool
		if args, ok = elements(params); !ok {
			return nil, &Error{Code: CodeInvalidRequest, Message: "Params must be an array or object"}
		}
	case kindObject:
		var err *Error
		if args, err = m.named(params); err != nil {
			return nil, err
		}
	}
	if len(args) < m.required || len(args) > len(m.args) {
		return nil, &Error{Code: CodeMisc, Message: m.help}
	}
	var mismatch []string
	for i, a := range m.args {
		var v []byte
		if i < len(args) {
			v = args[i]
		}
		k := kindOf(v)
		if !a.check || k == a.kind || (k == kindNull && i >= m.required) {
			continue
		}
		mismatch = append(mismatch, "    "+strconv.Quote("Position "+strconv.Itoa(i+1)+" ("+a.name+")")+": "+
			strconv.Quote("JSON value of type "+k.String()+" is not of expected type "+a.kind.String()))
	}
	if len(mismatch) > 0 {
		// UniValue::write(4) of the object Core builds.
		return nil, &Error{Code: CodeType, Message: "Wrong type passed:\n{\n" + strings.Join(mismatch, ",\n") + "\n}"}
	}
	return args, nil
}

// named maps an object of named parameters to positions like Core's
// transformNamedArguments: holes between given parameters become nulls,
// "args" may carry leading positional ones, and an unknown or repeated
// name is an error.
func (m *method) named(obj []byte) ([][]byte, *Error) {
	in := map[string][]byte{}
	var order []string
	var dup string
	ok := eachMember(obj, func(key, val []byte) bool {
		k := keyString(key)
		if _, seen := in[k]; seen {
			dup = k
			return false
		}
		in[k] = val
		order = append(order, k)
		return true
	})
	if !ok {
		return nil, &Error{Code: CodeInvalidRequest, Message: "Params must be an array or object"}
	}
	if dup != "" {
		return nil, rpcErr(CodeInvalidParameter, "Parameter %s specified multiple times", dup)
	}
	var out [][]byte
	hole, initialHole := 0, 0
	initial := ""
	for _, a := range m.args {
		// A name may list aliases, "verbosity|verbose": the first one
		// given is taken, as Core's transformNamedArguments does; another
		// alias given too is then an unknown parameter.
		var v []byte
		found := false
		name := a.name
		for alias := range strings.SplitSeq(a.name, "|") {
			if v, found = in[alias]; found {
				name = alias
				break
			}
		}
		if !found {
			hole++
			if len(out) == 0 {
				initialHole = hole
			}
			continue
		}
		for ; hole > 0; hole-- {
			out = append(out, []byte("null"))
		}
		if initial == "" {
			initial = name
		}
		out = append(out, v)
		delete(in, name)
	}
	if pos, found := in["args"]; found && kindOf(pos) == kindArray {
		delete(in, "args")
		posArgs, ok := elements(pos)
		if !ok {
			return nil, &Error{Code: CodeInvalidRequest, Message: "Params must be an array or object"}
		}
		if initialHole < len(posArgs) && initial != "" {
			return nil, rpcErr(CodeInvalidParameter, "Parameter %s specified twice both as positional and named argument", initial)
		}
		if len(out) > len(posArgs) {
			posArgs = append(posArgs, out[len(posArgs):]...)
		}
		out = posArgs
	}
	for _, k := range order {
		if _, left := in[k]; left {
			return nil, rpcErr(CodeInvalidParameter, "Unknown named parameter %s", k)
		}
	}
	return out, nil
}
