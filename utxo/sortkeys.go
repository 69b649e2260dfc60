package utxo

import "slices"

// sortByPrefix sorts refs by their 64-bit key prefixes, a stable LSD radix
// sort: eight passes of one byte, linear in len(refs). Flushes sort
// millions of coins by key, where a comparison sort took seconds.
func sortByPrefix(refs []prefixRef) {
	if len(refs) < 2 {
		return
	}
	tmp := make([]prefixRef, len(refs))
	src, dst := refs, tmp
	for shift := uint(0); shift < 64; shift += 8 {
		var count [256]int
		for i := range src {
			count[byte(src[i].prefix>>shift)]++
		}
		if count[byte(src[0].prefix>>shift)] == len(src) {
			continue // every key has the same byte here: nothing to do
		}
		pos := 0
		for b := range count {
			c := count[b]
			count[b] = pos
			pos += c
		}
		for i := range src {
			b := byte(src[i].prefix >> shift)
			dst[count[b]] = src[i]
			count[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &refs[0] {
		copy(refs, src)
	}
}

// prefixRef is a sort key: the first eight bytes of a record's key as a
// big-endian number, and the record's index.
type prefixRef struct {
	prefix uint64
	i      uint32
}

// sortRuns finishes a prefix sort: records whose prefixes are equal (the
// outputs of one transaction, or of one script hash) are put in full key
// order. Most runs are a few records; a batch payout's can be hundreds, so
// long runs get a real sort.
func sortRuns(refs []prefixRef, less func(a, b uint32) bool) {
	for start := 0; start < len(refs); {
		end := start + 1
		for end < len(refs) && refs[end].prefix == refs[start].prefix {
			end++
		}
		run := refs[start:end]
		if len(run) > 12 {
			slices.SortFunc(run, func(a, b prefixRef) int {
				switch {
				case less(a.i, b.i):
					return -1
				case less(b.i, a.i):
					return 1
				}
				return 0
			})
		} else {
			for i := 1; i < len(run); i++ {
				for j := i; j > 0 && less(run[j].i, run[j-1].i); j-- {
					run[j], run[j-1] = run[j-1], run[j]
				}
			}
		}
		start = end
	}
}
