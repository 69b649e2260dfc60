package ui_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// A minimal Chrome DevTools Protocol client over gorilla/websocket, enough
// to drive a headless Chromium from a test: start the browser, open a
// page, navigate, evaluate JavaScript, take screenshots. Every wait is
// bounded; the browser listens on loopback only.

// browserWait bounds each step of a browser test.
const browserWait = 30 * time.Second

// chromiumPath finds Debian's chromium. Without it the test fails, saying
// how to install it, unless SATNODE_BROWSER_OPTIONAL=1 lets it skip.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if os.Getenv("SATNODE_BROWSER_OPTIONAL") == "1" {
		t.Skip("chromium not found and SATNODE_BROWSER_OPTIONAL=1: skipping the browser test")
	}
	t.Fatal("chromium not found: the status page is tested in a headless Chromium; " +
		"install it with `apt-get install -y chromium` (or set SATNODE_BROWSER_OPTIONAL=1 to skip)")
	return ""
}

// browser is a headless Chromium the test started.
type browser struct {
	t    *testing.T
	cmd  *exec.Cmd
	port string
	log  *bytes.Buffer
	mu   sync.Mutex // guards log
}

// startBrowser starts chromium with a fresh profile and its DevTools on
// a loopback port the kernel picks; the test's cleanup stops it.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	bin := chromiumPath(t)
	profile := t.TempDir()
	b := &browser{t: t, log: &bytes.Buffer{}}
	b.cmd = exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-crash-reporter", "--disable-dev-shm-usage", "--password-store=basic",
		"--user-data-dir="+profile, "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
		"--window-size=1280,800", "about:blank")
	b.cmd.Stdout = lockedWriter{b}
	b.cmd.Stderr = lockedWriter{b}
	// Its own process group, so that the renderers it forks stop with it.
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = b.cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		pgid := b.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("chromium output:\n%s", b.output())
		}
	})
	// Chromium writes the port it listens on into the profile.
	portFile := filepath.Join(profile, "DevToolsActivePort")
	deadline := time.Now().Add(browserWait)
	for {
		raw, err := os.ReadFile(portFile)
		if port, _, ok := strings.Cut(string(raw), "\n"); err == nil && ok && port != "" {
			b.port = port
			return b
		}
		select {
		case <-exited:
			t.Fatalf("chromium exited before it listened: %v\n%s", b.cmd.ProcessState, b.output())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("chromium wrote no %s within %v:\n%s", portFile, browserWait, b.output())
		}
	}
}

type lockedWriter struct{ b *browser }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.b.mu.Lock()
	defer w.b.mu.Unlock()
	if w.b.log.Len() < 1<<20 {
		w.b.log.Write(p)
	}
	return len(p), nil
}

func (b *browser) output() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.log.String()
}

// newPage opens a blank tab (PUT /json/new) and connects to it.
func (b *browser) newPage() *page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPut, "http://127.0.0.1:"+b.port+"/json/new?about:blank", nil)
	if err != nil {
		b.t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: browserWait}).Do(req)
	if err != nil {
		b.t.Fatalf("open a tab: %v", err)
	}
	defer resp.Body.Close()
	var target struct {
		WebSocketDebuggerURL string `json:"webSocketDebuggerUrl"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&target); err != nil || target.WebSocketDebuggerURL == "" {
		b.t.Fatalf("open a tab: %s, %v", resp.Status, err)
	}
	d := websocket.Dialer{HandshakeTimeout: browserWait}
	conn, _, err := d.Dial(target.WebSocketDebuggerURL, nil)
	if err != nil {
		b.t.Fatalf("connect to the tab: %v", err)
	}
	conn.SetReadLimit(64 << 20) // screenshots
	p := &page{t: b.t, conn: conn, waiting: map[int64]chan cdpReply{}, done: make(chan struct{})}
	go p.read()
	b.t.Cleanup(p.close)
	return p
}

// page is one tab's DevTools session.
type page struct {
	t    *testing.T
	conn *websocket.Conn
	wmu  sync.Mutex // serializes writes

	mu         sync.Mutex
	next       int64
	waiting    map[int64]chan cdpReply
	exceptions []string // Runtime.exceptionThrown, console errors
	readErr    error
	done       chan struct{}
}

type cdpReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

type cdpMessage struct {
	ID     int64           `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	cdpReply
}

