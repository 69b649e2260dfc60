package core

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"
	"strconv"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/utxo"
)

func (s *server) getBlockCount(c *call, _ [][]byte, dst []byte) ([]byte, error) {
	v, err := c.view()
	if err != nil {
		return dst, err
	}
	return strconv.AppendInt(dst, int64(v.Tip.Height), 10), nil
}

func (s *server) getBestBlockHash(c *call, _ [][]byte, dst []byte) ([]byte, error) {
	v, err := c.view()
	if err != nil {
		return dst, err
	}
	return appendHash(dst, &v.Tip.Hash), nil
}

func (s *server) getBlockHash(c *call, args [][]byte, dst []byte) ([]byte, error) {
	height, err := getInt(args[0], 32)
	if err != nil {
		return dst, err
	}
	v, err := c.view()
	if err != nil {
		return dst, err
	}
	if height < 0 || height > int64(v.Tip.Height) {
		return dst, errHeightRange
	}
	h, herr := header(v, int32(height))
	if herr != nil {
		return dst, herr
	}
	hash := h.BlockHash()
	return appendHash(dst, &hash), nil
}

// header reads the header at a height of the view's chain. A height the
// store has no header for (below the base of a seeded store) is a -8.
func header(v *app.View, height int32) (*wire.BlockHeader, error) {
	h, err := v.Reader.Header(height)
	if utxo.IsNotFound(err) {
		return nil, rpcErr(CodeInvalidParameter, "satnode has no header at height %d (below the base of its store)", height)
	}
	return h, err
}

// blockHeaderResult is Core's getblockheader answer (blockheaderToJSON),
// in Core's field order.
type blockHeaderResult struct {
	Hash              string    `json:"hash"`
	Confirmations     int32     `json:"confirmations"`
	Height            int32     `json:"height"`
	Version           int32     `json:"version"`
	VersionHex        string    `json:"versionHex"`
	MerkleRoot        string    `json:"merkleroot"`
	Time              int64     `json:"time"`
	MedianTime        int64     `json:"mediantime"`
	Nonce             uint32    `json:"nonce"`
	Bits              string    `json:"bits"`
	Target            string    `json:"target"`
	Difficulty        coreFloat `json:"difficulty"`
	ChainWork         string    `json:"chainwork,omitempty"`
	NTx               *uint32   `json:"nTx,omitempty"`
	PreviousBlockHash string    `json:"previousblockhash,omitempty"`
	NextBlockHash     string    `json:"nextblockhash,omitempty"`
}

func (s *server) getBlockHeader(c *call, args [][]byte, dst []byte) ([]byte, error) {
	hash, err := parseHash(args[0], "hash")
	if err != nil {
		return dst, err
	}
	verbose := true
	if kindOf(args1(args, 1)) != kindNull {
		if verbose, err = getBool(args[1]); err != nil {
			return dst, err
		}
	}
	v, err := c.view()
	if err != nil {
		return dst, err
	}
	height, h, herr := canonicalHeader(v, hash)
	if herr != nil {
		return dst, herr
	}
	if !verbose {
		var b bytes.Buffer
		if err := h.Serialize(&b); err != nil {
			return dst, err
		}
		return appendHex(dst, b.Bytes()), nil
	}
	r, herr := headerResult(v, hash, height, h)
	if herr != nil {
		return dst, herr
	}
	switch rec, err := v.Reader.BlockRecord(height); {
	case err == nil:
		r.NTx = &rec.Stats.Txs
	case !utxo.IsNotFound(err):
		return dst, err
	}
	return appendJSON(dst, &r)
}

// canonicalHeader finds a block of the view's connected chain by hash:
// its height and header. satnode keeps no headers of side branches, so
// any other hash is errBlockNotFound (Core's -5 "Block not found").
func canonicalHeader(v *app.View, hash chainhash.Hash) (int32, *wire.BlockHeader, error) {
	height, err := v.Reader.HeightOf(hash)
	if utxo.IsNotFound(err) || (err == nil && height > v.Tip.Height) {
		return 0, nil, errBlockNotFound
	}
	if err != nil {
		return 0, nil, err
	}
	h, err := v.Reader.Header(height)
	if utxo.IsNotFound(err) {
		return 0, nil, errBlockNotFound
	}
	if err != nil {
		return 0, nil, err
	}
	if h.BlockHash() != hash {
		return 0, nil, fmt.Errorf("the hash index puts block %s at height %d, whose header hashes to %s", hash, height, h.BlockHash())
	}
	return height, h, nil
}

