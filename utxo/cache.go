package utxo

// coinCache is the in-memory write-back cache of coins, Bitcoin Core's
// CCoinsViewCache in spirit: coins read from the store are kept clean,
// coins added or spent are dirty until the next flush, and a coin that is
// created and spent between two flushes ("fresh" then spent) vanishes
// without ever touching the store.
//
// The map holds no pointers: scripts live in a chunked byte arena and
// entries refer to them by position. With millions of entries this keeps
// the garbage collector from scanning the cache at all.
type coinCache struct {
	m      map[Outpoint]cacheEntry
	chunks [][]byte
	cur    int
	// arenaBytes counts script bytes in the arena, including those of
	// entries already dropped; the arena is only reclaimed by clear.
	arenaBytes int64
	// mods counts adds and spends, never reset: a tree computed at one
	// count is current as long as it has not moved.
	mods uint64
}

type entryFlags uint8

const (
	// flagDirty: the entry differs from the store and must be written (or
	// deleted) at the next flush.
	flagDirty entryFlags = 1 << iota
	// flagFresh: the store has no such coin, so spending it needs no
	// delete: the entry is simply dropped.
	flagFresh
	// flagSpent: the coin is spent; the entry stays until the flush deletes
	// it from the store.
	flagSpent
)

type cacheEntry struct {
	value    int64
	ref      uint64 // chunk<<32 | offset of the script in the arena
	height   int32
	slen     uint16
	flags    entryFlags
	coinbase bool
}

const (
	arenaChunk = 1 << 20
	// entryOverhead estimates the memory of one map slot: 36-byte key,
	// 24-byte entry, control byte, and the table's spare capacity.
	entryOverhead = 96
)

func newCoinCache() coinCache {
	return coinCache{m: make(map[Outpoint]cacheEntry), chunks: [][]byte{make([]byte, 0, arenaChunk)}}
}

// reset drops every entry, keeping the map's table and the arena's chunks
// for reuse.
func (c *coinCache) reset() {
	clear(c.m)
	for i := range c.chunks {
		c.chunks[i] = c.chunks[i][:0]
	}
	c.cur, c.arenaBytes = 0, 0
}

// bytes estimates the cache's memory use.
func (c *coinCache) bytes() int64 { return int64(len(c.m))*entryOverhead + c.arenaBytes }

func (c *coinCache) storeScript(s []byte) uint64 {
	if len(s) == 0 {
		return 0
	}
	if len(c.chunks[c.cur])+len(s) > cap(c.chunks[c.cur]) {
		c.cur++
		if c.cur == len(c.chunks) {
			c.chunks = append(c.chunks, make([]byte, 0, arenaChunk))
		}
	}
	ch := c.chunks[c.cur]
	off := len(ch)
	c.chunks[c.cur] = append(ch, s...)
	c.arenaBytes += int64(len(s))
	return uint64(c.cur)<<32 | uint64(off)
}

// script returns the entry's script. The slice points into the arena and is
// valid until the next clear; callers copy it if they keep it longer.
func (c *coinCache) script(e *cacheEntry) []byte {
	if e.slen == 0 {
		return nil
	}
	ch := c.chunks[e.ref>>32]
	off := uint32(e.ref)
	return ch[off : off+uint32(e.slen) : off+uint32(e.slen)]
}

// coin materializes an entry; the script aliases the arena.
func (c *coinCache) coin(e *cacheEntry) Coin {
	return Coin{Value: e.value, Script: c.script(e), Height: e.height, Coinbase: e.coinbase}
}

func (c *coinCache) get(op *Outpoint) (cacheEntry, bool) {
	e, ok := c.m[*op]
	return e, ok
}

// insertClean caches a coin read from the store.
func (c *coinCache) insertClean(op *Outpoint, coin *Coin) cacheEntry {
	e := cacheEntry{value: coin.Value, height: coin.Height, coinbase: coin.Coinbase,
		slen: uint16(len(coin.Script)), ref: c.storeScript(coin.Script)}
	c.m[*op] = e
	return e
}

// add records a new unspent coin. If the cache holds a spent entry whose
// delete has not been flushed, the store still has the old coin, so the new
// one is not fresh: the flush must overwrite it.
func (c *coinCache) add(op *Outpoint, coin *Coin) {
	c.mods++
	flags := flagDirty | flagFresh
	if old, ok := c.m[*op]; ok && old.flags&flagFresh == 0 {
		flags = flagDirty
	}
	c.m[*op] = cacheEntry{value: coin.Value, height: coin.Height, coinbase: coin.Coinbase,
		slen: uint16(len(coin.Script)), ref: c.storeScript(coin.Script), flags: flags}
}

// spend marks a cached unspent coin spent (or drops it, if fresh).
func (c *coinCache) spend(op *Outpoint) {
	c.mods++
	e := c.m[*op]
	if e.flags&flagFresh != 0 {
		delete(c.m, *op)
		return
	}
	e.flags |= flagSpent | flagDirty
	c.m[*op] = e
}
