package utxo_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/leveldbstore"
	"github.com/satnode/satnode/utxo/memstore"
)

// synthCoins returns n coins as Core's snapshot files list them: random
// txids in ascending order, one to five outputs each (vouts ascending, with
// gaps), P2WPKH, P2PKH and P2TR scripts. A fifth of the outputs pay a small
// pool of reused scripts, so script hashes recur across chunks and within
// one transaction, which exercises the counters' reloads and tx counts.
func synthCoins(n int, seed uint64, maxHeight int32) []utxo.SeedCoin {
	rng := rand.New(rand.NewPCG(seed, 7))
	pool := make([][]byte, 16)
	for i := range pool {
		pool[i] = synthScript(rng)
	}
	coins := make([]utxo.SeedCoin, 0, n+5)
	for len(coins) < n {
		var txid chainhash.Hash
		for i := 0; i < 32; i += 8 {
			binary.LittleEndian.PutUint64(txid[i:], rng.Uint64())
		}
		height := rng.Int32N(maxHeight + 1)
		cb := rng.IntN(20) == 0
		vout := uint32(rng.IntN(3))
		for range 1 + rng.IntN(5) {
			script := synthScript(rng)
			if rng.IntN(5) == 0 {
				script = pool[rng.IntN(len(pool))]
			}
			coins = append(coins, utxo.SeedCoin{
				Outpoint: utxo.Outpoint{Hash: txid, Index: vout},
				Coin:     utxo.Coin{Value: rng.Int64N(100_000_000), Script: script, Height: height, Coinbase: cb},
			})
			vout += 1 + uint32(rng.IntN(2))
		}
	}
	coins = coins[:n]
	slices.SortFunc(coins, func(a, b utxo.SeedCoin) int {
		if c := slices.Compare(a.Outpoint.Hash[:], b.Outpoint.Hash[:]); c != 0 {
			return c
		}
		return int(int64(a.Outpoint.Index) - int64(b.Outpoint.Index))
	})
	return coins
}

func synthScript(rng *rand.Rand) []byte {
	var s []byte
	switch rng.IntN(3) {
	case 0: // P2WPKH
		s = append([]byte{0x00, 0x14}, make([]byte, 20)...)
	case 1: // P2PKH
		s = append([]byte{0x76, 0xa9, 0x14}, make([]byte, 20)...)
		s = append(s, 0x88, 0xac)
	default: // P2TR
		s = append([]byte{0x51, 0x20}, make([]byte, 32)...)
	}
	for i := len(s) - 20; i < len(s); i++ {
		s[i] = byte(rng.Uint32())
	}
	return s
}

// streamOf returns a next function over coins that fails with errStop
// after failAfter coins (never if negative). It hands out each coin's
// script in a buffer it reuses, as a file reader would.
func streamOf(coins []utxo.SeedCoin, failAfter int) func() (utxo.SeedCoin, error) {
	i := 0
	var buf []byte
	return func() (utxo.SeedCoin, error) {
		if i == failAfter {
			return utxo.SeedCoin{}, errStop
		}
		if i == len(coins) {
			return utxo.SeedCoin{}, io.EOF
		}
		sc := coins[i]
		i++
		buf = append(buf[:0], sc.Coin.Script...)
		sc.Coin.Script = buf
		return sc, nil
	}
}

var (
	errStop   = errors.New("stream stopped")
	errUpdate = errors.New("injected update failure")
)

// failingStore fails its failAt-th Update (1-based) and every later one,
// writing nothing: a disk that fills up or a process that dies mid-load.
type failingStore struct {
	utxo.Store
	updates, failAt int
}

func (s *failingStore) Update(hint int, sync bool, fill func(utxo.Batch) error) error {
	s.updates++
	if s.failAt > 0 && s.updates >= s.failAt {
		return errUpdate
	}
	return s.Store.Update(hint, sync, fill)
}

// seedFixture is a base with a header and times, and its coins.
type seedFixture struct {
	base  utxo.SeedBase
	coins []utxo.SeedCoin
}

