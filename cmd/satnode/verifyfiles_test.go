package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyFilesOneChain: files of two chains are refused before any node
// is asked (the trusted validators are one chain's), naming a file of
// each; TestLive verifies many files of one chain in one run.
func TestVerifyFilesOneChain(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for _, f := range []struct{ name, chain string }{{"a.json", "chain-a"}, {"b.json", "chain-a"}, {"c.json", "chain-c"}} {
		p := filepath.Join(dir, f.name)
		body := `{"kind":"utxo","chain_id":"` + f.chain + `","outpoint":"` + strings.Repeat("ab", 32) + `:0"}`
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	// No node listens at --node: the refusal must come first.
	args := append(append([]string{"verify"}, paths...), "--trust-height", "1", "--trust-hash", strings.Repeat("00", 32),
		"--node", "tcp://127.0.0.1:1")
	out, err := satnode(t, args...)
	if err == nil {
		t.Fatalf("files of two chains verified: %s", out)
	}
	want := `the files are of 2 chains, "chain-a" (` + paths[0] + `), "chain-c" (` + paths[2] + `): verify one chain at a time`
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q, want it to say %q", err, want)
	}
}
