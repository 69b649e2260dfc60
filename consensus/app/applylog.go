package app

import (
	"log/slog"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/utxo"
)

// blockLogEvery is how often, at most, blockLog writes a line while
// blocks come faster than that.
const blockLogEvery = 5 * time.Second

// blockLog writes the log line of each Bitcoin block applied. Blocks that
// come slowly, as they do live (one every ten minutes), get a line each:
// "bitcoin block applied" with the block's counts. A block that comes
// within blockLogEvery of the previous line is only counted, and the
// count is written as one line once blockLogEvery has passed: while
// catching up, many blocks a commit or a commit a few milliseconds, the
// log says "bitcoin blocks applied from=… to=… blocks=… txs=… elapsed=…"
// every five seconds instead of a line per block.
//
// It reads the wall clock, and only to log: nothing in it reaches the
// state. The zero value is ready; prefix goes before both messages
// ("state sync: " for a restore's blocks).
type blockLog struct {
	prefix string
	now    func() time.Time // nil: time.Now
	last   time.Time        // when the last line was written
	// The blocks counted since, not yet written.
	blocks               int
	from, to             int32
	hash                 chainhash.Hash // to's
	txs, inputs, outputs uint64
}

func (l *blockLog) clock() time.Time {
	if l.now == nil {
		return time.Now()
	}
	return l.now()
}

// applied logs a block connected to the UTXO set, or counts it.
func (l *blockLog) applied(log *slog.Logger, st *utxo.BlockStats) {
	now := l.clock()
	if l.blocks == 0 && now.Sub(l.last) >= blockLogEvery {
		log.Info(l.prefix+"bitcoin block applied", "height", st.Height, "hash", st.Hash, "txs", st.Txs,
			"inputs", st.Inputs, "outputs", st.Outputs)
		l.last = now
		return
	}
	if l.blocks == 0 {
		l.from = st.Height
	}
	l.blocks++
	l.to, l.hash = st.Height, st.Hash
	l.txs += uint64(st.Txs)
	l.inputs += uint64(st.Inputs)
	l.outputs += uint64(st.Outputs)
	l.tick(log)
}

// tick writes the blocks counted if blockLogEvery has passed since the
// last line. The application calls it at every block, so that the last
// blocks of a burst are written a few seconds later, not at the next
// Bitcoin block.
func (l *blockLog) tick(log *slog.Logger) {
	if l.blocks > 0 && l.clock().Sub(l.last) >= blockLogEvery {
		l.flush(log)
	}
}

// flush writes the blocks counted, if any.
func (l *blockLog) flush(log *slog.Logger) {
	if l.blocks == 0 {
		return
	}
	now := l.clock()
	log.Info(l.prefix+"bitcoin blocks applied", "from", l.from, "to", l.to, "hash", l.hash, "blocks", l.blocks,
		"txs", l.txs, "inputs", l.inputs, "outputs", l.outputs, "elapsed", now.Sub(l.last).Round(time.Millisecond))
	*l = blockLog{prefix: l.prefix, now: l.now, last: now}
}