func newSeedFixture(n int) seedFixture {
	hdr := &wire.BlockHeader{Version: 4, Timestamp: time.Unix(1_700_000_000, 0), Bits: 0x207fffff, Nonce: 7}
	times := map[int32]uint32{}
	for h := int32(0); h <= 500; h += 3 {
		times[h] = 1_600_000_000 + uint32(h)*600
	}
	base := utxo.SeedBase{Height: 500, Hash: hdr.BlockHash(), Header: hdr, Times: times}
	return seedFixture{base: base, coins: synthCoins(n, uint64(n), 500)}
}

// reference seeds coins the way Seed did before streaming and returns the
// store's content digest and the set's MuHash.
func (f seedFixture) reference(t *testing.T) (content, muhash [32]byte) {
	t.Helper()
	s := memstore.New()
	e := openEngine(t, s, utxo.Config{Params: utxo.RegTest()})
	if err := e.SeedInMemory(f.base, f.coins); err != nil {
		t.Fatal(err)
	}
	muhash, err := e.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	return digestOf(t, s), muhash
}

type backend struct {
	name string
	open func(t *testing.T) utxo.Store
}

var backends = []backend{
	{"mem", func(*testing.T) utxo.Store { return memstore.New() }},
	{"leveldb", func(t *testing.T) utxo.Store {
		s, err := leveldbstore.Open(t.TempDir(), leveldbstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}},
}

// TestSeedStreamMatchesSeed loads the same coins under cache budgets from
// one chunk to a chunk per transaction, on both backends, through
// SeedStream and through Seed (given the coins shuffled), and requires the
// store and MuHash of the in-memory Seed.
func TestSeedStreamMatchesSeed(t *testing.T) {
	f := newSeedFixture(6000)
	wantContent, wantMu := f.reference(t)
	for _, be := range backends {
		for _, budget := range []int64{0, 256 << 10, 32 << 10, 1} {
			if be.name == "leveldb" && budget == 1 {
				continue // a synced write per transaction: slow, and mem covers it
			}
			for _, viaSeed := range []bool{false, true} {
				name := fmt.Sprintf("%s/budget=%d/seed=%v", be.name, budget, viaSeed)
				t.Run(name, func(t *testing.T) {
					s := be.open(t)
					e := openEngine(t, s, utxo.Config{Params: utxo.RegTest(), CacheBytes: budget, ManualFlush: true})
					var last utxo.SeedProgress
					var err error
					if viaSeed {
						shuffled := slices.Clone(f.coins)
						rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) {
							shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
						})
						err = e.Seed(f.base, shuffled)
					} else {
						err = e.SeedStream(f.base, streamOf(f.coins, -1), utxo.SeedOptions{
							ExpectedCoins: uint64(len(f.coins)),
							Progress:      func(p utxo.SeedProgress) { last = p },
						})
					}
					if err != nil {
						t.Fatal(err)
					}
					mu, err := e.Digest()
					if err != nil {
						t.Fatal(err)
					}
					if mu != wantMu {
						t.Fatalf("muhash %x, Seed's %x", mu, wantMu)
					}
					if err := e.Close(); err != nil {
						t.Fatal(err)
					}
					if d := digestOf(t, s); d != wantContent {
						t.Fatalf("store differs from Seed's")
					}
					if !viaSeed {
						if !last.Done || last.Coins != uint64(len(f.coins)) || last.Read != last.Coins {
							t.Fatalf("last progress %+v", last)
						}
						if budget > 0 && budget <= 32<<10 && last.Chunks < 10 {
							t.Fatalf("budget %d: only %d chunks", budget, last.Chunks)
						}
						t.Logf("%d chunks", last.Chunks)
					}
					if ms, ok := s.(*memstore.Store); ok && ms.HintTooSmall() > 0 {
						t.Fatalf("%d flushes wrote more than their size hint", ms.HintTooSmall())
					}
				})
			}
		}
	}
}

