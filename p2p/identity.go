package p2p

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// LoadOrCreateIdentity returns the libp2p private key stored at path,
// creating an Ed25519 key there if the file does not exist. The file holds
// crypto.MarshalPrivateKey's encoding (libp2p's protobuf), mode 0600.
//
// Creation is atomic: the key is written to a temporary file in the same
// directory, synced, and renamed into place, so a crash leaves either no
// file or a whole one, never a truncated key that would change the peer id
// on the next start. A file that exists but does not decode is an error
// wrapping ErrCorruptIdentity and is left as it is: replacing it would
// silently give the node a new identity, which its peers know it by.
func LoadOrCreateIdentity(path string) (crypto.PrivKey, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: empty identity path", ErrInvalidConfig)
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		key, err := crypto.UnmarshalPrivateKey(data)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrCorruptIdentity, path, err)
		}
		return key, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("p2p: reading identity: %w", err)
	}

	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("p2p: generating identity: %w", err)
	}
	data, err = crypto.MarshalPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("p2p: encoding identity: %w", err)
	}
	if err := writeFileAtomic(path, data); err != nil {
		return nil, fmt.Errorf("p2p: writing identity: %w", err)
	}
	return key, nil
}

// writeFileAtomic writes data to path with mode 0600 through a temporary
// file and a rename, then syncs the directory so the rename itself is
// durable.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// os.CreateTemp creates the file with mode 0600 already.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return nil // the file is in place; only durability of the rename is unconfirmed
	}
	defer d.Close()
	_ = d.Sync() // not supported everywhere (some filesystems return EINVAL)
	return nil
}
