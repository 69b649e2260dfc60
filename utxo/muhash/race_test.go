//go:build race

package muhash

// raceEnabled: under the race detector sync.Pool (which math/big uses for
// its scratch space) drops items at random, so allocation counts are
// meaningless there.
const raceEnabled = true