// TestSeedStreamResume interrupts loads after some chunks (the stream
// fails, or the store fails an update), checks that the half-loaded store
// is refused by Open, by Reader.State and by the engine's operations, then
// resumes it (with another cache budget, to show it does not matter) and
// requires the store of an uninterrupted load.
func TestSeedStreamResume(t *testing.T) {
	f := newSeedFixture(6000)
	wantContent, wantMu := f.reference(t)
	opts := utxo.SeedOptions{ExpectedCoins: uint64(len(f.coins))}
	type interruption struct {
		failAfter int  // coins the stream returns before failing; -1 never
		failAt    int  // the store's update that fails; 0 never
		indexing  bool // the load stops in its index phase, part of it done
		// treeOff: failAt < 0 counts back from the end of a load without
		// the tree phase (its updates come last).
		treeOff bool
	}
	cases := []struct {
		name  string
		steps []interruption
	}{
		{"stream fails at a third", []interruption{{2000, 0, false, false}}},
		{"stream fails near the end", []interruption{{5990, 0, false, false}}},
		// Update 1 writes the marker; then they alternate: a chunk of
		// coins, then its marker.
		{"the first chunk fails", []interruption{{-1, 2, false, false}}},
		{"the first chunk's marker fails", []interruption{{-1, 3, false, false}}},
		{"update 4 fails", []interruption{{-1, 4, false, false}}},
		{"chunk 3's marker fails", []interruption{{-1, 6, false, false}}},
		// The index phase writes index entries, counters and the marker
		// in turn, about 32 KiB of entries at a time.
		{"index phase: an update of entries fails", []interruption{{-1, -9, true, true}}},
		{"index phase: a marker fails", []interruption{{-1, -5, true, true}}},
		{"index phase: counters fail", []interruption{{-1, -6, true, true}}},
		// The tree phase: its marker, then updates of tree records.
		{"tree phase: its marker fails", []interruption{{-1, -1, false, true}}},
		{"tree phase: an update of records fails", []interruption{{-1, -2, false, false}}},
		// The second run begins by deleting the first one's tree records.
		{"tree phase, twice", []interruption{{-1, -3, false, false}, {-1, 2, false, false}}},
		{"twice: stream, then update", []interruption{{1500, 0, false, false}, {-1, 5, false, false}}},
		{"last update fails", []interruption{{-1, -1, false, false}}},
	}
	for _, be := range backends {
		for _, tc := range cases {
			t.Run(be.name+"/"+tc.name, func(t *testing.T) {
				inner := be.open(t)
				var chunks uint64
				var phase utxo.LoadPhase
				for _, step := range tc.steps {
					fs := &failingStore{Store: inner, failAt: step.failAt}
					if step.failAt < 0 {
						// Count a whole load's updates: -1 fails the last,
						// -2 the one before it, and so on.
						fs.failAt = countUpdates(t, f, 32<<10, step.treeOff) + 1 + step.failAt
					}
					e, err := utxo.Open(fs, utxo.Config{Params: utxo.RegTest(), CacheBytes: 32 << 10, ResumeLoad: true})
					if err != nil {
						t.Fatal(err)
					}
					err = e.SeedStream(f.base, streamOf(f.coins, step.failAfter), opts)
					if !errors.Is(err, errStop) && !errors.Is(err, errUpdate) {
						t.Fatalf("interrupted load returned %v", err)
					}
					before := digestOf(t, inner)
					if err := e.Close(); err == nil {
						if after := digestOf(t, inner); after != before {
							t.Fatal("Close after a failed load wrote to the store")
						}
					}
					checkIncomplete(t, inner)
					ld, err := utxo.NewReader(inner).LoadState()
					if err != nil {
						t.Fatal(err)
					}
					if ld.Chunks < chunks || ld.BaseHeight != f.base.Height || ld.ExpectedCoins != opts.ExpectedCoins {
						t.Fatalf("marker %+v after %d chunks", ld, chunks)
					}
					chunks, phase = ld.Chunks, ld.Phase
					if step.indexing && (ld.Phase != utxo.LoadIndex || ld.IndexGroups == 0 || ld.IndexEntries == 0) {
						t.Fatalf("marker %+v: not part way through the index", ld)
					}
				}
				e, err := utxo.Open(inner, utxo.Config{Params: utxo.RegTest(), CacheBytes: 100 << 10, ResumeLoad: true})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := e.Digest(); !errors.Is(err, utxo.ErrLoadIncomplete) {
					t.Fatalf("Digest of a resumed, unfinished load: %v", err)
				}
				if err := e.Flush(); !errors.Is(err, utxo.ErrLoadIncomplete) {
					t.Fatalf("Flush of a resumed, unfinished load: %v", err)
				}
				var last utxo.SeedProgress
				ro := opts
				ro.Progress = func(p utxo.SeedProgress) { last = p }
				if err := e.SeedStream(f.base, streamOf(f.coins, -1), ro); err != nil {
					t.Fatal(err)
				}
				// A load stopped in its index phase resumes without reading
				// the stream again.
				wantRead, wantIndexed := uint64(len(f.coins)), uint64(len(f.coins))
				if phase == utxo.LoadIndex || phase == utxo.LoadTree {
					wantRead = 0
				}
				if phase == utxo.LoadTree {
					wantIndexed = 0 // the index was finished
				}
				// Coins are skipped if a chunk's marker was written.
				if (wantRead > 0 && chunks > 0) != (last.Skipped > 0) || last.Read != wantRead || last.Coins != uint64(len(f.coins)) ||
					last.Indexed != wantIndexed || last.TreeLeaves != uint64(len(f.coins)) {
					t.Fatalf("resume progress %+v after an interruption in the %s phase", last, phase)
				}
				mu, err := e.Digest()
				if err != nil {
					t.Fatal(err)
				}
				if err := e.Close(); err != nil {
					t.Fatal(err)
				}
				if mu != wantMu || digestOf(t, inner) != wantContent {
					t.Fatal("resumed load differs from an uninterrupted one")
				}
				if _, err := utxo.NewReader(inner).LoadState(); !errors.Is(err, utxo.ErrNotFound) {
					t.Fatalf("marker after the load: %v", err)
				}
				openEngine(t, inner, utxo.Config{Params: utxo.RegTest()}).Close()
			})
		}
	}
}

