// Package snapshots keeps state-sync snapshots on disk for CometBFT's
// snapshot calls: a snapshot is a byte stream cut into chunks of a fixed
// size, each chunk a file, and a metadata record the caller composes from
// the chunks' SHA-256 hashes.
//
// Layout under the store's directory:
//
//	<height>-<format>/metadata   the caller's metadata (what ListSnapshots
//	                             carries; the snapshot's hash is its sha256)
//	<height>-<format>/<index>    chunk index, 0-based, in decimal
//	<height>-<format>.tmp/       a snapshot being written; removed at Open
//
// A snapshot directory appears under its final name only by rename, after
// every chunk and the metadata are written and synced, so a process killed
// at any instant leaves either a whole snapshot or a .tmp directory that
// the next Open removes.
//
// What it does not do: it does not know what the stream holds or how
// metadata is encoded (consensus/app does), and it trusts the files it
// wrote: a chunk served to a peer is read back from disk as is; peers check
// it against the hashes in the metadata.
package snapshots
