package keyring

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/satnode/satnode/consensus/tx"
)

// Errors callers tell apart.
var (
	ErrExists   = errors.New("keyring: a key with this name exists")
	ErrNotFound = errors.New("keyring: no key with this name")
	ErrBadName  = errors.New("keyring: a key name is 1 to 64 letters, digits, '-', '_' or '.', not starting with '.'")
	ErrBadKey   = errors.New("keyring: not a valid secp256k1 private key")
)

// validName accepts 1 to 64 letters, digits, '-', '_' or '.', not
// starting with '.': a name is a file name, so nothing that could walk out
// of the directory or hide as a dotfile.
func validName(name string) bool {
	if len(name) == 0 || len(name) > 64 || name[0] == '.' {
		return false
	}
	for _, c := range []byte(name) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}

// Key is a named signing key.
type Key struct {
	Name    string
	Address tx.Address
	Private *btcec.PrivateKey
}

// file is the on-disk form, JSON. Address is redundant with the private
// key; it is kept so `keys list` and a human can read addresses without
// the key being parsed, and is checked against the key on load.
type file struct {
	Name       string `json:"name"`
	Address    string `json:"address"`
	PrivateKey string `json:"private_key"` // 32 bytes, hex
}

// Keyring is a directory of key files.
type Keyring struct{ dir string }

// Open returns the keyring in dir (created on the first Add).
func Open(dir string) *Keyring { return &Keyring{dir: dir} }

// Dir is the keyring's directory.
func (k *Keyring) Dir() string { return k.dir }

func (k *Keyring) path(name string) string { return filepath.Join(k.dir, name+".json") }

// Add generates a new key under name.
func (k *Keyring) Add(name string) (*Key, error) {
	priv, err := btcec.NewPrivateKey()
	if err != nil {
		return nil, fmt.Errorf("keyring: generate: %w", err)
	}
	return k.store(name, priv)
}

// Import stores an existing private key (32 bytes, hex) under name.
func (k *Keyring) Import(name, privHex string) (*Key, error) {
	priv, err := parsePrivate(privHex)
	if err != nil {
		return nil, err
	}
	return k.store(name, priv)
}

func parsePrivate(s string) (*btcec.PrivateKey, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != btcec.PrivKeyBytesLen {
		return nil, fmt.Errorf("%w: want 64 hex digits", ErrBadKey)
	}
	// PrivKeyFromBytes reduces mod n; a zero or out-of-range scalar is not
	// a key anyone should sign with.
	var s256 btcec.ModNScalar
	if overflow := s256.SetByteSlice(b); overflow || s256.IsZero() {
		return nil, fmt.Errorf("%w: zero or not below the curve order", ErrBadKey)
	}
	priv, _ := btcec.PrivKeyFromBytes(b)
	return priv, nil
}

func (k *Keyring) store(name string, priv *btcec.PrivateKey) (*Key, error) {
	if !validName(name) {
		return nil, fmt.Errorf("%w: %q", ErrBadName, name)
	}
	key := &Key{Name: name, Address: tx.AddressOf(priv.PubKey()), Private: priv}
	data, err := json.MarshalIndent(file{Name: name, Address: key.Address.String(),
		PrivateKey: hex.EncodeToString(priv.Serialize())}, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(k.dir, 0o700); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	tmp, err := os.CreateTemp(k.dir, ".tmp-"+name+"-*")
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("keyring: %w", err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("keyring: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("keyring: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	// Link, not rename: link fails if the name exists, so two concurrent
	// adds of one name cannot both succeed and lose a key.
	if err := os.Link(tmp.Name(), k.path(name)); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("%w: %q", ErrExists, name)
		}
		return nil, fmt.Errorf("keyring: %w", err)
	}
	return key, syncDir(k.dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	return nil
}

// Get loads the key named name.
func (k *Keyring) Get(name string) (*Key, error) {
	if !validName(name) {
		return nil, fmt.Errorf("%w: %q", ErrBadName, name)
	}
	data, err := os.ReadFile(k.path(name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %q (in %s)", ErrNotFound, name, k.dir)
	}
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	var f file
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("keyring: %s: %w", k.path(name), err)
	}
	priv, err := parsePrivate(f.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("keyring: %s: %w", k.path(name), err)
	}
	key := &Key{Name: name, Address: tx.AddressOf(priv.PubKey()), Private: priv}
	if f.Address != key.Address.String() {
		return nil, fmt.Errorf("keyring: %s: the stored address %s is not the key's (%s)", k.path(name), f.Address, key.Address)
	}
	return key, nil
}

// List returns every key, sorted by name.
func (k *Keyring) List() ([]*Key, error) {
	entries, err := os.ReadDir(k.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	var keys []*Key
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() || !validName(name) {
			continue
		}
		key, err := k.Get(name)
		if err != nil {
			return nil, err
		}
		keys = append(keys, key)
	}
	slices.SortFunc(keys, func(a, b *Key) int { return strings.Compare(a.Name, b.Name) })
	return keys, nil
}
