package utxo

import (
	"runtime"
	"sync"

	"github.com/satnode/satnode/utxo/muhash"
)

// hasher maintains the MuHash3072 accumulator off the connect path. For
// every connected (or disconnected) block the engine hands it the
// serialized coins added and removed; it folds them into the running state
// in block order and fills in the block's digest. MuHash costs a few
// microseconds per coin, more than everything else the engine does per
// coin, so it runs in parallel with the next blocks; Flush and the read
// paths wait for it.
type hasher struct {
	jobs    chan *hashJob
	pending sync.WaitGroup
	done    chan struct{}
	workers int

	// Only the hasher goroutine touches state and err between wait calls.
	state muhash.Num3072
	err   error
}

// hashJob is one block's change to the set.
type hashJob struct {
	add, remove elemList
	// rec receives the digest of the set after the job, if not nil.
	rec *BlockRecord
	// want, if not nil, is the digest the state must have after the job
	// (checked on disconnect, where the previous block's digest is known).
	want *[32]byte
}

func newHasher(state muhash.Num3072, workers int) *hasher {
	if workers <= 0 {
		// The connecting goroutine keeps one CPU busy: splitting a block's
		// hashing across all of them only adds contention (on 2 cores, one
		// hashing goroutine imports slightly faster than two).
		workers = max(1, runtime.GOMAXPROCS(0)-1)
	}
	h := &hasher{jobs: make(chan *hashJob, 64), done: make(chan struct{}), state: state, workers: workers}
	go h.run()
	return h
}

func (h *hasher) submit(j *hashJob) {
	h.pending.Add(1)
	h.jobs <- j
}

// wait blocks until every submitted job is applied, then reports the first
// verification failure.
func (h *hasher) wait() error {
	h.pending.Wait()
	return h.err
}

// current returns the accumulator; call wait first.
func (h *hasher) current() muhash.Num3072 { return h.state }

func (h *hasher) stop() {
	close(h.jobs)
	<-h.done
}

func (h *hasher) run() {
	defer close(h.done)
	for j := range h.jobs {
		h.apply(j)
		h.pending.Done()
	}
}

// minParallelElements: below this, splitting a job across goroutines costs
// more than it saves.
const minParallelElements = 64

func (h *hasher) apply(j *hashJob) {
	num := h.product(&j.add)
	den := h.product(&j.remove)
	h.state.Mul(&num)
	if !den.IsOne() {
		h.state.Div(&den)
	}
	d := muhash.DigestOf(&h.state)
	if j.rec != nil {
		j.rec.MuHash = d
	}
	if j.want != nil && d != *j.want && h.err == nil {
		h.err = corruptf("muhash after disconnect is %x, the block record says %x", d, *j.want)
	}
}

// elemList is a list of MuHash element serializations, concatenated.
type elemList struct {
	data []byte
	ends []uint32 // end offset of each element in data
}

func (l *elemList) appendCoin(op *Outpoint, c *Coin) {
	l.data = appendMuHashElement(l.data, op, c)
	l.ends = append(l.ends, uint32(len(l.data)))
}

// productRange multiplies elements [from, to) into acc.
func (l *elemList) productRange(from, to int, acc *muhash.Num3072) {
	start := uint32(0)
	if from > 0 {
		start = l.ends[from-1]
	}
	for i := from; i < to; i++ {
		e := muhash.Element(l.data[start:l.ends[i]])
		acc.Mul(&e)
		start = l.ends[i]
	}
}

// product multiplies all elements of l, across the workers when the list
// is long enough to pay for it.
func (h *hasher) product(l *elemList) muhash.Num3072 {
	n := len(l.ends)
	parts := h.workers
	if n < minParallelElements || parts < 2 {
		acc := muhash.One()
		l.productRange(0, n, &acc)
		return acc
	}
	accs := make([]muhash.Num3072, parts)
	var wg sync.WaitGroup
	for p := range accs {
		accs[p] = muhash.One()
		from, to := n*p/parts, n*(p+1)/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.productRange(from, to, &accs[p])
		}()
	}
	wg.Wait()
	for p := 1; p < parts; p++ {
		accs[0].Mul(&accs[p])
	}
	return accs[0]
}
