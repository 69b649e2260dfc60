package native

import "time"

// The states a node passes through on its way to live. A node that joins
// by state sync goes through all three in order; one that starts from
// genesis or from its own store starts at catching up.
const (
	// StateSyncing: the application is restoring a snapshot (or waiting
	// for one); there is no committed state to answer from yet.
	StateSyncing = "state_syncing"
	// StateCatchingUp: CometBFT's blocksync replays blocks up to the
	// network's head.
	StateCatchingUp = "catching_up"
	// StateLive: the node follows consensus.
	StateLive = "live"
)

// NodeState is the "node" object of /v1/status: where the node is on its
// way to live, for an operator. The node computes it (Options.NodeState);
// this package only serves it, so that it needs no view of its own.
type NodeState struct {
	// State is StateSyncing, StateCatchingUp or StateLive.
	State string `json:"state"`
	// Height is CometBFT's last block height (the snapshot's once a
	// restore is done and no block followed yet); 0 before any.
	Height int64 `json:"height"`
	// Target is, while catching up, the highest height the peers report
	// having committed; absent while unknown (no peer has said).
	Target int64 `json:"target,omitempty"`
	// BlocksPerSecond is the catch-up rate observed so far, absent until
	// one can be measured.
	BlocksPerSecond float64 `json:"blocks_per_second,omitempty"`
	// ETASeconds estimates the seconds left in the current state (restore
	// or catch-up); absent when no estimate can be made (live, no rate or
	// no target yet).
	ETASeconds *int64 `json:"eta_seconds,omitempty"`
	// Restore is the state-sync restore's progress, present while state
	// syncing.
	Restore *RestoreProgress `json:"restore,omitempty"`
}

// RestoreProgress is a state-sync restore's progress as /v1/status shows
// it (app.RestoreStatus with the node's estimate). Sizes are in bytes.
type RestoreProgress struct {
	// Phase is app.RestorePhase: "" before a snapshot is accepted, then
	// consensus, coins, index, tree, blocks, verify, done; "failed" while
	// CometBFT looks for another snapshot after a failed one.
	Phase string `json:"phase"`
	// Height is the snapshot's CometBFT height; BaseHeight and TipHeight
	// its first and last Bitcoin blocks.
	Height     int64 `json:"height,omitempty"`
	BaseHeight int32 `json:"base_height,omitempty"`
	TipHeight  int32 `json:"tip_height,omitempty"`
	// Chunks of ChunksTotal received and checked, Bytes of BytesTotal.
	Chunks      int   `json:"chunks"`
	ChunksTotal int   `json:"chunks_total"`
	Bytes       int64 `json:"bytes"`
	BytesTotal  int64 `json:"bytes_total"`
	// Coins loaded of CoinsTotal; Indexed entries of the script-hash index.
	Coins      uint64 `json:"coins"`
	CoinsTotal uint64 `json:"coins_total"`
	Indexed    uint64 `json:"indexed,omitempty"`
	// Blocks connected of BlocksTotal (the snapshot's base to its tip).
	Blocks      int `json:"blocks"`
	BlocksTotal int `json:"blocks_total"`
	// Percent is app.RestoreStatus.Fraction in percent, one decimal: a
	// guide, not a measure.
	Percent        float64    `json:"percent"`
	Started        *time.Time `json:"started,omitempty"`
	Attempts       int        `json:"attempts"`
	RejectedChunks int        `json:"rejected_chunks"`
	ETASeconds     *int64     `json:"eta_seconds,omitempty"`
}

// nodeOnly is /v1/status before any committed state: the node's state
// alone, no chain fields (there is no chain to describe yet).
type nodeOnly struct {
	Node NodeState `json:"node"`
}
