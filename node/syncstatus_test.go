package node

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/rpc/native"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func TestClassify(t *testing.T) {
	restoring := app.RestoreStatus{Phase: app.PhaseCoins}
	for _, c := range []struct {
		name string
		in   syncInputs
		want string
	}{
		{"restore under way", syncInputs{Restore: restoring, WaitSync: true}, native.StateSyncing},
		// CometBFT restarts a restore from scratch on another snapshot;
		// the app has no view meanwhile.
		{"restore under way, state sync off", syncInputs{Restore: restoring}, native.StateSyncing},
		{"looking for a snapshot", syncInputs{StateSync: true, NoView: true, WaitSync: true}, native.StateSyncing},
		{"last restore failed", syncInputs{Restore: app.RestoreStatus{Phase: app.PhaseFailed}, StateSync: true,
			NoView: true, WaitSync: true}, native.StateSyncing},
		{"restore done, blocksync", syncInputs{Restore: app.RestoreStatus{Phase: app.PhaseDone}, StateSync: true,
			WaitSync: true}, native.StateCatchingUp},
		// A restarted node with state sync still on has its own state.
		{"state sync on, has a view", syncInputs{StateSync: true, WaitSync: true}, native.StateCatchingUp},
		{"no view, state sync off", syncInputs{NoView: true, WaitSync: true}, native.StateCatchingUp},
		{"live", syncInputs{StateSync: true, Height: 9}, native.StateLive},
		{"live before the first commit", syncInputs{NoView: true}, native.StateLive},
	} {
		if got := classify(c.in); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestRestoreETA(t *testing.T) {
	coins := func(bytes int64) app.RestoreStatus {
		return app.RestoreStatus{Phase: app.PhaseCoins, Started: t0, Bytes: bytes, BytesTotal: 700}
	}
	for _, c := range []struct {
		name    string
		rs      app.RestoreStatus
		elapsed time.Duration
		want    time.Duration // -1: none
	}{
		// Fraction 0.7*350/700 = 0.35: 70 s for 35%, 130 s for the rest.
		{"halfway through the coins", coins(350), 70 * time.Second, 130 * time.Second},
		{"the stream done", coins(700), 70 * time.Second, 30 * time.Second},
		// 0.7*10/700 = 0.01: too early to say.
		{"one percent", coins(10), 10 * time.Second, -1},
		{"nothing yet", coins(0), 10 * time.Second, -1},
		{"verifying", app.RestoreStatus{Phase: app.PhaseVerify, Started: t0}, 99 * time.Second, time.Second},
		// Fraction 0.9 at the first block: 90 minutes for 90%.
		{"blocks", app.RestoreStatus{Phase: app.PhaseBlocks, Started: t0, Blocks: 0, BlocksTotal: 10},
			90 * time.Minute, 10 * time.Minute},
		{"not started", app.RestoreStatus{Phase: app.PhaseTree}, time.Minute, -1},
		{"clock behind the start", coins(350), -time.Second, -1},
		{"done", app.RestoreStatus{Phase: app.PhaseDone, Started: t0}, time.Minute, -1},
		{"failed", app.RestoreStatus{Phase: app.PhaseFailed, Started: t0, Bytes: 350, BytesTotal: 700}, time.Minute, -1},
	} {
		got, ok := restoreETA(c.rs, t0.Add(c.elapsed))
		if ok {
			got = got.Round(time.Millisecond)
		} else {
			got = -1
		}
		if got != c.want {
			t.Errorf("%s: eta %v (%v), want %v", c.name, got, ok, c.want)
		}
	}
}

func TestCatchUpETA(t *testing.T) {
	at := func(secs, height int64) heightSample {
		return heightSample{at: t0.Add(time.Duration(secs) * time.Second), height: height}
	}
	for _, c := range []struct {
		name     string
		from, to heightSample
		target   int64
		rate     float64 // 0: none
		eta      time.Duration
		etaOK    bool
	}{
		{"5 blocks a second, 250 to go", at(0, 100), at(10, 150), 400, 5, 50 * time.Second, true},
		{"target unknown", at(0, 100), at(10, 150), 0, 5, 0, false},
		{"target reached", at(0, 100), at(10, 150), 150, 5, 0, true},
		{"peers behind us", at(0, 100), at(10, 150), 120, 5, 0, true},
		{"no progress", at(0, 100), at(10, 100), 400, 0, 0, false},
		{"under a second apart", at(0, 100), heightSample{at: t0.Add(500 * time.Millisecond), height: 110},
			400, 0, 0, false},
	} {
		rate, ok := catchUpRate(c.from, c.to)
		if ok != (c.rate > 0) || rate != c.rate {
			t.Errorf("%s: rate %v %v, want %v", c.name, rate, ok, c.rate)
		}
		eta, ok := catchUpETA(c.to.height, c.target, rate)
		if ok != c.etaOK || eta != c.eta {
			t.Errorf("%s: eta %v %v, want %v %v", c.name, eta, ok, c.eta, c.etaOK)
		}
	}
}

// joinSteps is a node joining by state sync, one reading every 10 s of a
// fake clock: looking for a snapshot, restoring, blocksync from the
// snapshot's height, live.
func joinSteps() []syncInputs {
	restore := func(rs app.RestoreStatus) syncInputs {
		rs.Height, rs.Started, rs.ChunksTotal, rs.BytesTotal, rs.Attempts = 5000, t0.Add(10*time.Second), 175, 700<<20, 1
		return syncInputs{Restore: rs, StateSync: true, NoView: true, WaitSync: true}
	}
	done := app.RestoreStatus{Phase: app.PhaseDone, Height: 5000}
	catching := func(height, peers int64) syncInputs {
		return syncInputs{Restore: done, StateSync: true, WaitSync: true, Height: height, PeerHeight: peers}
	}
	return []syncInputs{
		{StateSync: true, NoView: true, WaitSync: true}, // t0
		restore(app.RestoreStatus{Phase: app.PhaseCoins, Chunks: 10, Bytes: 40 << 20, Coins: 1000}),
		restore(app.RestoreStatus{Phase: app.PhaseCoins, Chunks: 88, Bytes: 350 << 20, Coins: 500000}),
		// The snapshot is in; the block store has no block past it yet.
		catching(0, 0),
		catching(5100, 0),
		catching(5200, 5600),
		{Restore: done, StateSync: true, Height: 5601, PeerHeight: 5600},
	}
}

// TestSyncWatch drives the watch through a join with a fake clock.
func TestSyncWatch(t *testing.T) {
	var w syncWatch
	var got []native.NodeState
	for i, in := range joinSteps() {
		got = append(got, w.state(in, t0.Add(time.Duration(i)*10*time.Second)))
	}
	eta := func(ns native.NodeState) int64 {
		if ns.ETASeconds == nil {
			return -1
		}
		return *ns.ETASeconds
	}
	for i, c := range []struct {
		state          string
		height, target int64
		eta            int64
		rate           float64
	}{
		{native.StateSyncing, 0, 0, -1, 0},
		// 0.7*40/700 = 4%: 0 s elapsed since the restore started.
		{native.StateSyncing, 0, 0, -1, 0},
		// 35% in 10 s: 18.57 s to go.
		{native.StateSyncing, 0, 0, 19, 0},
		// The snapshot's height stands for the empty block store, and the
		// first sample starts the rate.
		{native.StateCatchingUp, 5000, 0, -1, 0},
		{native.StateCatchingUp, 5100, 0, -1, 10},
		// 200 blocks in 20 s; 400 to go.
		{native.StateCatchingUp, 5200, 5600, 40, 10},
		{native.StateLive, 5601, 0, -1, 0},
	} {
		ns := got[i]
		if ns.State != c.state || ns.Height != c.height || ns.Target != c.target || eta(ns) != c.eta ||
			ns.BlocksPerSecond != c.rate {
			t.Errorf("step %d: %+v eta %d, want %+v", i, ns, eta(ns), c)
		}
		if (ns.State == native.StateSyncing) != (ns.Restore != nil) {
			t.Errorf("step %d: restore %+v in state %s", i, ns.Restore, ns.State)
		}
	}
	if r := got[2].Restore; r.Phase != "coins" || r.Percent != 35 || r.Chunks != 88 || r.ChunksTotal != 175 ||
		r.Bytes != 350<<20 || r.Coins != 500000 || r.Height != 5000 || r.Started == nil || eta(got[2]) != *r.ETASeconds {
		t.Errorf("restore %+v", r)
	}
	if !w.from.at.IsZero() {
		t.Errorf("live, yet the catch-up sample %+v stays", w.from)
	}
}

// TestRunSyncLog: one line per tick until live, then one "live" line and
// the loop ends by itself.
func TestRunSyncLog(t *testing.T) {
	steps := joinSteps()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey || a.Key == slog.LevelKey {
			return slog.Attr{}
		}
		return a
	}}))
	i := 0
	read := func() syncInputs { i++; return steps[i-1] }
	now := func() time.Time { return t0.Add(time.Duration(i-1) * 10 * time.Second) }
	// More ticks than steps: the loop must stop at live, not at the ticks.
	tick := make(chan time.Time, 2*len(steps))
	for range cap(tick) {
		tick <- time.Time{}
	}
	runSyncLog(log, &syncWatch{}, read, now, tick, nil)
	want := []string{
		`msg="state sync: waiting for a snapshot" attempts=0`,
		`msg="state sync: restoring" phase=coins progress=4.0% snapshot=5000 chunks=10/175 mb=40/700 coins=1000 eta=unknown`,
		`msg="state sync: restoring" phase=coins progress=35.0% snapshot=5000 chunks=88/175 mb=350/700 coins=500000 eta=19s`,
		`msg="catching up" height=5000 target=unknown blocks_per_s=0 eta=unknown`,
		`msg="catching up" height=5100 target=unknown blocks_per_s=10 eta=unknown`,
		`msg="catching up" height=5200 target=5600 blocks_per_s=10 eta=40s`,
		`msg=live height=5601`,
	}
	if got := strings.Split(strings.TrimSpace(buf.String()), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if i != len(steps) || len(tick) != cap(tick)-(len(steps)-1) {
		t.Fatalf("read %d times, %d ticks left", i, len(tick))
	}

	// Closing quit ends the loop while still syncing.
	buf.Reset()
	quit := make(chan struct{})
	close(quit)
	runSyncLog(log, &syncWatch{}, func() syncInputs { return steps[0] }, func() time.Time { return t0 }, nil, quit)
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Fatalf("%d lines after quit:\n%s", n, buf.String())
	}
}

// TestLogStateFailed: after a failed restore the log says so.
func TestLogStateFailed(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	var w syncWatch
	logState(log, w.state(syncInputs{Restore: app.RestoreStatus{Phase: app.PhaseFailed, Attempts: 2},
		StateSync: true, NoView: true}, t0))
	if !strings.Contains(buf.String(), `msg="state sync: restore failed, waiting for another snapshot" attempts=2`) {
		t.Fatalf("log %s", buf.String())
	}
}
