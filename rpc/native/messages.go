package native

import (
	"encoding/hex"
	"encoding/json"

	"github.com/satnode/satnode/rpc/internal/stamp"
	"github.com/satnode/satnode/utxo"
)

// Stream message types, client to server (op) and server to client (type).
const (
	opSubscribe   = "subscribe"
	opUnsubscribe = "unsubscribe"

	msgHello        = "hello"
	msgSubscribed   = "subscribed"
	msgUnsubscribed = "unsubscribed"
	msgError        = "error"
	msgConnected    = "block_connected"
	msgDisconnected = "block_disconnected"
	msgScriptHash   = "scripthash"
)

// clientMsg is every message a client may send. ID, if given, is echoed in
// the reply so a client can match replies to requests.
type clientMsg struct {
	Op           string          `json:"op"`
	ID           json.RawMessage `json:"id,omitempty"`
	ScriptHashes []string        `json:"scripthashes"`
	Addresses    []string        `json:"addresses"`
}

// helloMsg is the first message of every connection. At is the state the
// stream starts from (null before the first commit): every block connected
// or disconnected after it is reported.
type helloMsg struct {
	Type             string    `json:"type"`
	At               *stamp.At `json:"at"`
	MaxSubscriptions int       `json:"max_subscriptions"`
}

// addressJSON names the script hash an address subscribed to.
type addressJSON struct {
	Address    string `json:"address"`
	ScriptHash string `json:"scripthash"`
}

// subscribedMsg confirms a subscribe or unsubscribe: the entries it
// covered, normalized, and how many script hashes the connection follows
// now. For a subscribe, At is the state the new script hashes are followed
// from: their changes in every block after it are reported.
type subscribedMsg struct {
	Type          string          `json:"type"`
	ID            json.RawMessage `json:"id,omitempty"`
	ScriptHashes  []string        `json:"scripthashes"`
	Addresses     []addressJSON   `json:"addresses"`
	Subscriptions int             `json:"subscriptions"`
	At            *stamp.At       `json:"at,omitempty"`
}

type errorMsg struct {
	Type  string          `json:"type"`
	ID    json.RawMessage `json:"id,omitempty"`
	Op    string          `json:"op,omitempty"`
	Error string          `json:"error"`
}

// blockMsg reports one block connected or disconnected. At is the state
// after the whole commit the block belongs to (a reorg's disconnects and
// connects share it).
type blockMsg struct {
	Type     string   `json:"type"`
	Height   int32    `json:"height"`
	Hash     string   `json:"hash"`
	PrevHash string   `json:"prev_hash"`
	Time     int64    `json:"time"`
	Txs      uint32   `json:"txs"`
	At       stamp.At `json:"at"`
}

// coinJSON is one coin in a scripthash message; values in satoshis.
// SpentBy is set in "spent" only.
type coinJSON struct {
	TxID     string `json:"txid"`
	Vout     uint32 `json:"vout"`
	Value    int64  `json:"value"`
	Height   int32  `json:"height"`
	Coinbase bool   `json:"coinbase"`
	SpentBy  string `json:"spent_by,omitempty"`
}

func coinOf(c *utxo.CoinChange, spent bool) coinJSON {
	j := coinJSON{TxID: c.Outpoint.Hash.String(), Vout: c.Outpoint.Index, Value: c.Value, Height: c.Height,
		Coinbase: c.Coinbase}
	if spent {
		j.SpentBy = c.SpentBy.String()
	}
	return j
}

// scriptHashHead is what both kinds of scripthash message share.
type scriptHashHead struct {
	Type       string `json:"type"`
	ScriptHash string `json:"scripthash"`
	// Address is the address the client subscribed with, if it used one.
	Address   string `json:"address,omitempty"`
	Height    int32  `json:"height"`
	Hash      string `json:"hash"`
	Connected bool   `json:"connected"`
}

// connectedMsg: the block added Funded to the script hash's unspent set
// and took Spent out of it. Apply Funded first: a coin created and spent
// in the same block is in both.
type connectedMsg struct {
	scriptHashHead
	Funded []coinJSON `json:"funded"`
	Spent  []coinJSON `json:"spent"`
}

// disconnectedMsg: undoing the block took Removed (its outputs) out of
// the unspent set and put Restored (the coins it had spent) back. Apply
// Restored first, as for a connect: utxo.BlockChange leaves a coin created
// and spent in the same block out of both lists of a disconnect today, and
// the rule stays right should it list it in both.
type disconnectedMsg struct {
	scriptHashHead
	Removed  []coinJSON `json:"removed"`
	Restored []coinJSON `json:"restored"`
}

// touched collects one script hash's coins in one block.
type touched struct {
	added, taken []coinJSON
}

// scriptHashMsg encodes the message for a script hash touched by b, as a
// subscriber with the given address label sees it.
func scriptHashMsg(b *utxo.BlockChange, sh [32]byte, label string, t *touched) []byte {
	head := scriptHashHead{Type: msgScriptHash, ScriptHash: hex.EncodeToString(sh[:]), Address: label,
		Height: b.Height, Hash: b.Hash.String(), Connected: b.Connected}
	added, taken := t.added, t.taken
	if added == nil {
		added = []coinJSON{}
	}
	if taken == nil {
		taken = []coinJSON{}
	}
	if b.Connected {
		return encode(connectedMsg{scriptHashHead: head, Funded: added, Spent: taken})
	}
	return encode(disconnectedMsg{scriptHashHead: head, Removed: added, Restored: taken})
}

func blockMsgOf(b *utxo.BlockChange, at stamp.At) []byte {
	typ := msgConnected
	if !b.Connected {
		typ = msgDisconnected
	}
	return encode(blockMsg{Type: typ, Height: b.Height, Hash: b.Hash.String(), PrevHash: b.Header.PrevBlock.String(),
		Time: b.Header.Timestamp.Unix(), Txs: b.Txs, At: at})
}

// encode marshals a message of ours; the types hold nothing json can fail
// on, so an error is a bug, reported to the client rather than hidden.
func encode(m any) []byte {
	b, err := json.Marshal(m)
	if err != nil {
		b, _ = json.Marshal(errorMsg{Type: msgError, Error: "encode: " + err.Error()})
	}
	return b
}
