package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/satnode/satnode/node"
)

const (
	operatorsDoc = "../../docs/operators.md"
	dashboard    = "../../docs/grafana-satnode.json"
	metricsDir   = "../../rpc/metrics"
)

// docBlock is a fenced block of docs/operators.md marked for the test by
// the line before it, "<!-- operators-test: KIND -->": "setup" and
// "running" blocks are commands, run before and while the node runs;
// "app.toml" and "config.toml" blocks are parts of those files.
type docBlock struct {
	kind string
	line int // of the opening fence
	text string
}

var docMarker = regexp.MustCompile(`^<!-- operators-test: ([a-z.]+) -->$`)

func docBlocks(t *testing.T, path string) []docBlock {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	var out []docBlock
	for i := 0; i < len(lines); i++ {
		m := docMarker.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "```") {
			t.Fatalf("%s:%d: the marker is not followed by a fenced block", path, i+1)
		}
		b := docBlock{kind: m[1], line: i + 2}
		j := i + 2
		for ; j < len(lines) && lines[j] != "```"; j++ {
			b.text += lines[j] + "\n"
		}
		if j == len(lines) {
			t.Fatalf("%s:%d: unclosed block", path, b.line)
		}
		switch b.kind {
		case "setup", "running", "app.toml", "config.toml":
		default:
			t.Fatalf("%s:%d: unknown kind %q", path, b.line, b.kind)
		}
		out = append(out, b)
		i = j
	}
	return out
}

// commands splits a block into commands: "\" continues a line, "#" lines
// are comments.
func (b docBlock) commands() []string {
	var out []string
	cur := ""
	for _, l := range strings.Split(b.text, "\n") {
		l = strings.TrimSpace(l)
		if cur == "" && (l == "" || strings.HasPrefix(l, "#")) {
			continue
		}
		if s, ok := strings.CutSuffix(l, `\`); ok {
			cur += s + " "
			continue
		}
		out = append(out, strings.TrimSpace(cur+l))
		cur = ""
	}
	return out
}

// shellWords splits a command line as a POSIX shell would for the plain
// words, single and double quotes the doc uses.
func shellWords(line string) ([]string, error) {
	var out []string
	var w strings.Builder
	inWord := false
	var quote rune
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				out = append(out, w.String())
				w.Reset()
				inWord = false
			}
		case strings.ContainsRune("|&;<>()$`*?", r):
			return nil, fmt.Errorf("%q: shell syntax (%c) cannot be run by the test", line, r)
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("%q: unclosed quote", line)
	}
	if inWord {
		out = append(out, w.String())
	}
	return out, nil
}

// docRunner runs the doc's commands: satnode as a real process (this test
// binary through TestHelperProcess), curl as an HTTP GET.
type docRunner struct {
	t   *testing.T
	sub *strings.Replacer
}

// leftovers are what must not remain after the substitution: the doc's
// own paths and ports, which the test must never touch.
var leftovers = regexp.MustCompile(`/var/lib/|:2665[67]\b|:2666[01]\b|:26680\b|example\.org|TRUST_`)

func (r *docRunner) run(where, line string) string {
	t := r.t
	t.Helper()
	line = r.sub.Replace(line)
	if m := leftovers.FindString(line); m != "" {
		t.Fatalf("%s: %q keeps %q after the test's substitutions", where, line, m)
	}
	args, err := shellWords(line)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	switch args[0] {
	case "satnode":
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcess$")
		cmd.Env = append(os.Environ(), helperEnv+"="+strings.Join(args[1:], "\x1f"))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %s: %v\n%s%s", where, line, err, stdout.String(), stderr.String())
		}
		return stdout.String()
	case "curl":
		var url string
		for _, a := range args[1:] {
			switch {
			case a == "-s":
			case strings.HasPrefix(a, "-") || url != "":
				t.Fatalf("%s: %s: the test runs curl -s URL only", where, line)
			default:
				url = a
			}
		}
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("%s: %s: %v", where, line, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s: HTTP %d, %v\n%.500s", where, line, resp.StatusCode, err, body)
		}
		return string(body)
	}
	t.Fatalf("%s: %s: the test runs satnode and curl commands only; move the command out of the marked block", where, line)
	return ""
}

