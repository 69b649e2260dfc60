// Package rpc will hold satnode's read-only APIs over committed state: the
// Bitcoin Core JSON-RPC and Esplora REST dialects and the native API. It
// never writes state.
//
// Not yet implemented: this package is the subject of the RPC issue and
// contains no code yet.
package rpc