// read dispatches replies to their callers and keeps what the page threw.
func (p *page) read() {
	defer close(p.done)
	for {
		var m cdpMessage
		if err := p.conn.ReadJSON(&m); err != nil {
			p.mu.Lock()
			p.readErr = err
			for id, c := range p.waiting {
				close(c)
				delete(p.waiting, id)
			}
			p.mu.Unlock()
			return
		}
		if m.ID != 0 {
			p.mu.Lock()
			c := p.waiting[m.ID]
			delete(p.waiting, m.ID)
			p.mu.Unlock()
			if c != nil {
				c <- m.cdpReply
			}
			continue
		}
		switch m.Method {
		case "Runtime.exceptionThrown":
			p.mu.Lock()
			p.exceptions = append(p.exceptions, string(m.Params))
			p.mu.Unlock()
		case "Runtime.consoleAPICalled":
			var c struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(m.Params, &c) == nil && c.Type == "error" {
				p.mu.Lock()
				p.exceptions = append(p.exceptions, "console.error: "+string(m.Params))
				p.mu.Unlock()
			}
		}
	}
}

func (p *page) close() {
	_ = p.conn.Close()
	<-p.done
}

// call sends a command and decodes its result into out (if not nil).
func (p *page) call(method string, params, out any) error {
	p.mu.Lock()
	if p.readErr != nil {
		p.mu.Unlock()
		return fmt.Errorf("%s: the DevTools connection is gone: %w", method, p.readErr)
	}
	p.next++
	id := p.next
	c := make(chan cdpReply, 1)
	p.waiting[id] = c
	p.mu.Unlock()
	if params == nil {
		params = struct{}{}
	}
	p.wmu.Lock()
	_ = p.conn.SetWriteDeadline(time.Now().Add(browserWait))
	err := p.conn.WriteJSON(map[string]any{"id": id, "method": method, "params": params})
	p.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case r, ok := <-c:
		if !ok {
			return fmt.Errorf("%s: the DevTools connection closed", method)
		}
		if r.Error != nil {
			return fmt.Errorf("%s: %d %s", method, r.Error.Code, r.Error.Message)
		}
		if out != nil {
			return json.Unmarshal(r.Result, out)
		}
		return nil
	case <-time.After(browserWait):
		p.mu.Lock()
		delete(p.waiting, id)
		p.mu.Unlock()
		return fmt.Errorf("%s: no answer within %v", method, browserWait)
	}
}

func (p *page) must(method string, params, out any) {
	p.t.Helper()
	if err := p.call(method, params, out); err != nil {
		p.t.Fatal(err)
	}
}

// eval evaluates a JavaScript expression in the page (awaiting a promise)
// and decodes its value into out.
func (p *page) eval(expr string, out any) error {
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := p.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true,
		"awaitPromise": true}, &r); err != nil {
		return err
	}
	if e := r.ExceptionDetails; e != nil {
		return fmt.Errorf("evaluating %q: %s %s", expr, e.Text, e.Exception.Description)
	}
	if out == nil || len(r.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(r.Result.Value, out)
}

// waitFor evaluates expr until it returns "" (done) or the wait ends; any
// other string says what is still missing and is the failure message.
func (p *page) waitFor(what, expr string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), browserWait)
	defer cancel()
	var last string
	for {
		var got string
		err := p.eval(expr, &got)
		switch {
		case err != nil:
			last = err.Error()
		case got == "":
			return
		default:
			last = got
		}
		select {
		case <-ctx.Done():
			p.t.Fatalf("%s: still not so after %v: %s", what, browserWait, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// navigate loads url and waits until the document has loaded.
func (p *page) navigate(url string) {
	p.t.Helper()
	var r struct {
		ErrorText string `json:"errorText"`
	}
	p.must("Page.navigate", map[string]any{"url": url}, &r)
	if r.ErrorText != "" {
		p.t.Fatalf("navigate to %s: %s", url, r.ErrorText)
	}
	p.waitFor("the page loaded", `document.readyState === "complete" ? "" : "readyState " + document.readyState`)
}

// screenshot saves a PNG of the viewport to path.
func (p *page) screenshot(path string) {
	p.t.Helper()
	var r struct {
		Data string `json:"data"`
	}
	p.must("Page.captureScreenshot", map[string]any{"format": "png"}, &r)
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		p.t.Fatalf("screenshot: not a PNG (%v)", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("screenshot: %s", path)
}

// thrown returns what the page threw or logged as an error so far.
func (p *page) thrown() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.exceptions...)
}

// artifactDir is where a test's screenshots go: $SATNODE_ARTIFACTS if
// set, else the test's temporary directory.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SATNODE_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("SATNODE_ARTIFACTS: %v", err)
	}
	return dir
}