// TestOperatorsDoc runs the marked blocks of docs/operators.md with real
// processes on loopback: the setup commands make the home (its path and
// ports replaced by the test's), a `satnode start` of it applies Bitcoin
// blocks, and the running commands, the state-sync join among them, run
// against it; each must succeed. The app.toml and config.toml parts must
// be valid: app.toml's keys and values as a node loads them, config.toml's
// keys CometBFT's. Every metric docs/grafana-satnode.json uses must be in
// the node's /metrics.
func TestOperatorsDoc(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	blocks := docBlocks(t, operatorsDoc)
	count := map[string]int{}
	for _, b := range blocks {
		count[b.kind]++
	}
	if count["setup"] < 1 || count["running"] < 2 || count["app.toml"] < 3 || count["config.toml"] < 1 {
		t.Fatalf("marked blocks by kind: %v; the doc lost some markers", count)
	}
	for _, b := range blocks {
		where := fmt.Sprintf("%s:%d", operatorsDoc, b.line)
		switch b.kind {
		case "app.toml":
			if _, err := node.ParseAppConfig(where, []byte(b.text)); err != nil {
				t.Errorf("%s: %v", where, err)
			}
		case "config.toml":
			checkCometKeys(t, where, b.text)
		}
	}

	dir := t.TempDir()
	home := filepath.Join(dir, "satnode")
	p2p, rpc, api := strconv.Itoa(freePort(t)), strconv.Itoa(freePort(t)), strconv.Itoa(freePort(t))
	r := &docRunner{t: t, sub: strings.NewReplacer(
		"/var/lib/satnode", home,
		"tcp://0.0.0.0:26656", "tcp://127.0.0.1:"+p2p,
		"127.0.0.1:26657", "127.0.0.1:"+rpc,
		"127.0.0.1:26680", "127.0.0.1:"+api,
		"http://rpc-a.example.org:26657", "http://127.0.0.1:"+rpc,
		"http://rpc-b.example.org:26657", "http://127.0.0.1:"+rpc,
		// The test's chain applies generated regtest blocks.
		"--network mainnet", "--network regtest",
	)}
	ran := 0
	for _, b := range blocks {
		if b.kind != "setup" {
			continue
		}
		for _, c := range b.commands() {
			out := r.run(fmt.Sprintf("%s:%d", operatorsDoc, b.line), c)
			if strings.TrimSpace(out) == "" {
				t.Fatalf("%s printed nothing", c)
			}
			ran++
		}
	}
	if _, err := node.LoadAppConfig(home); err != nil {
		t.Fatalf("the setup blocks made no home at %s: %v", home, err)
	}

	// The node, with Bitcoin blocks to apply.
	btc := genChain(t, 20)
	btc.useBodies(t, home)
	proc := startNodeProc(t, home, filepath.Join(dir, "node.log"))
	t.Cleanup(func() {
		if proc.running() {
			_ = proc.cmd.Process.Kill()
			<-proc.done
		}
		if t.Failed() {
			b, _ := os.ReadFile(proc.log)
			t.Logf("node log:\n%s", b)
		}
	})
	nodeRPC := "tcp://127.0.0.1:" + rpc
	c := rpcClient(t, nodeRPC)
	waitFor(t, 60*time.Second, "the node's first blocks", func() bool { return height(c) >= 2 })
	mustRun(t, append([]string{"tx", "submit-headers", "--from", "synchronizer", "--home", home, "--node", nodeRPC}, btc.headers...)...)
	mustRun(t, append([]string{"tx", "endorse", "--from", "endorser", "--home", home, "--node", nodeRPC}, btc.endorsements()...)...)
	want := btcTip{Height: 20, Hash: btc.hashes[19], MuHash: btc.muhash}
	waitFor(t, 60*time.Second, "the Bitcoin blocks applied", func() bool { return queryTip(t, nodeRPC) == want })

	trust := int64(2)
	res, err := c.Commit(context.Background(), &trust)
	if err != nil {
		t.Fatal(err)
	}
	r.sub = strings.NewReplacer("TRUST_HEIGHT", strconv.FormatInt(trust, 10), "TRUST_HASH", res.Commit.BlockID.Hash.String(),
		"/var/lib/satnode", home, "127.0.0.1:26657", "127.0.0.1:"+rpc, "127.0.0.1:26680", "127.0.0.1:"+api,
		"http://rpc-a.example.org:26657", "http://127.0.0.1:"+rpc, "http://rpc-b.example.org:26657", "http://127.0.0.1:"+rpc,
		"--network mainnet", "--network regtest")
	var metrics string
	for _, b := range blocks {
		if b.kind != "running" {
			continue
		}
		for _, cmd := range b.commands() {
			out := r.run(fmt.Sprintf("%s:%d", operatorsDoc, b.line), cmd)
			switch t0 := strings.TrimSpace(out); {
			case t0 == "":
				t.Fatalf("%s printed nothing", cmd)
			case strings.HasPrefix(t0, "{") || strings.HasPrefix(t0, "["):
				if !json.Valid([]byte(t0)) {
					t.Fatalf("%s printed invalid JSON: %.300s", cmd, t0)
				}
			}
			if strings.HasSuffix(cmd, "/metrics") {
				metrics = out
			}
			ran++
		}
	}
	t.Logf("ran %d commands of %s", ran, operatorsDoc)

	// The state-sync join's home.
	join, err := node.LoadCometConfig(home + "-join")
	if err != nil {
		t.Fatalf("the running blocks made no state-sync home: %v", err)
	}
	if ss := join.StateSync; !ss.Enable || ss.TrustHeight != trust || !strings.EqualFold(ss.TrustHash, res.Commit.BlockID.Hash.String()) {
		t.Fatalf("the joining home's [statesync]: %+v", ss)
	}

	// Every metric of the dashboard, in a real node's /metrics.
	if metrics == "" {
		t.Fatal("the doc's running blocks do not fetch /metrics")
	}
	scraped := map[string]bool{}
	for _, l := range strings.Split(metrics, "\n") {
		if name, _, ok := strings.Cut(l, " "); ok && !strings.HasPrefix(l, "#") {
			name, _, _ = strings.Cut(name, "{")
			scraped[name] = true
		}
	}
	for _, m := range dashboardMetrics(t) {
		if !scraped[m] {
			t.Errorf("the dashboard's %s is not in the node's /metrics", m)
		}
	}
	if err := proc.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("satnode start on SIGTERM: %v", err)
	}
}

