package blkfile

// A minimal bzip2 compressor for building .bz2 test inputs: the standard
// library only decompresses. It makes correct, not small, files: one
// Huffman table per block (sent twice, as the format requires two or more).

import (
	"bytes"
	"compress/bzip2"
	"io"
	"sort"
	"testing"
)

type bz2BitWriter struct {
	out   []byte
	acc   uint64
	nbits uint
}

func (w *bz2BitWriter) bits(n uint, v uint64) {
	for n > 0 {
		take := min(n, 32)
		n -= take
		w.acc = w.acc<<take | (v>>n)&(1<<take-1)
		w.nbits += take
		for w.nbits >= 8 {
			w.nbits -= 8
			w.out = append(w.out, byte(w.acc>>w.nbits))
		}
	}
}

func (w *bz2BitWriter) flush() {
	if w.nbits > 0 {
		w.out = append(w.out, byte(w.acc<<(8-w.nbits)))
		w.nbits = 0
	}
}

func bz2CRC(data []byte) uint32 {
	crc := ^uint32(0)
	for _, b := range data {
		c := uint32(byte(crc>>24)^b) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ 0x04C11DB7
			} else {
				c <<= 1
			}
		}
		crc = crc<<8 ^ c
	}
	return ^crc
}

// bz2Compress returns data compressed in bzip2 format.
func bz2Compress(data []byte) []byte {
	w := &bz2BitWriter{}
	w.out = append(w.out, "BZh9"...)
	var combined uint32
	const chunk = 200_000 // RLE1 expands at most 5/4: stays under the 900k block size
	for len(data) > 0 {
		n := min(chunk, len(data))
		block := data[:n]
		data = data[n:]
		crc := bz2CRC(block)
		combined = (combined<<1 | combined>>31) ^ crc
		bz2Block(w, bz2RLE1(block), crc)
	}
	w.bits(48, 0x177245385090)
	w.bits(32, uint64(combined))
	w.flush()
	return w.out
}

func bz2RLE1(in []byte) []byte {
	var out []byte
	for i := 0; i < len(in); {
		j := i
		for j < len(in) && in[j] == in[i] && j-i < 255 {
			j++
		}
		if run := j - i; run >= 4 {
			out = append(out, in[i], in[i], in[i], in[i], byte(run-4))
		} else {
			out = append(out, in[i:j]...)
		}
		i = j
	}
	return out
}

// bz2BWT sorts the cyclic rotations of s (prefix doubling with counting
// sorts) and returns the last column and the row of the original string.
func bz2BWT(s []byte) ([]byte, int) {
	n := len(s)
	p, c := make([]int, n), make([]int, n)
	pn, cn := make([]int, n), make([]int, n)
	cnt := make([]int, max(256, n))
	for _, b := range s {
		cnt[b]++
	}
	for i := 1; i < 256; i++ {
		cnt[i] += cnt[i-1]
	}
	for i := n - 1; i >= 0; i-- {
		cnt[s[i]]--
		p[cnt[s[i]]] = i
	}
	classes := 1
	for i := 1; i < n; i++ {
		if s[p[i]] != s[p[i-1]] {
			classes++
		}
		c[p[i]] = classes - 1
	}
	for k := 1; k < n && classes < n; k <<= 1 {
		for i := range p {
			pn[i] = (p[i] - k + n) % n
		}
		clear(cnt[:classes])
		for i := range pn {
			cnt[c[pn[i]]]++
		}
		for i := 1; i < classes; i++ {
			cnt[i] += cnt[i-1]
		}
		for i := n - 1; i >= 0; i-- {
			cnt[c[pn[i]]]--
			p[cnt[c[pn[i]]]] = pn[i]
		}
		cn[p[0]] = 0
		classes = 1
		for i := 1; i < n; i++ {
			if c[p[i]] != c[p[i-1]] || c[(p[i]+k)%n] != c[(p[i-1]+k)%n] {
				classes++
			}
			cn[p[i]] = classes - 1
		}
		c, cn = cn, c
	}
	last := make([]byte, n)
	orig := 0
	for i, start := range p {
		last[i] = s[(start+n-1)%n]
		if start == 0 {
			orig = i
		}
	}
	return last, orig
}

