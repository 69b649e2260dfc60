// Package keyring keeps the secp256k1 keys a satnode operator signs chain
// transactions with (accounts, validator operators, endorsers,
// synchronizers), one file per key under <home>/keys.
//
// What it does: generate or import a key under a name, list the names with
// their addresses (tx.Address, bech32m "sat1…"), and load a key to sign
// with. Files are written atomically (temporary file, fsync, rename) with
// mode 0600 in a 0700 directory, and an existing name is never overwritten.
//
// What it does not do: it does not encrypt keys at rest. Like CometBFT's
// priv_validator_key.json, a key file is as safe as the machine and its
// permissions; operators who need more keep the home on an encrypted
// volume or sign elsewhere. It holds no consensus (ed25519) keys: those are
// CometBFT's, in config/.
package keyring