// countUpdates returns how many updates an uninterrupted load makes.
func countUpdates(t *testing.T, f seedFixture, budget int64, noTree bool) int {
	t.Helper()
	fs := &failingStore{Store: memstore.New()}
	e := openEngine(t, fs, utxo.Config{Params: utxo.RegTest(), CacheBytes: budget, NoTree: noTree})
	if err := e.SeedStream(f.base, streamOf(f.coins, -1), utxo.SeedOptions{}); err != nil {
		t.Fatal(err)
	}
	return fs.updates
}

// checkIncomplete requires every way in to refuse a half-loaded store.
func checkIncomplete(t *testing.T, s utxo.Store) {
	t.Helper()
	if _, err := utxo.Open(s, utxo.Config{Params: utxo.RegTest()}); !errors.Is(err, utxo.ErrLoadIncomplete) {
		t.Fatalf("Open of a half-loaded store: %v", err)
	}
	if _, err := utxo.Open(s, utxo.Config{Params: utxo.MainNet(), ResumeLoad: true}); !errors.Is(err, utxo.ErrWrongNetwork) {
		t.Fatalf("Open of a regtest load for mainnet: %v", err)
	}
	if _, err := utxo.NewReader(s).State(); !errors.Is(err, utxo.ErrLoadIncomplete) {
		t.Fatalf("Reader.State of a half-loaded store: %v", err)
	}
}