// headerResult is Core's blockheaderToJSON for a block of the connected
// chain, nTx left to the caller (getblock counts its body; getblockheader
// reads the block record).
func headerResult(v *app.View, hash chainhash.Hash, height int32, h *wire.BlockHeader) (blockHeaderResult, error) {
	r := blockHeaderResult{
		Hash: hash.String(), Confirmations: v.Tip.Height - height + 1, Height: height,
		Version: h.Version, VersionHex: fmt.Sprintf("%08x", uint32(h.Version)), MerkleRoot: h.MerkleRoot.String(),
		Time: h.Timestamp.Unix(), Nonce: h.Nonce, Bits: fmt.Sprintf("%08x", h.Bits), Target: target(h.Bits),
		Difficulty: coreFloat(difficulty(h.Bits, v.Params.Chain)),
	}
	var err error
	if r.MedianTime, err = medianTime(v, height, h); err != nil {
		return r, err
	}
	if r.ChainWork, err = chainWork(v, height); err != nil {
		return r, err
	}
	if height > 0 {
		r.PreviousBlockHash = h.PrevBlock.String()
	}
	if height < v.Tip.Height {
		next, err := v.Reader.Header(height + 1)
		if err != nil {
			return r, err
		}
		r.NextBlockHash = next.BlockHash().String()
	}
	return r, nil
}

// args1 returns argument i, or nil if it was left out.
func args1(args [][]byte, i int) []byte {
	if i < len(args) {
		return args[i]
	}
	return nil
}

// parseHash is Core's ParseHashV: 64 hex digits, byte-reversed, with
// Core's two messages naming the parameter.
func parseHash(raw []byte, name string) (chainhash.Hash, *Error) {
	var h chainhash.Hash
	s, err := getString(raw)
	if err != nil {
		return h, err
	}
	if len(s) != 2*chainhash.HashSize {
		return h, rpcErr(CodeInvalidParameter, "%s must be of length %d (not %d, for '%s')", name, 2*chainhash.HashSize, len(s), s)
	}
	var b [chainhash.HashSize]byte
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return h, rpcErr(CodeInvalidParameter, "%s must be hexadecimal string (not '%s')", name, s)
	}
	for i := range b {
		h[i] = b[chainhash.HashSize-1-i]
	}
	return h, nil
}

// difficulty is btcd's getDifficultyRatio (rpcserver.go): the network's
// proof-of-work limit over the block's target, as an exact ratio rounded
// to 8 decimals. On mainnet (and testnet, signet) it equals Core's
// GetDifficulty, whose 0xffff·256^(29−exponent)/mantissa is the same
// ratio for the limit 0x1d00ffff; on regtest it matches btcd (1 at the
// regtest limit) where Core, which always divides by the mainnet limit,
// prints 4.656542373906925e-10.
func difficulty(bits uint32, net *chaincfg.Params) float64 {
	max := blockchain.CompactToBig(net.PowLimitBits)
	t := blockchain.CompactToBig(bits)
	if t.Sign() <= 0 {
		return 0
	}
	d, err := strconv.ParseFloat(new(big.Rat).SetFrac(max, t).FloatString(8), 64)
	if err != nil {
		return 0
	}
	return d
}

// target is Core's "target": the expanded compact target as 64 hex digits.
func target(bits uint32) string {
	t := blockchain.CompactToBig(bits)
	if t.Sign() < 0 {
		t = new(big.Int)
	}
	return fmt.Sprintf("%064x", t)
}

// medianTime is Core's GetMedianTimePast: the median of the timestamps of
// the block and up to ten before it (fewer near genesis or the base of a
// seeded store).
func medianTime(v *app.View, height int32, h *wire.BlockHeader) (int64, error) {
	times := make([]int64, 0, 11)
	times = append(times, h.Timestamp.Unix())
	for ht := height - 1; ht >= 0 && ht > height-11; ht-- {
		p, err := v.Reader.Header(ht)
		if utxo.IsNotFound(err) {
			break
		}
		if err != nil {
			return 0, err
		}
		times = append(times, p.Timestamp.Unix())
	}
	slices.Sort(times)
	return times[len(times)/2], nil
}

// maxWorkWalk bounds the headers read to derive a block's chainwork from
// the tip's: one retarget period. Deeper blocks get no chainwork field
// rather than a getblockheader that reads thousands of headers.
const maxWorkWalk = 2016

// chainWork is the cumulative work of the block at height as 64 hex
// digits: the view's TipWork minus the work of the blocks above it. It is
// "" (the field is left out) when that walk is longer than maxWorkWalk,
// when the view has no tip work, or when the subtraction would go
// negative (TipWork is relative to the header tree's base, so blocks
// below that base have no meaningful value).
func chainWork(v *app.View, height int32) (string, error) {
	tip := new(big.Int).SetBytes(v.TipWork[:])
	if tip.Sign() == 0 || v.Tip.Height-height > maxWorkWalk {
		return "", nil
	}
	for ht := v.Tip.Height; ht > height; ht-- {
		h, err := v.Reader.Header(ht)
		if err != nil {
			return "", err
		}
		tip.Sub(tip, blockchain.CalcWork(h.Bits))
	}
	if tip.Sign() <= 0 {
		return "", nil
	}
	return fmt.Sprintf("%064x", tip), nil
}

