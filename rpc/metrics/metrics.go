package metrics

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/satnode/satnode/consensus/app"
)

// Sources are what the metrics read. Views is required; the functions are
// optional (their metrics are then absent).
type Sources struct {
	Views *app.Views
	// CacheStats returns the UTXO coin cache's cumulative hits and misses.
	CacheStats func() (hits, misses uint64)
	// Peers returns the connected peer count per network ("cometbft",
	// "libp2p").
	Peers func() map[string]int
}

// Metrics is one registry and its collectors.
type Metrics struct {
	reg       *prometheus.Registry
	src       Sources
	requests  *prometheus.HistogramVec
	apply     *prometheus.HistogramVec
	txs       prometheus.Counter
	blocks    *prometheus.CounterVec
	streamLag prometheus.Counter

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New registers every collector; Start follows the commit events.
func New(src Sources) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), src: src}
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "satnode", Subsystem: "rpc", Name: "request_duration_seconds",
		Help: "RPC request latency by dialect (core, esplora, native, metrics), route or method, and HTTP status.",
		// From 50 µs: a cached gettxout is well under a millisecond.
		Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16),
	}, []string{"dialect", "route", "code"})
	m.apply = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "satnode", Subsystem: "btc", Name: "block_apply_seconds",
		Help:    "Time to connect (or disconnect) one Bitcoin block to the UTXO set.",
		Buckets: prometheus.ExponentialBuckets(100e-6, 2, 16),
	}, []string{"op"})
	m.txs = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "satnode", Subsystem: "btc", Name: "txs_applied_total",
		Help: "Bitcoin transactions in the blocks connected; rate() of it is tx/s."})
	m.blocks = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "satnode", Subsystem: "btc", Name: "blocks_total",
		Help: "Bitcoin blocks connected and disconnected."}, []string{"op"})
	m.streamLag = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "satnode", Subsystem: "metrics", Name: "events_missed_total",
		Help: "Times the metrics fell behind the commit events and resubscribed (counters then miss some blocks)."})
	m.reg.MustRegister(m.requests, m.apply, m.txs, m.blocks, m.streamLag,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&viewCollector{views: src.Views}, &funcCollector{src: src})
	return m
}

// Handler serves the registry in Prometheus' exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveRequest records one RPC request.
func (m *Metrics) ObserveRequest(dialect, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(dialect, route, strconv.Itoa(status)).Observe(d.Seconds())
}

// Start follows the commit events until Stop.
func (m *Metrics) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	// Subscribed before Start returns, so no commit after it is missed.
	sub := m.src.Views.Subscribe(1024)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for {
			m.follow(ctx, sub)
			sub.Close()
			if ctx.Err() != nil {
				return
			}
			if !sub.Lagged() {
				return // the views were closed: the node is stopping
			}
			m.streamLag.Inc()
			sub = m.src.Views.Subscribe(1024)
		}
	}()
}

func (m *Metrics) follow(ctx context.Context, sub *app.Subscription) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-sub.C:
			if !ok {
				return
			}
			for i, b := range ev.Blocks {
				op := "disconnect"
				if b.Connected {
					op = "connect"
					m.txs.Add(float64(b.Txs))
				}
				m.blocks.WithLabelValues(op).Inc()
				if i < len(ev.Elapsed) {
					m.apply.WithLabelValues(op).Observe(ev.Elapsed[i].Seconds())
				}
			}
		}
	}
}

// Stop ends Start's goroutine.
func (m *Metrics) Stop() {
	if m.cancel != nil {
		m.cancel()
		m.wg.Wait()
	}
}

// viewCollector reads the tips from the latest view at scrape time.
type viewCollector struct{ views *app.Views }

var (
	descTip = prometheus.NewDesc("satnode_btc_tip_height",
		"Bitcoin height of each tip: canonical (applied to the UTXO set), endorsed, best_header (seen), final.",
		[]string{"tip"}, nil)
	descHeight = prometheus.NewDesc("satnode_chain_height", "Last committed satnode (CometBFT) height.", nil, nil)
	descPower  = prometheus.NewDesc("satnode_voting_power", "Bonded voting power: total, and needed to endorse a block.",
		[]string{"kind"}, nil)
	descPending = prometheus.NewDesc("satnode_btc_pending_headers", "Headers above the finalized base neither applied nor endorsed.",
		nil, nil)
	descCache = prometheus.NewDesc("satnode_utxo_cache_lookups_total",
		"UTXO coin lookups by result: hit (answered by the cache) or miss (read from the store).", []string{"result"}, nil)
	descPeers = prometheus.NewDesc("satnode_peers", "Connected peers by network.", []string{"network"}, nil)
)

func (c *viewCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descTip
	ch <- descHeight
	ch <- descPower
	ch <- descPending
}

func (c *viewCollector) Collect(ch chan<- prometheus.Metric) {
	v, err := c.views.Acquire()
	if err != nil {
		return // nothing committed yet: no tips to report
	}
	defer v.Release()
	for name, r := range map[string]app.BlockRef{"canonical": v.Tip, "endorsed": v.Endorsed,
		"best_header": v.BestHeader, "final": v.Final} {
		ch <- prometheus.MustNewConstMetric(descTip, prometheus.GaugeValue, float64(r.Height), name)
	}
	ch <- prometheus.MustNewConstMetric(descHeight, prometheus.GaugeValue, float64(v.Height))
	ch <- prometheus.MustNewConstMetric(descPower, prometheus.GaugeValue, float64(v.TotalPower), "total")
	ch <- prometheus.MustNewConstMetric(descPower, prometheus.GaugeValue, float64(v.NeededPower), "needed")
	// The view counts them at commit: no list to walk per scrape.
	ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(v.Unendorsed))
}

// funcCollector reads the cache counters and the peer counts at scrape
// time.
type funcCollector struct{ src Sources }

func (c *funcCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descCache
	ch <- descPeers
}

func (c *funcCollector) Collect(ch chan<- prometheus.Metric) {
	if c.src.CacheStats != nil {
		h, m := c.src.CacheStats()
		ch <- prometheus.MustNewConstMetric(descCache, prometheus.CounterValue, float64(h), "hit")
		ch <- prometheus.MustNewConstMetric(descCache, prometheus.CounterValue, float64(m), "miss")
	}
	if c.src.Peers != nil {
		for network, n := range c.src.Peers() {
			ch <- prometheus.MustNewConstMetric(descPeers, prometheus.GaugeValue, float64(n), network)
		}
	}
}
