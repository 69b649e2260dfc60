package btcdtest

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// saveTimeout bounds saving or restoring a chain across a restart.
const saveTimeout = 2 * time.Minute

// maxSavedBlock bounds a record of the saved-chain file (a block is at most
// 4 MB), so a damaged file fails instead of allocating gigabytes.
const maxSavedBlock = 8 << 20

// chainPath is the file Stop and Kill save the best chain to, for Restart:
// records of u32le length ‖ serialized block, heights 1..tip in order.
func (n *Node) chainPath() string { return filepath.Join(n.Dir, "saved-chain.bin") }

// saveChain writes the running node's best chain to chainPath. It does
// nothing if btcd is not running (it exited on its own, or was stopped
// before), leaving any earlier save in place.
func (n *Node) saveChain(tb testing.TB) {
	tb.Helper()
	if !n.Running() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
	defer cancel()
	if err := n.writeChain(ctx); err != nil {
		tb.Fatalf("btcdtest: saving the chain before stopping btcd: %v", err)
	}
}

func (n *Node) writeChain(ctx context.Context) error {
	info, err := n.Client.ChainInfo(ctx)
	if err != nil {
		return err
	}
	tmp := n.chainPath() + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // a no-op after the rename
	w := bufio.NewWriterSize(f, 1<<20)
	var prefix [4]byte
	for h := int32(1); h <= info.Blocks; h++ {
		hash, err := n.Client.BlockHash(ctx, h)
		if err != nil {
			f.Close()
			return err
		}
		raw, err := n.Client.Block(ctx, hash)
		if err != nil {
			f.Close()
			return err
		}
		binary.LittleEndian.PutUint32(prefix[:], uint32(len(raw)))
		w.Write(prefix[:])
		w.Write(raw) // errors are sticky; Flush reports them
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, n.chainPath())
}

// restoreChain submits the saved chain to the freshly started node and
// checks that its tip is the saved tip.
func (n *Node) restoreChain(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
	defer cancel()
	if err := n.submitSaved(ctx); err != nil {
		tb.Fatalf("btcdtest: restoring the chain after restarting btcd: %v", err)
	}
}

func (n *Node) submitSaved(ctx context.Context) error {
	f, err := os.Open(n.chainPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var (
		prefix [4]byte
		tip    chainhash.Hash
		count  int
	)
	for {
		if _, err := io.ReadFull(r, prefix[:]); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("%s: %w", n.chainPath(), err)
		}
		size := binary.LittleEndian.Uint32(prefix[:])
		if size < 80 || size > maxSavedBlock {
			return fmt.Errorf("%s: record %d has impossible size %d", n.chainPath(), count, size)
		}
		raw := make([]byte, size)
		if _, err := io.ReadFull(r, raw); err != nil {
			return fmt.Errorf("%s: %w", n.chainPath(), err)
		}
		if err := n.SubmitBlock(ctx, raw); err != nil {
			return fmt.Errorf("block at height %d: %w", count+1, err)
		}
		tip = chainhash.DoubleHashH(raw[:80])
		count++
	}
	if count == 0 {
		return nil
	}
	// submitblock connects the block before it answers, so the tip is
	// already there; checking it catches a block accepted as a side branch.
	got, err := n.Client.BestBlockHash(ctx)
	if err != nil {
		return err
	}
	if got != tip {
		return fmt.Errorf("tip after resubmitting %d blocks is %s, saved tip %s", count, got, tip)
	}
	return nil
}
