package p2p

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/crypto/pb"
	"github.com/libp2p/go-libp2p/core/peer"
)

func TestIdentityPersists(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config", "p2p_key")

	k1, err := LoadOrCreateIdentity(path)
	if err != nil {
		t.Fatal(err)
	}
	if k1.Type() != pb.KeyType_Ed25519 {
		t.Errorf("key type %v, want Ed25519", k1.Type())
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	k2, err := LoadOrCreateIdentity(path)
	if err != nil {
		t.Fatal(err)
	}
	if !crypto.KeyEqual(k1, k2) {
		t.Error("second load returned a different key")
	}
	id1, _ := peer.IDFromPrivateKey(k1)
	id2, _ := peer.IDFromPrivateKey(k2)
	if id1 != id2 {
		t.Errorf("peer id changed: %s then %s", id1, id2)
	}
	// No temporary file is left behind.
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key", len(entries))
	}
}

func TestIdentityCorrupt(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":     {},
		"garbage":   []byte("not a key at all"),
		"truncated": nil, // filled below from a real key
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p2p_key")
			if name == "truncated" {
				k, err := LoadOrCreateIdentity(path)
				if err != nil {
					t.Fatal(err)
				}
				full, _ := crypto.MarshalPrivateKey(k)
				data = full[:len(full)-10]
			}
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreateIdentity(path)
			if !errors.Is(err, ErrCorruptIdentity) {
				t.Fatalf("err = %v, want ErrCorruptIdentity", err)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(after, data) {
				t.Error("corrupt identity file was modified")
			}
		})
	}
}