// checkCometKeys fails on a key of a config.toml part that CometBFT's
// config.toml does not have.
func checkCometKeys(t *testing.T, where, text string) {
	t.Helper()
	var part map[string]any
	if _, err := toml.Decode(text, &part); err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	path := filepath.Join(t.TempDir(), "config.toml")
	cmtcfg.WriteConfigFile(path, cmtcfg.DefaultConfig())
	var full map[string]any
	if _, err := toml.DecodeFile(path, &full); err != nil {
		t.Fatal(err)
	}
	for k, v := range part {
		fv, ok := full[k]
		if !ok {
			t.Errorf("%s: config.toml has no key %s", where, k)
			continue
		}
		table, isTable := v.(map[string]any)
		if !isTable {
			continue
		}
		for k2 := range table {
			if _, ok := fv.(map[string]any)[k2]; !ok {
				t.Errorf("%s: config.toml has no key %s.%s", where, k, k2)
			}
		}
	}
}

// TestGrafanaDashboard: docs/grafana-satnode.json is a dashboard whose
// queries use only metrics rpc/metrics exports (the satnode_ metrics its
// collectors declare, the Go and process collectors' it registers), and
// docs/operators.md names no other satnode_ metric.
func TestGrafanaDashboard(t *testing.T) {
	exported := exportedMetrics(t)
	used := dashboardMetrics(t)
	if len(used) < 10 {
		t.Fatalf("the dashboard uses only %v", used)
	}
	for _, m := range used {
		if !exported[m] {
			t.Errorf("the dashboard uses %s, which rpc/metrics does not export", m)
		}
	}
	// The doc's metric table and alerts name real metrics too.
	doc, err := os.ReadFile(operatorsDoc)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`satnode_[a-z_]+[a-z]`).FindAllString(string(doc), -1) {
		if !exported[m] {
			t.Errorf("%s names %s, which rpc/metrics does not export", operatorsDoc, m)
		}
	}
	var unused []string
	for m := range exported {
		if strings.HasPrefix(m, "satnode_") && !histogramPart(m) && !slices.ContainsFunc(used, func(u string) bool {
			return u == m || u == m+"_bucket" || u == m+"_count" || u == m+"_sum"
		}) {
			unused = append(unused, m)
		}
	}
	slices.Sort(unused)
	if len(unused) > 0 {
		t.Logf("satnode metrics without a panel: %v", unused)
	}
}