// TestSeedStreamRefuses feeds bad streams, before and after the first
// chunk, and bad resumptions.
func TestSeedStreamRefuses(t *testing.T) {
	f := newSeedFixture(3000)
	mod := func(fn func(c []utxo.SeedCoin) []utxo.SeedCoin) []utxo.SeedCoin {
		return fn(slices.Clone(f.coins))
	}
	cases := []struct {
		name  string
		coins []utxo.SeedCoin
		opts  utxo.SeedOptions
	}{
		{"duplicate", mod(func(c []utxo.SeedCoin) []utxo.SeedCoin { return slices.Insert(c, 2500, c[2500]) }), utxo.SeedOptions{}},
		{"out of order", mod(func(c []utxo.SeedCoin) []utxo.SeedCoin { c[10], c[2900] = c[2900], c[10]; return c }), utxo.SeedOptions{}},
		{"vouts out of order", mod(func(c []utxo.SeedCoin) []utxo.SeedCoin {
			for i := 2000; ; i++ {
				if c[i].Outpoint.Hash == c[i+1].Outpoint.Hash {
					c[i], c[i+1] = c[i+1], c[i]
					return c
				}
			}
		}), utxo.SeedOptions{}},
		{"above base", mod(func(c []utxo.SeedCoin) []utxo.SeedCoin { c[2000].Coin.Height = 501; return c }), utxo.SeedOptions{}},
		{"unspendable", mod(func(c []utxo.SeedCoin) []utxo.SeedCoin { c[2000].Coin.Script = []byte{0x6a, 1, 2}; return c }), utxo.SeedOptions{}},
		{"over 21M", mod(func(c []utxo.SeedCoin) []utxo.SeedCoin {
			for i := 100; i < 120; i++ {
				c[i].Coin.Value = utxo.MaxMoney
			}
			return c
		}), utxo.SeedOptions{}},
		{"fewer than announced", f.coins[:2999], utxo.SeedOptions{ExpectedCoins: 3000}},
		{"more than announced", f.coins, utxo.SeedOptions{ExpectedCoins: 2999}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := memstore.New()
			e := openEngine(t, s, utxo.Config{Params: utxo.RegTest(), CacheBytes: 32 << 10})
			err := e.SeedStream(f.base, streamOf(tc.coins, -1), tc.opts)
			if !errors.Is(err, utxo.ErrBadSnapshot) {
				t.Fatalf("got %v, want ErrBadSnapshot", err)
			}
			if _, err := e.Digest(); err == nil {
				t.Fatal("engine usable after a refused load")
			}
			e.Close()
			if _, err := utxo.NewReader(s).State(); err == nil {
				t.Fatal("a refused load left a state record")
			}
		})
	}

	// Resumptions that do not match the interrupted load.
	interrupted := func(t *testing.T) utxo.Store {
		s := memstore.New()
		e := openEngine(t, s, utxo.Config{Params: utxo.RegTest(), CacheBytes: 32 << 10})
		if err := e.SeedStream(f.base, streamOf(f.coins, 2000), utxo.SeedOptions{ExpectedCoins: 3000}); !errors.Is(err, errStop) {
			t.Fatal(err)
		}
		e.Close()
		return s
	}
	ld, err := utxo.NewReader(interrupted(t)).LoadState()
	if err != nil {
		t.Fatal(err)
	}
	other := f.base
	other.Height++
	lastIdx := slices.IndexFunc(f.coins, func(c utxo.SeedCoin) bool { return c.Outpoint == ld.Last })
	extra := slices.Insert(slices.Clone(f.coins), lastIdx+1,
		utxo.SeedCoin{Outpoint: utxo.Outpoint{Hash: ld.Last.Hash, Index: ld.Last.Index + 1}, Coin: f.coins[0].Coin})
	resumes := []struct {
		name  string
		base  utxo.SeedBase
		coins []utxo.SeedCoin
		opts  utxo.SeedOptions
	}{
		{"other base", other, f.coins, utxo.SeedOptions{ExpectedCoins: 3000}},
		{"other count", f.base, f.coins, utxo.SeedOptions{ExpectedCoins: 3001}},
		{"stream ends early", f.base, f.coins[:lastIdx], utxo.SeedOptions{ExpectedCoins: 3000}},
		{"other stream", f.base, extra, utxo.SeedOptions{ExpectedCoins: 3000}},
	}
	for _, tc := range resumes {
		t.Run("resume "+tc.name, func(t *testing.T) {
			s := interrupted(t)
			e := openEngine(t, s, utxo.Config{Params: utxo.RegTest(), ResumeLoad: true})
			if err := e.SeedStream(tc.base, streamOf(tc.coins, -1), tc.opts); !errors.Is(err, utxo.ErrBadSnapshot) {
				t.Fatalf("got %v, want ErrBadSnapshot", err)
			}
			e.Close()
			checkIncomplete(t, s)
		})
	}
}

