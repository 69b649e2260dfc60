package keyring_test

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/satnode/satnode/node/keyring"
)

func TestAddGetList(t *testing.T) {
	kr := keyring.Open(filepath.Join(t.TempDir(), "keys"))
	if keys, err := kr.List(); err != nil || len(keys) != 0 {
		t.Fatalf("empty keyring: %v, %v", keys, err)
	}
	b, err := kr.Add("bob")
	if err != nil {
		t.Fatal(err)
	}
	a, err := kr.Import("alice", strings.Repeat("01", 32))
	if err != nil {
		t.Fatal(err)
	}
	// The address of the private key 0x01…01 (the golden key of
	// consensus/tx).
	if got, err := kr.Get("alice"); err != nil || got.Address != a.Address || got.Private.Key != a.Private.Key {
		t.Fatalf("Get alice: %v, %v", got, err)
	}
	keys, err := kr.List()
	if err != nil || len(keys) != 2 || keys[0].Name != "alice" || keys[1].Name != "bob" || keys[1].Address != b.Address {
		t.Fatalf("List: %v, %v", keys, err)
	}
	fi, err := os.Stat(filepath.Join(kr.Dir(), "bob.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", fi.Mode(), err)
	}
	di, err := os.Stat(kr.Dir())
	if err != nil || di.Mode().Perm() != 0o700 {
		t.Fatalf("keyring dir mode %v, %v", di.Mode(), err)
	}
}

func TestRejections(t *testing.T) {
	kr := keyring.Open(filepath.Join(t.TempDir(), "keys"))
	if _, err := kr.Add("k"); err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Add("k"); !errors.Is(err, keyring.ErrExists) {
		t.Fatalf("second add: %v", err)
	}
	if _, err := kr.Import("k", strings.Repeat("02", 32)); !errors.Is(err, keyring.ErrExists) {
		t.Fatalf("import over an existing key: %v", err)
	}
	for _, name := range []string{"", ".hidden", "../escape", "a/b", "sp ace", strings.Repeat("x", 65), "é"} {
		if _, err := kr.Add(name); !errors.Is(err, keyring.ErrBadName) {
			t.Errorf("name %q: %v", name, err)
		}
		if _, err := kr.Get(name); !errors.Is(err, keyring.ErrBadName) {
			t.Errorf("get %q: %v", name, err)
		}
	}
	order := "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141" // n
	for _, bad := range []string{"", "zz", strings.Repeat("00", 32), strings.Repeat("01", 31), order, strings.Repeat("ff", 32)} {
		if _, err := kr.Import("bad", bad); !errors.Is(err, keyring.ErrBadKey) {
			t.Errorf("key %q: %v", bad, err)
		}
	}
	if _, err := kr.Get("missing"); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("missing key: %v", err)
	}
}

// TestTampered: a key file whose address does not match its key (edited by
// hand, or corrupted) is refused instead of signing as someone else.
func TestTampered(t *testing.T) {
	kr := keyring.Open(filepath.Join(t.TempDir(), "keys"))
	a, _ := kr.Import("a", strings.Repeat("01", 32))
	if _, err := kr.Import("b", strings.Repeat("02", 32)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(kr.Dir(), "b.json")
	data, _ := os.ReadFile(path)
	b, _ := kr.Get("b")
	data = []byte(strings.Replace(string(data), b.Address.String(), a.Address.String(), 1))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Get("b"); err == nil || !strings.Contains(err.Error(), "not the key's") {
		t.Fatalf("tampered file: %v", err)
	}
	if err := os.WriteFile(path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Get("b"); err == nil {
		t.Fatal("a truncated file loaded")
	}
}

// TestConcurrentAdd: of many concurrent adds of one name exactly one wins,
// and the file holds the winner's key.
func TestConcurrentAdd(t *testing.T) {
	kr := keyring.Open(filepath.Join(t.TempDir(), "keys"))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []*keyring.Key
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := kr.Add("same")
			if err == nil {
				mu.Lock()
				won = append(won, k)
				mu.Unlock()
			} else if !errors.Is(err, keyring.ErrExists) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(won) != 1 {
		t.Fatalf("%d adds succeeded", len(won))
	}
	got, err := kr.Get("same")
	if err != nil || hex.EncodeToString(got.Private.Serialize()) != hex.EncodeToString(won[0].Private.Serialize()) {
		t.Fatalf("stored key is not the winner's: %v", err)
	}
	entries, _ := os.ReadDir(kr.Dir())
	if len(entries) != 1 {
		t.Fatalf("%d files left in the keyring, want 1", len(entries))
	}
}
