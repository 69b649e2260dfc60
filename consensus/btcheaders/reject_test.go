package btcheaders

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"
)

// TestErrorCodesPinned pins the numbers: they are part of the ABCI
// application's stable codes.
func TestErrorCodesPinned(t *testing.T) {
	want := []struct {
		c    ErrorCode
		n    int
		name string
	}{
		{ErrUnknownParent, 1, "ErrUnknownParent"},
		{ErrDuplicate, 2, "ErrDuplicate"},
		{ErrBadPoW, 3, "ErrBadPoW"},
		{ErrWrongBits, 4, "ErrWrongBits"},
		{ErrTimeTooOld, 5, "ErrTimeTooOld"},
		{ErrTimeTooNew, 6, "ErrTimeTooNew"},
		{ErrBadCheckpoint, 7, "ErrBadCheckpoint"},
		{ErrBelowFinalized, 8, "ErrBelowFinalized"},
		{ErrBadHeader, 9, "ErrBadHeader"},
		{ErrBadStart, 10, "ErrBadStart"},
	}
	if int(numErrorCodes) != len(want)+1 {
		t.Fatalf("%d codes, the test pins %d", numErrorCodes-1, len(want))
	}
	for _, w := range want {
		if int(w.c) != w.n || w.c.String() != w.name {
			t.Errorf("%s = %d, want %d", w.c, int(w.c), w.n)
		}
	}
	if ErrorCode(99).String() != "ErrorCode(99)" {
		t.Error("unknown code name")
	}
}

func TestBtcdCodeMapping(t *testing.T) {
	for _, c := range []struct {
		b blockchain.ErrorCode
		w ErrorCode
	}{
		{blockchain.ErrHighHash, ErrBadPoW},
		{blockchain.ErrUnexpectedDifficulty, ErrWrongBits},
		{blockchain.ErrTimeTooOld, ErrTimeTooOld},
		{blockchain.ErrTimeTooNew, ErrTimeTooNew},
		{blockchain.ErrBadCheckpoint, ErrBadCheckpoint},
		{blockchain.ErrForkTooOld, ErrBadCheckpoint},
		{blockchain.ErrBlockVersionTooOld, ErrBadHeader},
		{blockchain.ErrInvalidTime, ErrBadHeader},
	} {
		err := fromBtcd(blockchain.RuleError{ErrorCode: c.b, Description: "x"})
		wantCode(t, err, c.w)
	}
	if err := fromBtcd(blockchain.AssertError("boom")); !errors.Is(err, ErrInternal) {
		t.Fatalf("assert error mapped to %v", err)
	}
}

// TestRejectTimeAndVersion covers the rules mainnet data cannot: a time
// equal to the median time past (refused) or one second above (accepted),
// and a version that is no longer valid.
func TestRejectTimeAndVersion(t *testing.T) {
	p := &chaincfg.SimNetParams
	chain := simnetRetargetChain()[:40]
	tr := mustNew(t, p, StartPoint{})
	for i := 1; i < len(chain); i++ {
		mustAdd(t, tr, &chain[i])
	}
	tip := tr.BestChain(nil)
	mtp := tr.MedianTimePast(tip)
	if want := medianOf(chain[len(chain)-11:]); !mtp.Equal(want) {
		t.Fatalf("median time past %v, want %v", mtp, want)
	}
	now := mtp.Add(time.Hour)
	h := child(tr, p, tip, mtp, 1)
	_, err := tr.Add(&h, now)
	wantCode(t, err, ErrTimeTooOld)
	h = child(tr, p, tip, mtp.Add(-time.Hour), 2)
	_, err = tr.Add(&h, now)
	wantCode(t, err, ErrTimeTooOld)

	h = child(tr, p, tip, mtp.Add(time.Second), 3)
	h.Version = 3 // BIP65 is active from height 0 on simnet
	mine(&h)
	_, err = tr.Add(&h, now)
	wantCode(t, err, ErrBadHeader)

	_, err = tr.Add(nil, now)
	wantCode(t, err, ErrBadHeader)
	h = child(tr, p, tip, mtp.Add(time.Second), 3)
	bad := h
	bad.Timestamp = time.Unix(1<<32, 0)
	_, err = tr.Add(&bad, now)
	wantCode(t, err, ErrBadHeader)

	// Future time: exactly 2 h after now is fine, one second more is not.
	late := child(tr, p, tip, now.Add(2*time.Hour+time.Second), 4)
	_, err = tr.Add(&late, now)
	wantCode(t, err, ErrTimeTooNew)
	onTime := child(tr, p, tip, now.Add(2*time.Hour), 5)
	if _, err := tr.Add(&onTime, now); err != nil {
		t.Fatalf("header exactly 2 h ahead: %v", err)
	}
	if _, err := tr.Add(&h, now); err != nil {
		t.Fatalf("header one second after the median time past: %v", err)
	}
}