// TestSeedStreamProgress checks the reports' cadence with an injected
// clock: every ProgressEvery coins, once a second in between (the clock is
// read every 4096 coins), and once at the end.
func TestSeedStreamProgress(t *testing.T) {
	f := newSeedFixture(20000)
	for _, tc := range []struct {
		every uint64
		want  []uint64
	}{
		// Coins read, then index entries written, then tree leaves (after
		// a report as each phase begins).
		{8000, []uint64{8000, 16000, 20000 + 0, 20000 + 8000, 20000 + 16000, 40000 + 0, 40000 + 8000, 40000 + 16000, 40000 + 20000}},
		// 10,000 coins a second: the second has passed at 12288. The
		// clock stands still in the index and tree phases: the reports
		// at their beginnings and at the end.
		{0, []uint64{12288, 20000 + 0, 40000 + 0, 40000 + 20000}},
	} {
		now := time.Unix(0, 0)
		var reports []utxo.SeedProgress
		var bytes int64
		next := streamOf(f.coins, -1)
		e := openEngine(t, memstore.New(), utxo.Config{Params: utxo.RegTest()})
		err := e.SeedStream(f.base, func() (utxo.SeedCoin, error) {
			sc, err := next()
			if err == nil {
				now = now.Add(100 * time.Microsecond)
				bytes += 60
			}
			return sc, err
		}, utxo.SeedOptions{
			ExpectedCoins: 20000, ProgressEvery: tc.every,
			Progress:  func(p utxo.SeedProgress) { reports = append(reports, p) },
			Now:       func() time.Time { return now },
			BytesRead: func() int64 { return bytes },
		})
		if err != nil {
			t.Fatal(err)
		}
		e.Close()
		var reads []uint64
		for i, p := range reports {
			switch p.Phase {
			case utxo.LoadIndex:
				reads = append(reads, p.Read+p.Indexed)
			case utxo.LoadTree:
				reads = append(reads, p.Read+p.Indexed+p.TreeLeaves)
			default:
				reads = append(reads, p.Read)
			}
			if p.Bytes != int64(p.Read)*60 || p.Elapsed != time.Duration(p.Read)*100*time.Microsecond ||
				p.Expected != 20000 || p.Coins != p.Read || p.Done != (i == len(reports)-1) {
				t.Fatalf("report %+v", p)
			}
		}
		if !slices.Equal(reads, tc.want) {
			t.Fatalf("every %d: reports at %v, want %v", tc.every, reads, tc.want)
		}
	}
}

// TestSeedStreamThenConnect seeds the coins block 866342 spends in many
// small chunks and in one, connects the block, and requires identical
// stores.
func TestSeedStreamThenConnect(t *testing.T) {
	m := loadMid(t, 866342)
	msg := msgOf(t, m.raw)
	var digests [][32]byte
	for _, budget := range []int64{0, 64 << 10} {
		s := memstore.New()
		e := openEngine(t, s, utxo.Config{CacheBytes: budget})
		var chunks uint64
		coins := slices.Clone(m.coins)
		slices.SortFunc(coins, func(a, b utxo.SeedCoin) int {
			if c := slices.Compare(a.Outpoint.Hash[:], b.Outpoint.Hash[:]); c != 0 {
				return c
			}
			return int(int64(a.Outpoint.Index) - int64(b.Outpoint.Index))
		})
		base := utxo.SeedBase{Height: m.height - 1, Hash: msg.Header.PrevBlock, Times: m.times}
		if err := e.SeedStream(base, streamOf(coins, -1), utxo.SeedOptions{
			Progress: func(p utxo.SeedProgress) { chunks = p.Chunks },
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Connect(decode(t, m.raw)); err != nil {
			t.Fatal(err)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("budget %d: %d chunks", budget, chunks)
		digests = append(digests, digestOf(t, s))
	}
	if digests[0] != digests[1] {
		t.Fatal("the store after the block depends on how the seed was chunked")
	}
}

// TestSeedStreamOneHugeTransaction loads a set whose coins all belong to
// one transaction, many times the budget: the chunk cannot end inside it,
// so its index entries spill into runs mid-chunk (on disk, in TempDir),
// and the store is still the one Seed writes.
func TestSeedStreamOneHugeTransaction(t *testing.T) {
	f := newSeedFixture(3000)
	for i := range f.coins {
		f.coins[i].Outpoint = utxo.Outpoint{Hash: f.coins[0].Outpoint.Hash, Index: uint32(i)}
	}
	wantContent, wantMu := f.reference(t)
	s := memstore.New()
	e := openEngine(t, s, utxo.Config{Params: utxo.RegTest(), CacheBytes: 4 << 10})
	if err := e.SeedStream(f.base, streamOf(f.coins, -1), utxo.SeedOptions{TempDir: filepath.Join(t.TempDir(), "runs")}); err != nil {
		t.Fatal(err)
	}
	mu, err := e.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if mu != wantMu || digestOf(t, s) != wantContent {
		t.Fatal("the load differs from Seed's")
	}
}
