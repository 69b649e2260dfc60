package utxo

// Internal codecs exported to the external tests, which need them to decode
// fixtures in the formats they share with the store (btcd's utxostore uses
// the same VARINT and amount compression).
var (
	ReadVLQ          = readVLQ
	DecompressAmount = decompressAmount
	DecompressY      = decompressY
)
