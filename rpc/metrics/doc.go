// Package metrics exposes satnode's Prometheus metrics: the Bitcoin tips
// (canonical, endorsed, best header, final) and the satnode height, how
// long each Bitcoin block took to apply, transactions and blocks applied
// (rate() of the counter is tx/s), the UTXO cache's hits and misses (the
// hit ratio is hits / (hits + misses)), RPC request latency per dialect and
// route, and peer counts.
//
// Gauges are read from the latest committed view when Prometheus scrapes,
// so they never disagree with what the RPC answers; counters and the apply
// histogram follow the commit events. It registers into its own registry,
// never the global one, so several nodes can live in one process (tests),
// and adds the Go runtime and process collectors.
//
// It does not serve CometBFT's own metrics: CometBFT keeps those on its
// instrumentation port (config.toml [instrumentation]).
package metrics
