//go:build !race

package muhash

const raceEnabled = false
