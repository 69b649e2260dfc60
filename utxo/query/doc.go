// Package query shapes answers from the UTXO store in the dialects its
// users already speak: Bitcoin Core's gettxoutsetinfo and gettxout, and
// Esplora's address and scripthash objects. The command-line queries use it
// now and the RPC server will later; both read through a utxo.Reader, so
// they only ever see flushed (committed) state.
//
// It does not open stores, parse command lines or serve HTTP.
package query
