package app

import (
	"bytes"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/satnode/satnode/utxo"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// TestBlockLog: live, every block gets its own line; catching up, one
// line every blockLogEvery however many blocks come, the last of them
// written by the next tick once blockLogEvery has passed; every block
// applied is in exactly one line.
func TestBlockLog(t *testing.T) {
	for _, tc := range []struct {
		name      string
		blocks    int
		every     time.Duration // between blocks
		wantLines int
	}{
		// Live: a block every ten minutes.
		{"live", 5, 10 * time.Minute, 5},
		// Catching up at 100 blocks/s for 60 s: the first block's line,
		// then one every 5 s (12), the last written by the tick.
		{"catching up", 6000, 10 * time.Millisecond, 13},
		// 2,000 blocks in one commit (no clock moves): the first, and
		// one summary when the tick comes 5 s later.
		{"one commit", 2000, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&buf, nil))
			clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			l := blockLog{now: clk.now}
			for i := range tc.blocks {
				l.applied(log, &utxo.BlockStats{Height: int32(i + 1), Txs: 10, Inputs: 20, Outputs: 30})
				clk.t = clk.t.Add(tc.every)
				l.tick(log) // FinalizeBlock's call
			}
			clk.t = clk.t.Add(blockLogEvery)
			l.tick(log)
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if len(lines) != tc.wantLines {
				t.Fatalf("%d lines for %d blocks, want %d:\n%s", len(lines), tc.blocks, tc.wantLines, buf.String())
			}
			// Every height once, in order, and every transaction.
			next, txs := int64(1), int64(0)
			single := regexp.MustCompile(`msg="bitcoin block applied" height=(\d+) hash=\w+ txs=(\d+) inputs=20 outputs=30$`)
			summary := regexp.MustCompile(`msg="bitcoin blocks applied" from=(\d+) to=(\d+) hash=\w+ blocks=(\d+) txs=(\d+) ` +
				`inputs=\d+ outputs=\d+ elapsed=[\d.]+m?s$`)
			for _, line := range lines {
				if m := single.FindStringSubmatch(line); m != nil {
					if atoi(m[1]) != next {
						t.Fatalf("line %q: want height %d", line, next)
					}
					next++
					txs += atoi(m[2])
					continue
				}
				m := summary.FindStringSubmatch(line)
				if m == nil {
					t.Fatalf("unexpected line %q", line)
				}
				from, to, n := atoi(m[1]), atoi(m[2]), atoi(m[3])
				if from != next || to-from+1 != n {
					t.Fatalf("line %q: want from=%d and blocks=to-from+1", line, next)
				}
				next = to + 1
				txs += atoi(m[4])
			}
			if next != int64(tc.blocks)+1 || txs != 10*int64(tc.blocks) {
				t.Fatalf("the lines cover heights 1..%d and %d txs, want 1..%d and %d", next-1, txs, tc.blocks, 10*tc.blocks)
			}
		})
	}
}

// TestBlockLogFlush: a restore writes what it counted when its loop
// ends, and the prefix goes before both messages.
func TestBlockLogFlush(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := blockLog{prefix: "state sync: ", now: clk.now}
	for i := range 3 {
		l.applied(log, &utxo.BlockStats{Height: int32(101 + i), Txs: 1})
		clk.t = clk.t.Add(time.Millisecond)
	}
	l.flush(log)
	l.flush(log) // nothing counted: no line
	got := buf.String()
	for _, want := range []string{`msg="state sync: bitcoin block applied" height=101 `,
		`msg="state sync: bitcoin blocks applied" from=102 to=103 `, "blocks=2 txs=2 ", "elapsed=3ms"} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n"); n != 2 {
		t.Errorf("%d lines, want 2:\n%s", n, got)
	}
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
