package importer

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/satnode/satnode/node/blkfile"
	"github.com/satnode/satnode/utxo"
)

// progress prints a line every interval: height, rates over the last
// interval, and an ETA from the bytes left to read (block sizes vary too
// much across a chain for a block-count ETA to mean anything).
type progress struct {
	log      *slog.Logger
	every    time.Duration
	chain    *blkfile.Chain
	end      int32
	start    time.Time
	last     time.Time
	window   counters
	total    counters
	bytesAll int64
}

type counters struct {
	blocks, txs, io, bytes int64
}

func newProgress(log *slog.Logger, every time.Duration, chain *blkfile.Chain, from, end int32) *progress {
	now := time.Now()
	total := chain.BytesFrom(from) - chain.BytesFrom(end+1)
	return &progress{log: log, every: every, chain: chain, end: end, start: now, last: now, bytesAll: total}
}

func (p *progress) block(height int32, st *utxo.BlockStats, size int) {
	c := counters{1, int64(st.Txs), int64(st.Inputs) + int64(st.Outputs), int64(size)}
	p.window.add(c)
	p.total.add(c)
	now := time.Now()
	if now.Sub(p.last) < p.every {
		return
	}
	secs := now.Sub(p.last).Seconds()
	w := p.window
	left := p.bytesAll - p.total.bytes
	eta := "-"
	if rate := float64(p.total.bytes) / now.Sub(p.start).Seconds(); rate > 0 {
		eta = time.Duration(float64(left) / rate * float64(time.Second)).Round(time.Second).String()
	}
	p.log.Info("import",
		"height", height,
		"tip", p.end,
		"done", fmt.Sprintf("%.1f%%", 100*float64(p.total.bytes)/float64(max(p.bytesAll, 1))),
		"blocks_per_s", fmt.Sprintf("%.0f", float64(w.blocks)/secs),
		"tx_per_s", fmt.Sprintf("%.0f", float64(w.txs)/secs),
		"io_per_s", fmt.Sprintf("%.0f", float64(w.io)/secs),
		"eta", eta)
	p.window = counters{}
	p.last = now
}

func (p *progress) final(r *Result) {
	secs := r.Elapsed.Seconds()
	if secs <= 0 {
		secs = 1e-9
	}
	p.log.Info("import finished",
		"blocks", r.Blocks, "txs", r.Txs, "inputs", r.Inputs, "outputs", r.Outputs,
		"elapsed", r.Elapsed.Round(time.Millisecond).String(),
		"tx_per_s", fmt.Sprintf("%.0f", float64(r.Txs)/secs),
		"io_per_s", fmt.Sprintf("%.0f", float64(r.Inputs+r.Outputs)/secs))
}

func (c *counters) add(o counters) {
	c.blocks += o.blocks
	c.txs += o.txs
	c.io += o.io
	c.bytes += o.bytes
}
