package coresnap

import (
	"bytes"
	"io"
	"testing"
)

// Reading speed on real coins: the 14131 file is nearly all uncompressed
// P2PK (a square root per coin), the 367890 file modern scripts.
func BenchmarkReader(b *testing.B) {
	for _, tc := range []struct {
		file string
		base int32
	}{{file14131, 14131}, {file367890, 367890}} {
		data := fixture(b, tc.file)
		b.Run(tc.file, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				r, err := NewReader(bytes.NewReader(data), MainNet, tc.base)
				if err != nil {
					b.Fatal(err)
				}
				for {
					if _, _, err := r.Next(); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
