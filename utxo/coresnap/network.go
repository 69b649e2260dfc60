package coresnap

import (
	"encoding/binary"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// Network is a Bitcoin network's 4-byte message start (Core's
// pchMessageStart), which Core writes into the snapshot header so that a
// snapshot is never loaded on the wrong chain. The value is the four bytes
// read big-endian, so the constants read like the bytes in the file.
type Network uint32

// The networks Bitcoin Core knows. A custom signet has its own message start
// (derived from its challenge): use Network(x) for it.
const (
	MainNet  Network = 0xf9beb4d9
	TestNet3 Network = 0x0b110907
	TestNet4 Network = 0x1c163f28
	SigNet   Network = 0x0a03cf40 // the default signet
	RegTest  Network = 0xfabfb5da
)

// String names the network as satnode does on its command line (mainnet,
// testnet3, testnet4, signet, regtest), or shows the bytes of an unknown
// one.
func (n Network) String() string {
	switch n {
	case MainNet:
		return "mainnet"
	case TestNet3:
		return "testnet3"
	case TestNet4:
		return "testnet4"
	case SigNet:
		return "signet"
	case RegTest:
		return "regtest"
	}
	return fmt.Sprintf("unknown network %08x", uint32(n))
}

// Bytes returns the message start as it appears in the file.
func (n Network) Bytes() [4]byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(n))
	return b
}

// NetworkByName returns the network named as String names it.
func NetworkByName(name string) (Network, error) {
	for _, n := range []Network{MainNet, TestNet3, TestNet4, SigNet, RegTest} {
		if n.String() == name {
			return n, nil
		}
	}
	return 0, fmt.Errorf("coresnap: no known network message start for %q", name)
}

// Header layout (Core's node/utxo_snapshot.h SnapshotMetadata, version 2):
//
//	offset size field
//	0      5    magic 'u' 't' 'x' 'o' 0xff
//	5      2    version, u16le = 2
//	7      4    network message start
//	11     32   base block hash, internal byte order
//	43     8    coin count, u64le
//
// Worked example, the header of testdata/mainnet/utxo-mainnet-14131.dat:
//
//	7574786fff 0200 f9beb4d9
//	1c0a4372a09095360b133b396d544bf4a9998701e142db7ff350e7b300000000
//	6834000000000000
//
// mainnet, base 00000000b3e750f3…72430a1c (block 14131), 0x3468 = 13,416
// coins. reader_test.go reads these bytes.
const (
	// HeaderSize is the length of the header.
	HeaderSize = 51
	// Version is the only snapshot format version read and written (Core
	// 28 and later).
	Version = 2
)

// magic starts every snapshot (Core's SNAPSHOT_MAGIC_BYTES).
const magic = "utxo\xff"

// Meta is what the header says.
type Meta struct {
	// Network the snapshot was taken on.
	Network Network
	// BaseHash is the hash of the block the set is the state after, in
	// internal byte order (chainhash.Hash prints it the usual way round).
	// The file does not carry the base's height.
	BaseHash chainhash.Hash
	// Count is the number of coins in the file.
	Count uint64
}

// appendHeader appends the header for m.
func (m *Meta) appendHeader(dst []byte) []byte {
	dst = append(dst, magic...)
	dst = binary.LittleEndian.AppendUint16(dst, Version)
	nb := m.Network.Bytes()
	dst = append(dst, nb[:]...)
	dst = append(dst, m.BaseHash[:]...)
	return binary.LittleEndian.AppendUint64(dst, m.Count)
}
