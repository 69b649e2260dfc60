package rpc

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// loadResult is one load run: requests completed, how long, latency
// percentiles, and failures (transport errors or answers check refused).
type loadResult struct {
	N             int
	Elapsed       time.Duration
	P50, P99, Max time.Duration
	Errors        int
	FirstErr      error
}

func (r loadResult) perSecond() float64 { return float64(r.N) / r.Elapsed.Seconds() }

func (r loadResult) String() string {
	return fmt.Sprintf("%d requests in %v: %.0f req/s, p50 %v, p99 %v, max %v, %d errors",
		r.N, r.Elapsed.Round(time.Millisecond), r.perSecond(), r.P50, r.P99, r.Max, r.Errors)
}

// loadSpec describes a closed-loop load: conc workers, each on its own
// keep-alive connection, send a request, read the whole answer, repeat,
// until dur has passed. Like wrk, the client is lean — requests are
// prebuilt bytes and answers are parsed in place (roundTrip) — so that on a shared 2-core box most CPU goes to the server under test.
type loadSpec struct {
	addr string
	conc int
	dur  time.Duration
	// request returns worker w's i-th request: method, path, body.
	request func(w, i int) (method, path string, body []byte)
	// check judges one answer; nil accepts 200s.
	check func(status int, body []byte) error
	// user and password, if set, are sent as basic auth (btcd).
	user, password string
}

func runLoad(s loadSpec) loadResult {
	var auth string
	if s.user != "" {
		auth = "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(s.user+":"+s.password)) + "\r\n"
	}
	type workerOut struct {
		lat  []time.Duration
		errs int
		err  error
	}
	outs := make([]workerOut, s.conc)
	deadline := time.Now().Add(s.dur)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range s.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := &outs[w]
			fail := func(err error) {
				o.errs++
				if o.err == nil {
					o.err = err
				}
			}
			var conn net.Conn
			var br *bufio.Reader
			var req bytes.Buffer
			var rbody []byte
			for i := 0; time.Now().Before(deadline); i++ {
				if conn == nil {
					c, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
					if err != nil {
						fail(err)
						time.Sleep(10 * time.Millisecond)
						continue
					}
					conn, br = c, bufio.NewReaderSize(c, 64<<10)
				}
				method, path, body := s.request(w, i)
				req.Reset()
				fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
					method, path, s.addr, auth, len(body))
				req.Write(body)
				t0 := time.Now()
				_ = conn.SetDeadline(t0.Add(10 * time.Second))
				resp, err := roundTrip(conn, br, req.Bytes(), &rbody)
				lat := time.Since(t0)
				if err != nil {
					fail(err)
					conn.Close()
					conn = nil
					continue
				}
				o.lat = append(o.lat, lat)
				if s.check != nil {
					if err := s.check(resp.status, rbody); err != nil {
						fail(err)
					}
				} else if resp.status != http.StatusOK {
					fail(fmt.Errorf("status %d: %.200s", resp.status, rbody))
				}
				if resp.close {
					conn.Close()
					conn = nil
				}
			}
			if conn != nil {
				conn.Close()
			}
		}()
	}
	wg.Wait()
	r := loadResult{Elapsed: time.Since(start)}
	var all []time.Duration
	for _, o := range outs {
		all = append(all, o.lat...)
		r.Errors += o.errs
		if r.FirstErr == nil {
			r.FirstErr = o.err
		}
	}
	r.N = len(all)
	if r.N > 0 {
		slices.Sort(all)
		r.P50, r.P99, r.Max = all[r.N/2], all[min(r.N-1, r.N*99/100)], all[r.N-1]
	}
	return r
}

// response is what the lean client keeps of an answer.
type response struct {
	status int
	close  bool
}

// roundTrip writes req and reads one HTTP/1.1 response: the status line,
// the headers it needs (Content-Length, Transfer-Encoding: chunked,
// Connection: close) and the body into *body. It allocates almost nothing,
// unlike net/http's client, whose garbage would otherwise slow the server
// it shares the process with.
func roundTrip(conn net.Conn, br *bufio.Reader, req []byte, body *[]byte) (response, error) {
	var r response
	if _, err := conn.Write(req); err != nil {
		return r, err
	}
	line, err := br.ReadSlice('\n')
	if err != nil {
		return r, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return r, fmt.Errorf("bad status line %q", line)
	}
	r.status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return r, fmt.Errorf("bad status line %q", line)
	}
	length, chunked := -1, false
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return r, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return r, fmt.Errorf("bad header %q", line)
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(v)); err != nil {
				return r, fmt.Errorf("bad Content-Length %q", v)
			}
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(v, []byte("chunked"))
		case bytes.EqualFold(k, []byte("Connection")):
			r.close = bytes.EqualFold(v, []byte("close"))
		}
	}
	*body = (*body)[:0]
	switch {
	case chunked:
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return r, err
			}
			n, err := strconv.ParseInt(string(bytes.TrimRight(line, "\r\n")), 16, 64)
			if err != nil || n < 0 {
				return r, fmt.Errorf("bad chunk size %q", line)
			}
			if n == 0 {
				if _, err := br.ReadSlice('\n'); err != nil {
					return r, err
				}
				return r, nil
			}
			if *body, err = readN(br, *body, int(n)); err != nil {
				return r, err
			}
			if _, err := br.Discard(2); err != nil {
				return r, err
			}
		}
	case length >= 0:
		*body, err = readN(br, *body, length)
		return r, err
	case r.close:
		// No length: the body runs to the end of the connection (btcd
		// answers this way).
		b, err := io.ReadAll(br)
		*body = append(*body, b...)
		return r, err
	default:
		return r, fmt.Errorf("answer with neither Content-Length nor chunked encoding")
	}
}

func readN(br *bufio.Reader, dst []byte, n int) ([]byte, error) {
	start := len(dst)
	dst = slices.Grow(dst, n)[:start+n]
	_, err := io.ReadFull(br, dst[start:])
	return dst, err
}

// jsonRPC is a JSON-RPC 1.0 request body, as btcd's rpcclient sends.
func jsonRPC(id int, method string, params ...any) []byte {
	var b bytes.Buffer
	b.WriteString(`{"jsonrpc":"1.0","id":`)
	b.WriteString(strconv.Itoa(id))
	b.WriteString(`,"method":"`)
	b.WriteString(method)
	b.WriteString(`","params":[`)
	for i, p := range params {
		if i > 0 {
			b.WriteByte(',')
		}
		switch v := p.(type) {
		case string:
			b.WriteString(strconv.Quote(v))
		case int:
			b.WriteString(strconv.Itoa(v))
		case uint32:
			b.WriteString(strconv.FormatUint(uint64(v), 10))
		case bool:
			b.WriteString(strconv.FormatBool(v))
		}
	}
	b.WriteString(`]}`)
	return b.Bytes()
}
