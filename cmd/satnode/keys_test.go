package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/satnode/satnode/node"
)

// TestKeysCLI: add, recover from standard input, show, list; the private
// key is never printed; errors name the problem.
func TestKeysCLI(t *testing.T) {
	home := t.TempDir()
	var added keyInfo
	if err := json.Unmarshal([]byte(mustRun(t, "keys", "add", "pool", "--home", home)), &added); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(added.Address, "sat1") || len(added.PubKey) != 64 {
		t.Fatalf("added key: %+v", added)
	}

	priv := strings.Repeat("01", 32)
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(priv + "\n"))
	root.SetArgs([]string{"keys", "add", "alice", "--recover", "--home", home})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), priv) {
		t.Fatal("keys add printed the private key")
	}
	var alice keyInfo
	if err := json.Unmarshal(out.Bytes(), &alice); err != nil {
		t.Fatal(err)
	}
	// x-only public key of the secret 0x01…01.
	if alice.PubKey != "1b84c5567b126440995d3ed5aaba0565d71e1834604819ff9c17f5e9d5dd078f" {
		t.Fatalf("recovered key: %+v", alice)
	}
	if got := strings.TrimSpace(mustRun(t, "keys", "show", "alice", "--address", "--home", home)); got != alice.Address {
		t.Fatalf("show --address: %q, want %q", got, alice.Address)
	}
	var list []keyInfo
	if err := json.Unmarshal([]byte(mustRun(t, "keys", "list", "--home", home)), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0] != alice || list[1] != added {
		t.Fatalf("list: %+v", list)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"keys", "add", "pool"}, "exists"},
		{[]string{"keys", "show", "nobody"}, "no key with this name"},
		{[]string{"keys", "add", "../x"}, "key name"},
	} {
		_, err := satnode(t, append(c.args, "--home", home)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("satnode %s: %v, want an error containing %q", strings.Join(c.args, " "), err, c.want)
		}
	}
}

// TestP2PID: `satnode p2p id` prints the identity a testnet home was
// given, with its listen address, in the form bootstrap lists want.
func TestP2PID(t *testing.T) {
	out := t.TempDir()
	mustRun(t, "testnet", "--validators", "2", "--output", out, "--starting-port", "0")
	home := filepath.Join(out, "node0")
	var got struct {
		ID    string   `json:"id"`
		Addrs []string `json:"addrs"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "p2p", "id", "--home", home)), &got); err != nil {
		t.Fatal(err)
	}
	ac, err := node.LoadAppConfig(filepath.Join(out, "node1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Addrs) != 1 || len(ac.P2P.Bootstrap) != 1 || ac.P2P.Bootstrap[0] != got.Addrs[0] {
		t.Fatalf("node0 says %v; node1 bootstraps from %v", got.Addrs, ac.P2P.Bootstrap)
	}
	if again := mustRun(t, "p2p", "id", "--home", home); !strings.Contains(again, got.ID) {
		t.Fatal("the identity changed between runs")
	}
}