// TestBadStart covers every way New refuses a start point.
func TestBadStart(t *testing.T) {
	mn := &chaincfg.MainNetParams
	hdrs := mainnetHeaders(t)
	good := startFrom(mn, hdrs, 10085) // needs 10075..10085
	if len(good.Headers) != 11 {
		t.Fatalf("start at 10085 takes %d headers", len(good.Headers))
	}
	broken := startFrom(mn, hdrs, 10085)
	broken.Headers[4] = hdrs[5000]
	badPoW := startFrom(mn, hdrs, 10085)
	badPoW.Headers[0].Nonce++
	badBits := startFrom(mn, hdrs, 10085)
	badBits.Headers[0].Bits = 0x1e00ffff
	lowWork := startFrom(mn, hdrs, 10085)
	lowWork.ChainWork[31] = 1
	testnetGenesis := chaincfg.TestNet3Params.GenesisBlock.Header
	cases := []struct {
		name string
		sp   StartPoint
		want string // in the description
	}{
		{"too little ancestry", StartPoint{Height: 10085, Headers: good.Headers[1:]}, "needs 11 headers"},
		{"window start missing", StartPoint{Height: 12000, Headers: hdrs[12000-1919 : 12001]}, "needs 1921 headers"},
		{"broken chain", broken, "does not link"},
		{"bad proof of work", badPoW, "higher than expected"},
		{"bits above the limit", badBits, "higher than max"},
		{"wrong genesis", StartPoint{Headers: []wire.BlockHeader{testnetGenesis}}, "not the mainnet genesis"},
		{"wrong genesis below the start", StartPoint{Height: 1, Headers: []wire.BlockHeader{testnetGenesis, hdrs[1]}}, "not the mainnet genesis"},
		{"negative height", StartPoint{Height: -1}, "negative"},
		{"more headers than fit", StartPoint{Height: 5, Headers: append([]wire.BlockHeader{hdrs[0]}, hdrs[:6]...)}, "do not fit"},
		{"chain work too small", lowWork, "chain work"},
	}
	for _, c := range cases {
		_, err := New(mn, c.sp, testPrefix)
		var re RuleError
		if !errors.As(err, &re) || re.Code != ErrBadStart || !strings.Contains(re.Description, c.want) {
			t.Errorf("%s: got %v, want ErrBadStart with %q", c.name, err, c.want)
		}
	}
	// Extra ancestry is checked, then trimmed to what is required.
	extra := StartPoint{Height: 10085, Headers: hdrs[9000:10086]}
	tr := mustNew(t, mn, extra)
	if tr.Len() != 11 || tr.Bottom().Height() != 10075 {
		t.Fatalf("extra ancestry kept: %d nodes from %d", tr.Len(), tr.Bottom().Height())
	}
	if tr.Root() != mustNew(t, mn, good).Root() {
		t.Fatal("extra ancestry changed the tree")
	}
	extra.Headers = append([]wire.BlockHeader(nil), extra.Headers...)
	extra.Headers[3].Nonce++
	if _, err := New(mn, extra, testPrefix); !IsRuleError(err, ErrBadStart) {
		t.Fatalf("bad extra ancestry: %v", err)
	}
	// Parameters and prefix.
	if _, err := New(mn, StartPoint{}, nil); !errors.Is(err, ErrBadParams) {
		t.Fatalf("empty prefix: %v", err)
	}
	noRetarget := *mn
	noRetarget.TargetTimePerBlock = 0
	if _, err := New(&noRetarget, StartPoint{}, testPrefix); !errors.Is(err, ErrBadParams) {
		t.Fatalf("bad params: %v", err)
	}
	// Genesis given explicitly is the same as none.
	a := mustNew(t, mn, StartPoint{Headers: hdrs[:1]})
	if a.Root() != mustNew(t, mn, StartPoint{}).Root() {
		t.Fatal("explicit genesis differs")
	}
}