func bz2Block(w *bz2BitWriter, s []byte, crc uint32) {
	last, orig := bz2BWT(s)
	var inUse [256]bool
	for _, b := range last {
		inUse[b] = true
	}
	var mtf []byte
	for i := range 256 {
		if inUse[i] {
			mtf = append(mtf, byte(i))
		}
	}
	nInUse := len(mtf)
	var syms []int
	zrun := 0
	flushRun := func() {
		for zrun > 0 {
			if zrun&1 == 1 {
				syms = append(syms, 0) // RUNA
				zrun = (zrun - 1) / 2
			} else {
				syms = append(syms, 1) // RUNB
				zrun = (zrun - 2) / 2
			}
		}
	}
	for _, b := range last {
		j := bytes.IndexByte(mtf, b)
		if j == 0 {
			zrun++
			continue
		}
		flushRun()
		copy(mtf[1:j+1], mtf[:j])
		mtf[0] = b
		syms = append(syms, j+1)
	}
	flushRun()
	alpha := nInUse + 2
	syms = append(syms, alpha-1) // EOB

	freq := make([]int, alpha)
	for _, s := range syms {
		freq[s]++
	}
	lengths := bz2CodeLengths(freq, 17)
	codes := make([]uint32, alpha)
	code := uint32(0)
	for l := 1; l <= 17; l++ {
		for sym := range alpha {
			if lengths[sym] == l {
				codes[sym] = code
				code++
			}
		}
		code <<= 1
	}

	w.bits(48, 0x314159265359)
	w.bits(32, uint64(crc))
	w.bits(1, 0)
	w.bits(24, uint64(orig))
	var groups uint64
	for g := range 16 {
		for i := range 16 {
			if inUse[g*16+i] {
				groups |= 1 << (15 - g)
			}
		}
	}
	w.bits(16, groups)
	for g := range 16 {
		if groups&(1<<(15-g)) == 0 {
			continue
		}
		var m uint64
		for i := range 16 {
			if inUse[g*16+i] {
				m |= 1 << (15 - i)
			}
		}
		w.bits(16, m)
	}
	const tables = 2
	nSel := (len(syms) + 49) / 50
	w.bits(3, tables)
	w.bits(15, uint64(nSel))
	for range nSel {
		w.bits(1, 0) // always table 0
	}
	for range tables {
		cur := lengths[0]
		w.bits(5, uint64(cur))
		for _, l := range lengths {
			for cur < l {
				w.bits(2, 2)
				cur++
			}
			for cur > l {
				w.bits(2, 3)
				cur--
			}
			w.bits(1, 0)
		}
	}
	for _, s := range syms {
		w.bits(uint(lengths[s]), uint64(codes[s]))
	}
}

// bz2CodeLengths builds Huffman code lengths no longer than maxLen, giving
// every symbol a code (bzip2 needs one for each symbol of the alphabet).
func bz2CodeLengths(freq []int, maxLen int) []int {
	f := make([]int, len(freq))
	for i, v := range freq {
		f[i] = v + 1
	}
	for {
		type node struct{ w, left, right, sym int }
		nodes := make([]node, 0, 2*len(f))
		var live []int
		for i, v := range f {
			nodes = append(nodes, node{w: v, left: -1, right: -1, sym: i})
			live = append(live, i)
		}
		for len(live) > 1 {
			sort.Slice(live, func(a, b int) bool { return nodes[live[a]].w < nodes[live[b]].w })
			a, b := live[0], live[1]
			nodes = append(nodes, node{w: nodes[a].w + nodes[b].w, left: a, right: b, sym: -1})
			live = append(live[2:], len(nodes)-1)
		}
		lengths := make([]int, len(f))
		var walk func(i, d int)
		walk = func(i, d int) {
			if nodes[i].sym >= 0 {
				lengths[nodes[i].sym] = max(d, 1)
				return
			}
			walk(nodes[i].left, d+1)
			walk(nodes[i].right, d+1)
		}
		walk(live[0], 0)
		longest := 0
		for _, l := range lengths {
			longest = max(longest, l)
		}
		if longest <= maxLen {
			return lengths
		}
		for i := range f {
			f[i] = 1 + f[i]/2
		}
	}
}

func TestBZ2TestEncoder(t *testing.T) {
	inputs := [][]byte{
		[]byte("a"),
		[]byte("banana"),
		bytes.Repeat([]byte{0}, 1000),
		bytes.Repeat([]byte("ab"), 777),
		fixtureBytes(t)[:450_000],
	}
	for i, in := range inputs {
		got, err := io.ReadAll(bzip2.NewReader(bytes.NewReader(bz2Compress(in))))
		if err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
		if !bytes.Equal(got, in) {
			t.Fatalf("input %d: round trip differs", i)
		}
	}
}
