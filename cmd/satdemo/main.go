// Command satdemo runs the whole live path on one machine until Ctrl-C:
// btcd regtest nodes peered together, satnode validators each following
// its own btcd (endorser; the first ones also synchronizers), and a
// producer that gives btcd blocks full of transactions of every common
// script type (the repository's chain generator), first a quick 440 to
// show a catch-up and activate segwit and taproot, then one every
// --interval. It prints node0's synchronizer, endorser and applied-block
// lines, and every 10 blocks the UTXO set summary (satnode utxo info).
//
// make demo and make demo-localnet run it; everything listens on
// 127.0.0.1 only.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

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
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "satdemo:", err)
		os.Exit(1)
	}
}

func say(format string, args ...any) {
	fmt.Printf("== "+format+"\n", args...)
}

func run(ctx context.Context, o options) error {
	var quiet atomic.Bool
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
	say("working directory %s (logs: btcdI/btcd.log, nodeI.log)", o.dir)
	var procs []*proc
	defer func() {
		quiet.Store(true) // CometBFT's shutdown lines are noise here
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].stop()
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
		p, err := startProc(filepath.Join(dir, "btcd.log"), nil, nil, o.btcd, args...)
		if err != nil {
			return err
		}
		procs = append(procs, p)
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
	rpcAddr := infos[0].RPCAddr
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
	for i, info := range infos {
		var echo io.Writer
		if i == 0 {
			echo = os.Stdout
		}
		p, err := startProc(filepath.Join(o.dir, fmt.Sprintf("node%d.log", i)), echo, &quiet, o.satnode, "start", "--home", info.Home)
		if err != nil {
			return err
		}
		procs = append(procs, p)
	}
	say("%d satnode validator(s) started; node0's CometBFT RPC %s", len(infos), rpcAddr)
	api := infos[0].APIAddr
	say("node0's API http://%s — try: curl http://%s/v1/status | curl http://%s/blocks/tip/height | "+
		"curl http://%s/metrics | bin/btcctl -C /dev/null --notls -u x -P x -s %s getblockchaininfo", api, api, api, api, api)

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
		var sb strings.Builder
		if err := b.Serialize(&sb); err != nil {
			return err
		}
		for i, c := range btcds {
			var res *string
			if err := c.Call(ctx, "submitblock", []any{fmt.Sprintf("%x", sb.String())}, &res); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("btcd%d: submitblock: %w", i, err)
			}
			if res != nil && !strings.Contains(*res, "already have") {
				return fmt.Errorf("btcd%d refused block %d: %s", i, n, *res)
			}
		}
		if n < o.preload {
			continue
		}
		if n == o.preload || n%10 == 0 {
			utxoInfo(ctx, o.satnode, rpcAddr)
			apiStatus(ctx, api)
		}
		if n == o.preload {
			say("now one block every %v, until Ctrl-C", o.interval)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// utxoInfo prints the first lines of `satnode utxo info --node`.
func utxoInfo(ctx context.Context, bin, rpc string) {
	out, err := exec.CommandContext(ctx, bin, "utxo", "info", "--node", rpc).CombinedOutput()
	if err != nil {
		say("satnode utxo info: %v: %s", err, out)
		return
	}
	var keep []string
	for _, l := range strings.Split(string(out), "\n") {
		for _, k := range []string{`"height"`, `"bestblock"`, `"txouts"`, `"muhash"`, `"total_amount"`} {
			if strings.HasPrefix(strings.TrimSpace(l), k) {
				keep = append(keep, strings.TrimSpace(l))
			}
		}
	}
	say("satnode utxo info --node %s: %s", rpc, strings.Join(keep, " "))
}

// apiStatus prints the Bitcoin tips node0's API reports (GET /v1/status).
func apiStatus(ctx context.Context, api string) {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+api+"/v1/status", nil)
	if err != nil {
		return
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		say("GET /v1/status: %v", err)
		return
	}
	defer resp.Body.Close()
	type tip struct {
		Height int32 `json:"height"`
	}
	var st struct {
		Canonical  tip `json:"canonical"`
		Endorsed   tip `json:"endorsed"`
		BestHeader tip `json:"best_header"`
		Final      tip `json:"final"`
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err := json.Unmarshal(body, &st); err != nil || resp.StatusCode != http.StatusOK {
		say("GET /v1/status: %s %.200s", resp.Status, body)
		return
	}
	say("GET http://%s/v1/status: Bitcoin tips: canonical %d, endorsed %d, best header %d, final %d",
		api, st.Canonical.Height, st.Endorsed.Height, st.BestHeader.Height, st.Final.Height)
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

// proc is a child process whose output goes to a log file and, if echo
// is set, its live-path lines also to echo.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// echoed are the log messages worth showing.
var echoed = []string{"bitcoin block applied", "synchronizer", "endorsed", "reorg", "waiting for the block body", "level=ERROR"}

func startProc(logPath string, echo io.Writer, quiet *atomic.Bool, bin string, args ...string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(f, line)
			if echo != nil && !quiet.Load() && matches(line) {
				fmt.Fprintln(echo, line)
			}
		}
		f.Close()
	}()
	go func() {
		_ = cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	return p, nil
}

func matches(line string) bool {
	for _, e := range echoed {
		if strings.Contains(line, e) {
			return true
		}
	}
	return false
}

// stop asks the process to exit and waits up to 20 s before killing it.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}