func histogramPart(m string) bool {
	return strings.HasSuffix(m, "_bucket") || strings.HasSuffix(m, "_sum") || strings.HasSuffix(m, "_count")
}

// dashboardMetrics returns the metric names the dashboard's queries use.
func dashboardMetrics(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(dashboard)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			ID      int    `json:"id"`
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", dashboard, err)
	}
	if d.Title == "" || d.UID == "" || len(d.Panels) == 0 {
		t.Fatalf("%s: no title, uid or panels", dashboard)
	}
	var exprs []string
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("%s: panel id %d twice", dashboard, p.ID)
		}
		ids[p.ID] = true
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("%s: panel %q has no query", dashboard, p.Title)
		}
		for _, tg := range p.Targets {
			if tg.Expr == "" {
				t.Errorf("%s: panel %q has an empty query", dashboard, p.Title)
			}
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		exprs = append(exprs, v.Definition)
	}
	ident := regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	seen := map[string]bool{}
	var out []string
	for _, e := range exprs {
		// Label values ({tip="canonical"}) are not names.
		e = regexp.MustCompile(`"[^"]*"`).ReplaceAllString(e, `""`)
		for _, w := range ident.FindAllString(e, -1) {
			if (strings.HasPrefix(w, "satnode_") || strings.HasPrefix(w, "go_") || strings.HasPrefix(w, "process_")) && !seen[w] {
				seen[w] = true
				out = append(out, w)
			}
		}
	}
	slices.Sort(out)
	return out
}

// exportedMetrics reads rpc/metrics' source: the names of its
// prometheus.*Opts (Namespace_Subsystem_Name) and prometheus.NewDesc
// calls, with a histogram's or summary's series suffixes, and the names
// of the Go and process collectors if it registers them.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(metricsDir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("rpc/metrics sources: %v", err)
	}
	out := map[string]bool{}
	add := func(name string, series bool) {
		out[name] = true
		if series {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				out[name+s] = true
			}
		}
	}
	str := func(e ast.Expr) (string, bool) {
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(lit.Value)
		return s, err == nil
	}
	reg := prometheus.NewRegistry()
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				sel, ok := n.Type.(*ast.SelectorExpr)
				if !ok || !strings.HasSuffix(sel.Sel.Name, "Opts") {
					return true
				}
				parts := map[string]string{}
				for _, el := range n.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						if k, ok := kv.Key.(*ast.Ident); ok {
							if v, ok := str(kv.Value); ok {
								parts[k.Name] = v
							}
						}
					}
				}
				if parts["Name"] == "" {
					return true
				}
				var name []string
				for _, k := range []string{"Namespace", "Subsystem", "Name"} {
					if parts[k] != "" {
						name = append(name, parts[k])
					}
				}
				add(strings.Join(name, "_"), sel.Sel.Name == "HistogramOpts" || sel.Sel.Name == "SummaryOpts")
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				switch sel.Sel.Name {
				case "NewDesc":
					if len(n.Args) > 0 {
						if v, ok := str(n.Args[0]); ok {
							add(v, true)
						}
					}
				case "NewGoCollector":
					reg.MustRegister(collectors.NewGoCollector())
				case "NewProcessCollector":
					reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
				}
			}
			return true
		})
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		add(mf.GetName(), mf.GetType().String() == "HISTOGRAM" || mf.GetType().String() == "SUMMARY")
	}
	if !out["satnode_chain_height"] {
		t.Fatalf("found no satnode_chain_height in %s: the source reading is broken (%d names)", metricsDir, len(out))
	}
	return out
}