// chainName is Core's GetChainTypeString for the network.
func chainName(p *utxo.Params) string {
	switch p.Name {
	case "mainnet":
		return "main"
	case "testnet3":
		return "test"
	}
	return p.Name // testnet4, signet and regtest are named alike; simnet has no Core name
}

// blockchainInfo is Core's getblockchaininfo answer, in Core's field
// order (with Core 29's bits and target).
type blockchainInfo struct {
	Chain                string    `json:"chain"`
	Blocks               int32     `json:"blocks"`
	Headers              int32     `json:"headers"`
	BestBlockHash        string    `json:"bestblockhash"`
	Bits                 string    `json:"bits"`
	Target               string    `json:"target"`
	Difficulty           coreFloat `json:"difficulty"`
	Time                 int64     `json:"time"`
	MedianTime           int64     `json:"mediantime"`
	VerificationProgress coreFloat `json:"verificationprogress"`
	InitialBlockDownload bool      `json:"initialblockdownload"`
	ChainWork            string    `json:"chainwork"`
	SizeOnDisk           int64     `json:"size_on_disk"`
	Pruned               bool      `json:"pruned"`
	Warnings             []string  `json:"warnings"`
}

func (s *server) getBlockchainInfo(c *call, _ [][]byte, dst []byte) ([]byte, error) {
	v, err := c.view()
	if err != nil {
		return dst, err
	}
	h, herr := v.Reader.Header(v.Tip.Height)
	if herr != nil {
		return dst, herr
	}
	mtp, herr := medianTime(v, v.Tip.Height, h)
	if herr != nil {
		return dst, herr
	}
	// Initial block download is /v1/status's test on the same view: the
	// set is behind the best header (sync.behind > 0, sync.synced false).
	// Live, each new header makes it true for the second or so until its
	// block is endorsed and applied, so two requests a moment apart can
	// disagree; one view never does.
	behind := v.BestHeader.Height - v.Tip.Height
	headers := max(v.BestHeader.Height, v.Tip.Height)
	progress := 1.0
	if v.Tip.Height < headers && headers > 0 {
		progress = float64(v.Tip.Height) / float64(headers)
	}
	r := blockchainInfo{
		Chain: chainName(v.Params), Blocks: v.Tip.Height, Headers: headers, BestBlockHash: v.Tip.Hash.String(),
		Bits: fmt.Sprintf("%08x", h.Bits), Target: target(h.Bits), Difficulty: coreFloat(difficulty(h.Bits, v.Params.Chain)),
		Time: h.Timestamp.Unix(), MedianTime: mtp, VerificationProgress: coreFloat(progress),
		InitialBlockDownload: behind > 0, ChainWork: hex.EncodeToString(v.TipWork[:]),
		Warnings: []string{},
	}
	return appendJSON(dst, &r)
}

// networkInfo is a minimal getnetworkinfo. satnode has no Bitcoin P2P
// node of its own to describe; the method exists because btcd's rpcclient
// asks it (after getinfo fails with "Method not found") to tell which
// Core it talks to, and picks the shape it parses getblockchaininfo in
// from the version. "/Satoshi:28.0.0(satnode)/" makes it choose the
// modern (post-0.19, unified softforks) shape, which is the one this
// dialect speaks; the comment says who really answers. warnings is the
// string of Core's -deprecatedrpc=warnings form because btcjson declares
// it a string (Core 28's default array would fail its decoding).
type networkInfo struct {
	Version         int32    `json:"version"`
	SubVersion      string   `json:"subversion"`
	ProtocolVersion int32    `json:"protocolversion"`
	LocalServices   string   `json:"localservices"`
	LocalServNames  []string `json:"localservicesnames"`
	LocalRelay      bool     `json:"localrelay"`
	TimeOffset      int64    `json:"timeoffset"`
	NetworkActive   bool     `json:"networkactive"`
	Connections     int32    `json:"connections"`
	ConnectionsIn   int32    `json:"connections_in"`
	ConnectionsOut  int32    `json:"connections_out"`
	Networks        []string `json:"networks"`
	RelayFee        float64  `json:"relayfee"`
	IncrementalFee  float64  `json:"incrementalfee"`
	LocalAddresses  []string `json:"localaddresses"`
	Warnings        string   `json:"warnings"`
}

// The Core version whose dialect this package speaks, as getnetworkinfo
// reports it.
const (
	coreVersion    = 280000
	coreSubversion = "/Satoshi:28.0.0(satnode)/"
)

func (s *server) getNetworkInfo(_ *call, _ [][]byte, dst []byte) ([]byte, error) {
	return appendJSON(dst, &networkInfo{
		Version: coreVersion, SubVersion: coreSubversion, ProtocolVersion: 70016,
		LocalServices: "0000000000000000", LocalServNames: []string{}, Networks: []string{}, LocalAddresses: []string{},
	})
}
