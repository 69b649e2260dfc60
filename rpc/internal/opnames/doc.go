// Package opnames spells Bitcoin script opcodes for the RPC dialects'
// script disassembly. The dialects differ in the small numbers, the
// pushes and a few aliases (Core writes OP_CHECKLOCKTIMEVERIFY where
// rust-bitcoin, which Esplora shows, writes OP_CLTV), and each keeps those
// itself; the opcodes from 0x61 (OP_NOP) to 0xb0 (OP_NOP1), which Core,
// btcd and rust-bitcoin all spell the same way, are here once.
//
// It does not parse scripts.
package opnames
