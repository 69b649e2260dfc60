// Command satdemo runs the whole live path on one machine until Ctrl-C:
// btcd regtest nodes peered together, satnode validators each following
// its own btcd (endorser; the first ones also synchronizers), and a
// producer that gives btcd blocks full of transactions of every common
// script type (the repository's chain generator), first a quick 440 to
// show a catch-up and activate segwit and taproot, then one every
// --interval. It prints node0's synchronizer, endorser and applied-block
// lines; once node0 has applied the first blocks, a coin and an address to
// try with ready-to-paste commands; and every 10 blocks the UTXO set
// summary (satnode utxo info --node) and the tips /v1/status reports.
//
// node0 listens on the default ports (CometBFT RPC 26657, API 26680) when
// they are free, so that README.md's commands work as written; otherwise
// on free ports, which it prints. Everything listens on 127.0.0.1 only.
//
// Ctrl-C (SIGINT) or SIGTERM stops every process, satnode first, and exits
// 0 once all have stopped on their own; 1 on any other failure.
//
// make demo and make demo-localnet build it as bin/satdemo and run it.
package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/btcsuite/btcd/wire"
	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/satnode/satnode/node"
	"github.com/satnode/satnode/node/btcnode"
	"github.com/satnode/satnode/utxo/chaingen"
)

type options struct {
	validators, synchronizers int
	dir, satnode, btcd        string
	interval                  time.Duration
	preload, txs              int
}

func main() {
	var o options
	flag.IntVar(&o.validators, "validators", 1, "satnode validators, each with its own btcd")
	flag.IntVar(&o.synchronizers, "synchronizers", 1, "how many of them also run a synchronizer")
	flag.StringVar(&o.dir, "dir", "", "working directory (default: a new one under $TMPDIR)")
	flag.StringVar(&o.satnode, "satnode", "bin/satnode", "satnode binary")
	flag.StringVar(&o.btcd, "btcd", "bin/btcd", "btcd binary (v0.24.2)")
	flag.DurationVar(&o.interval, "interval", 2*time.Second, "time between Bitcoin blocks after the first ones")
	flag.IntVar(&o.preload, "preload", 440, "blocks given to btcd at once at the start (segwit activates at 432)")
	flag.IntVar(&o.txs, "txs", 30, "transactions per block")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "satdemo:", err)
		os.Exit(1)
	}
}

func say(format string, args ...any) {
	fmt.Printf("== "+format+"\n", args...)
}

// defaultRPC is CometBFT's default RPC address, where satnode's commands
// (and README.md's) look for a node.
var defaultRPC = cmtcfg.DefaultRPCConfig().ListenAddress

