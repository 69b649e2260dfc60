// Package utxotest loads the repository's Bitcoin fixtures for tests: the
// mainnet blocks under testdata/ in blk and raw formats. It depends on
// nothing else in satnode, so any package's tests can use it, the utxo
// package's own internal tests included.
package utxotest

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// RepoRoot returns the repository root (the directory holding go.mod),
// found by walking up from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("utxotest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Path returns the path of a file under testdata/mainnet.
func Path(name string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "testdata", "mainnet", name), nil
}

// ReadFile reads a fixture, decompressing .bz2 and .gz files.
func ReadFile(name string) ([]byte, error) {
	p, err := Path(name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	switch {
	case strings.HasSuffix(name, ".bz2"):
		r = bzip2.NewReader(f)
	case strings.HasSuffix(name, ".gz"):
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, err
		}
		defer gz.Close()
		r = gz
	}
	return io.ReadAll(r)
}

// MainnetMagic is the blk-file record magic of mainnet.
var mainnetMagic = [4]byte{0xf9, 0xbe, 0xb4, 0xd9}

// SplitBlk splits blk-format bytes (magic ‖ u32le length ‖ block, repeated)
// into raw blocks.
func SplitBlk(data []byte) ([][]byte, error) {
	var out [][]byte
	for len(data) > 0 {
		if len(data) < 8 {
			return nil, fmt.Errorf("utxotest: truncated record header")
		}
		if !bytes.Equal(data[:4], mainnetMagic[:]) && !isKnownMagic(data[:4]) {
			return nil, fmt.Errorf("utxotest: bad magic %x", data[:4])
		}
		n := binary.LittleEndian.Uint32(data[4:8])
		if uint64(len(data)-8) < uint64(n) {
			return nil, fmt.Errorf("utxotest: truncated block")
		}
		out = append(out, data[8:8+n])
		data = data[8+n:]
	}
	return out, nil
}

func isKnownMagic(m []byte) bool {
	for _, k := range [][]byte{{0x0b, 0x11, 0x09, 0x07}, {0xfa, 0xbf, 0xb5, 0xda}, {0x0a, 0x03, 0xcf, 0x40}, {0x16, 0x1c, 0x14, 0x12}} {
		if bytes.Equal(m, k) {
			return true
		}
	}
	return false
}

var mainnet struct {
	once   sync.Once
	blocks [][]byte
	err    error
}

// MainnetChain returns raw blocks 0..14131 of mainnet. The slice is shared:
// callers must not modify it.
func MainnetChain() ([][]byte, error) {
	mainnet.once.Do(func() {
		data, err := ReadFile("mainnet-0-14131.blk.bz2")
		if err != nil {
			mainnet.err = err
			return
		}
		mainnet.blocks, mainnet.err = SplitBlk(data)
	})
	return mainnet.blocks, mainnet.err
}
