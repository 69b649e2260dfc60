package core

import (
	"sync"

	"github.com/btcsuite/btcd/chaincfg"
)

// scriptCache remembers scripts' descriptions. Describing a script is most
// of a gettxout's cost (disassembly, address encoding, a curve check for
// taproot and bare keys, the descriptor checksum), and real chains reuse
// scripts heavily (exchange and pool addresses), so a bounded cache pays
// for itself. The description is a pure function of the script and the
// network, so the cache can never be stale.
type scriptCache struct {
	mu  sync.Mutex
	m   map[string]scriptInfo
	net *chaincfg.Params
}

// scriptCacheEntries bounds the cache (about 200 bytes each); when full it
// starts over, which keeps the bound with no per-entry bookkeeping.
const scriptCacheEntries = 1 << 16

func (c *scriptCache) describe(script []byte, net *chaincfg.Params) scriptInfo {
	c.mu.Lock()
	if c.net != net {
		c.m, c.net = nil, net
	}
	info, ok := c.m[string(script)]
	c.mu.Unlock()
	if ok {
		return info
	}
	info = describe(script, net)
	c.mu.Lock()
	if c.net == net {
		if len(c.m) >= scriptCacheEntries || c.m == nil {
			c.m = make(map[string]scriptInfo, 1024)
		}
		c.m[string(script)] = info
	}
	c.mu.Unlock()
	return info
}