// run runs the demo until ctx ends. An interruption is not an error: run
// then returns nil once every process has stopped on its own.
func run(ctx context.Context, o options) (err error) {
	if o.validators < 1 || o.preload < 1 || o.interval <= 0 {
		return fmt.Errorf("want --validators, --preload and --interval above 0")
	}
	if o.dir == "" {
		d, err := os.MkdirTemp("", "satnode-demo-")
		if err != nil {
			return err
		}
		o.dir = d
	}
	for _, b := range []*string{&o.satnode, &o.btcd} {
		abs, err := filepath.Abs(*b)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("%s: %w (make demo builds it)", abs, err)
		}
		*b = abs
	}
	say("working directory %s", o.dir)
	var logs []string
	for i := range o.validators {
		logs = append(logs, filepath.Join(o.dir, "btcd"+strconv.Itoa(i), "btcd.log"), filepath.Join(o.dir, fmt.Sprintf("node%d.log", i)))
	}
	say("logs: %s", strings.Join(logs, ", "))

	var quiet atomic.Bool
	// CometBFT's shutdown lines are noise: quiet from the interruption on.
	defer context.AfterFunc(ctx, func() { quiet.Store(true) })()
	procs := &procSet{died: make(chan *proc, 2*o.validators)}
	defer func() {
		if ctx.Err() != nil {
			err = nil // whatever failed, failed because of the interruption
		}
		quiet.Store(true)
		if serr := procs.stopAll(); serr != nil && err == nil {
			err = serr
		}
		say("stopped; everything is in %s", o.dir)
	}()

	// btcd nodes, peered in a line.
	var btcds []*btcnode.Client
	var bcs []node.BitcoinConfig
	var p2pAddrs []string
	for i := range o.validators {
		ports, err := node.FreePorts("127.0.0.1", 2)
		if err != nil {
			return err
		}
		dir := filepath.Join(o.dir, "btcd"+strconv.Itoa(i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		empty := filepath.Join(dir, "empty.conf")
		if err := os.WriteFile(empty, nil, 0o644); err != nil {
			return err
		}
		rpc := "127.0.0.1:" + strconv.Itoa(ports[0])
		p2p := "127.0.0.1:" + strconv.Itoa(ports[1])
		args := []string{"-C", empty, "--regtest", "--datadir=" + filepath.Join(dir, "data"), "--logdir=" + filepath.Join(dir, "logs"),
			"--listen=" + p2p, "--rpclisten=" + rpc, "--rpcuser=demo", "--rpcpass=demo", "--notls",
			"--utxocachemaxsize=32", "--miningaddr=mnvLEgcKxKjzTaL8YgM9n2Bi7gVRChomLS"}
		for _, a := range p2pAddrs {
			args = append(args, "--addpeer="+a)
		}
		if err := procs.start("btcd"+strconv.Itoa(i), logs[2*i], nil, nil, o.btcd, args...); err != nil {
			return err
		}
		p2pAddrs = append(p2pAddrs, p2p)
		c, err := btcnode.New(btcnode.Config{URL: "http://" + rpc, User: "demo", Password: "demo"})
		if err != nil {
			return err
		}
		btcds = append(btcds, c)
		bc := node.DefaultAppConfig().Bitcoin
		bc.RPC, bc.User, bc.Password = "http://"+rpc, "demo", "demo"
		bcs = append(bcs, bc)
	}
	for i, c := range btcds {
		if err := waitReady(ctx, c); err != nil {
			return fmt.Errorf("btcd%d: %w", i, err)
		}
	}
	say("%d btcd regtest node(s) up", len(btcds))

	// satnode validators.
	infos, err := node.Testnet(node.TestnetOptions{Output: filepath.Join(o.dir, "satnode"), Validators: o.validators,
		Synchronizers: o.synchronizers, ChainID: "satnode-demo", Network: "regtest", Bitcoin: bcs})
	if err != nil {
		return err
	}
	for _, info := range infos {
		// Batches of 100 headers, so that the catch-up shows its progress.
		ac, err := node.LoadAppConfig(info.Home)
		if err != nil {
			return err
		}
		ac.Synchronizer.Batch = 100
		if err := node.WriteAppConfig(info.Home, ac); err != nil {
			return err
		}
	}
	taken, err := useDefaultPorts(&infos[0])
	if err != nil {
		return err
	}
	for i, info := range infos {
		var echo io.Writer
		if i == 0 {
			echo = os.Stdout
		}
		if err := procs.start("node"+strconv.Itoa(i), logs[2*i+1], echo, &quiet, o.satnode, "start", "--home", info.Home); err != nil {
			return err
		}
	}
	rpcAddr, api := infos[0].RPCAddr, infos[0].APIAddr
	say("%d satnode validator(s) started; node0's CometBFT RPC %s and API http://%s", len(infos), rpcAddr, api)
	if len(taken) > 0 {
		say("%s taken: in README.md's commands use %s for the CometBFT RPC and %s for the API",
			strings.Join(taken, " and "), rpcAddr, api)
	} else {
		say("the default ports: README.md's commands work as written")
	}

	// The producer.
	cfg := chaingen.DefaultConfig()
	cfg.Blocks = 1_000_000
	cfg.TxsPerBlock = o.txs
	g, err := chaingen.New(cfg)
	if err != nil {
		return err
	}
	if _, err := g.Next(); err != nil { // genesis, which btcd has
		return err
	}
	say("giving btcd %d blocks at once: the synchronizer catches up in batches", o.preload)
	tick := time.NewTicker(o.interval)
	defer tick.Stop()
	for n := 1; ; n++ {
		b, err := g.Next()
		if err != nil {
			return err
		}
		if err := submit(ctx, btcds, n, b); err != nil {
			return err
		}
		if n < o.preload {
			continue
		}
		if n == o.preload {
			say("waiting for node0 to apply the %d blocks", o.preload)
			if err := waitApplied(ctx, api, int32(n), procs.died); err != nil {
				return err
			}
		}
		if n == o.preload || n%10 == 0 {
			utxoInfo(ctx, o.satnode, rpcAddr)
			apiStatus(ctx, api)
		}
		if n == o.preload {
			sample(ctx, rpcAddr, api, int32(n), b)
			say("now one block every %v, until Ctrl-C", o.interval)
		}
		select {
		case <-ctx.Done():
			return nil
		case p := <-procs.died:
			return p.exitError()
		case <-tick.C:
		}
	}
}

// submit gives block n to every btcd.
func submit(ctx context.Context, btcds []*btcnode.Client, n int, b *wire.MsgBlock) error {
	var sb strings.Builder
	if err := b.Serialize(&sb); err != nil {
		return err
	}
	for i, c := range btcds {
		var res *string
		if err := c.Call(ctx, "submitblock", []any{fmt.Sprintf("%x", sb.String())}, &res); err != nil {
			return fmt.Errorf("btcd%d: submitblock: %w", i, err)
		}
		if res != nil && !strings.Contains(*res, "already have") {
			return fmt.Errorf("btcd%d refused block %d: %s", i, n, *res)
		}
	}
	return nil
}

// useDefaultPorts moves node0's CometBFT RPC and API onto the default
// ports (26657 and 26680) where they are free, so that README.md's
// commands work as written, and returns the defaults that were taken.
func useDefaultPorts(info *node.HomeInfo) (taken []string, err error) {
	cfg, err := node.LoadCometConfig(info.Home)
	if err != nil {
		return nil, err
	}
	ac, err := node.LoadAppConfig(info.Home)
	if err != nil {
		return nil, err
	}
	if free(strings.TrimPrefix(defaultRPC, "tcp://")) {
		cfg.RPC.ListenAddress = defaultRPC
	} else {
		taken = append(taken, defaultRPC)
	}
	if free(node.DefaultRPCListen) {
		ac.RPC.Listen = node.DefaultRPCListen
	} else {
		taken = append(taken, node.DefaultRPCListen)
	}
	cmtcfg.WriteConfigFile(filepath.Join(info.Home, "config", "config.toml"), cfg)
	if err := node.WriteAppConfig(info.Home, ac); err != nil {
		return nil, err
	}
	info.RPCAddr, info.APIAddr = cfg.RPC.ListenAddress, ac.RPC.Listen
	return taken, nil
}

// free reports whether nothing listens on addr.
func free(addr string) bool {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// sample prints a coin to try, the coinbase of block height (the last of
// the first blocks: unspendable for 100 blocks, so unspent for a while),
// as node0's API reports it, with commands that ask about it.
func sample(ctx context.Context, rpc, api string, height int32, b *wire.MsgBlock) {
	txid := b.Transactions[0].TxHash().String()
	var coin struct {
		Value        int64 `json:"value"`
		ScriptPubKey struct {
			Address string `json:"address"`
		} `json:"script_pubkey"`
	}
	if err := getJSON(ctx, "http://"+api+"/v1/utxo/"+txid+"/0", &coin); err != nil || coin.ScriptPubKey.Address == "" {
		say("no sample coin: GET /v1/utxo/%s/0: %v", txid, err)
		return
	}
	sh := sha256.Sum256(b.Transactions[0].TxOut[0].PkScript)
	addr := coin.ScriptPubKey.Address
	say("a coin to try (README.md's TXID:VOUT, ADDR, SHA256HEX and HEIGHT):")
	say("  TXID:VOUT  %s:0  (the coinbase of block %d, %d.%08d BTC; the API has it unspent)", txid, height, coin.Value/1e8, coin.Value%1e8)
	say("  ADDR       %s  (the address it pays)", addr)
	say("  SHA256HEX  %x  (sha256 of the address's script: Esplora's script hash)", sh)
	say("  HEIGHT     %d", height)
	for _, c := range []string{
		"bin/satnode utxo get " + txid + ":0 --node " + rpc,
		"bin/satnode utxo address " + addr + " --limit 3 --node " + rpc,
		"bin/btcctl -C /dev/null --notls -u x -P x -s " + api + " gettxout " + txid + " 0",
		"bin/btcctl -C /dev/null --notls -u x -P x -s " + api + " getblockchaininfo",
		"curl -s " + api + "/v1/utxo/" + txid + "/0",
		"curl -s " + api + "/address/" + addr + "/utxo",
		"curl -s " + api + "/v1/status",
	} {
		fmt.Println("     " + c)
	}
}

func waitReady(ctx context.Context, c *btcnode.Client) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := c.BestBlockHash(ctx); err == nil {
			return nil
		} else if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("not answering: %w", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitApplied waits until node0's API reports the set at height or above.
func waitApplied(ctx context.Context, api string, height int32, died <-chan *proc) error {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var st status
		if err := getJSON(ctx, "http://"+api+"/v1/status", &st); err == nil && st.Canonical.Height >= height {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("node0 did not apply the first blocks in 5 minutes: see node0.log")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case p := <-died:
			return p.exitError()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
