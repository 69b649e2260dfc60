# satnode — build, test, benchmark, fuzz, demo.
#
# Everything here needs only Go: modules come from the module proxy.

GO        ?= go
BIN       := bin/satnode
PKGS      := ./...
# Where `make bench` keeps the generated benchmark chain between runs.
BENCH_DIR ?= .bench
FUZZTIME  ?= 15s
# The bench recipes pipe go test through grep: without pipefail a failed
# benchmark would print its last lines and exit 0.
SHELL        := /bin/bash
.SHELLFLAGS  := -o pipefail -c

.PHONY: all build test chromium test-long bench bench-live bench-rpc bench-snapshot bench-statesync fuzz lint demo demo-localnet clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/satnode

# The test suite CI runs (.ci/run). Bounded: well under 15 minutes on 2 cores.
# The status page's test (rpc/ui) drives Debian's headless chromium: installed
# here when missing (as root, or with sudo); SATNODE_BROWSER_OPTIONAL=1 skips
# that test instead on a machine where it cannot be.
# The browser test's screenshots are kept in .artifacts/ (SATNODE_ARTIFACTS).
test: lint chromium
	SATNODE_ARTIFACTS=$(abspath .artifacts) $(GO) test -count=1 -timeout 20m $(PKGS)

chromium:
	@command -v chromium >/dev/null || [ -n "$$SATNODE_BROWSER_OPTIONAL" ] || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq --no-install-recommends chromium; fi; }

# Longer suites: btcd's fullblocktests with the large reorg, and more
# randomized reorg seeds.
test-long:
	SATNODE_LONG=1 $(GO) test -count=1 -timeout 90m $(PKGS)

# Benchmarks: MuHash per element, and import throughput on a generated
# chain of >=1M transactions / >=3M UTXOs at two cache budgets, with btcd's
# blockchain package importing the same blocks as the peer.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./utxo/muhash/
	SATNODE_BENCH_DIR=$(abspath $(BENCH_DIR)) $(GO) test -run '^$$' -bench 'BenchmarkImport' -benchtime 1x -timeout 120m -v ./node/importer/

# The RPC server under load on loopback, for SATNODE_LOAD_SECONDS (10) each:
# gettxout at concurrency 64 against satnode and, same chain and outpoints,
# against btcd; p99 of paged /address/:addr/utxo for an address with
# over 100k unspent outputs; and UTXO proofs (/v1/proof/utxo): generation
# p99 with both cores busy, and at concurrency 8 and 64 over loopback.
bench-rpc:
	$(GO) test -run '^$$' -bench 'BenchmarkLoad' -benchtime 1x -timeout 30m -v ./rpc/ | grep -Ev '^(goos|goarch|pkg|cpu):'

# The live path's numbers: latency from btcd accepting a block to all 4
# validators having committed it (p50/p95 over 53 blocks), and a late
# joiner's sync speed, from TestLive's run with real processes; then the
# same with a spammer sending transfers as fast as CheckTx takes them
# during the latency phase. Each run appends its numbers to
# .bench/live.jsonl.
bench-live:
	@mkdir -p $(BENCH_DIR)
	SATNODE_MEASURE_OUT=$(abspath $(BENCH_DIR))/live.jsonl $(GO) test -count=1 -run '^TestLive$$' -v -timeout 20m ./cmd/satnode/ | grep -E 'LATENCY|LATE JOINER|^(--- |ok|FAIL)'
	SATNODE_SPAM=1 SATNODE_MEASURE_OUT=$(abspath $(BENCH_DIR))/live.jsonl $(GO) test -count=1 -run '^TestLive$$' -v -timeout 20m ./cmd/satnode/ | grep -E 'LATENCY|LATE JOINER|^(--- |ok|FAIL)'

# Loading a Bitcoin Core snapshot: a mainnet-like set of
# SNAPSHOT_COINS (20M) coins from `satnode gen snapshot` (cached in
# .bench/), loaded by `satnode snapshot load` at the default cache budget:
# coins/s, peak RSS of the load process, bytes on disk per UTXO and per
# table, and how long the UTXO tree phase took. Then, on that store: 200 generated blocks spending random old
# coins connected on a copy of it (tx/s), and gettxout at concurrency 64
# beside the same load on a small store (bench-rpc's). Each run appends
# its numbers to .bench/snapshot.jsonl. 20M coins: about 9 minutes in all
# on 2 cores (the load about 3, half of it the UTXO tree); 164M (mainnet)
# about 50 minutes and 55 GB of disk;
# SNAPSHOT_COINS=2000000 for a quick look.
SNAPSHOT_COINS ?= 20000000
# goleveldb's block cache of the connect and gettxout steps: a node's
# default (app.toml utxo.block_cache_mb); 1024 is the advice for mainnet.
BENCH_BLOCK_CACHE_MB ?= 512
bench-snapshot: export SATNODE_BENCH_BLOCK_CACHE_MB = $(BENCH_BLOCK_CACHE_MB)
bench-snapshot:
	@mkdir -p $(BENCH_DIR)
	SATNODE_BENCH_SNAPSHOT=$(SNAPSHOT_COINS) SATNODE_BENCH_DIR=$(abspath $(BENCH_DIR)) SATNODE_MEASURE_OUT=$(abspath $(BENCH_DIR))/snapshot.jsonl $(GO) test -count=1 -run '^TestBenchSnapshotLoad$$' -v -timeout 60m ./cmd/satnode/ | grep -E 'SNAPSHOT LOAD|gen snapshot|^(--- |ok|FAIL)'
	SATNODE_BENCH_SNAPSHOT=$(SNAPSHOT_COINS) SATNODE_BENCH_DIR=$(abspath $(BENCH_DIR)) SATNODE_MEASURE_OUT=$(abspath $(BENCH_DIR))/snapshot.jsonl $(GO) test -count=1 -run '^TestBenchSnapshotConnect$$' -v -timeout 60m ./cmd/satnode/ | grep -E 'SNAPSHOT CONNECT|^(--- |ok|FAIL)'
	SATNODE_BENCH_HOME=$(abspath $(BENCH_DIR))/snapshot-home-$(SNAPSHOT_COINS) SATNODE_MEASURE_OUT=$(abspath $(BENCH_DIR))/snapshot.jsonl $(GO) test -count=1 -run '^$$' -bench BenchmarkLoadGetTxOutSnapshot -benchtime 1x -timeout 60m ./rpc/ | grep -E 'SNAPSHOT GETTXOUT|(satnode|nethttp-floor): [0-9]+ requests|^(--- |ok|FAIL)'
	SATNODE_LOAD_NO_BTCD=1 $(GO) test -count=1 -run '^$$' -bench 'BenchmarkLoadGetTxOut$$' -benchtime 1x ./rpc/ | grep -E '(satnode|nethttp-floor): [0-9]+ requests|^(--- |ok|FAIL)'

# Short runs of every fuzz target.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

lint:
	$(GO) mod download
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# btcd v0.24.2, the Bitcoin node of the demo, built from the module proxy
# with its own pinned dependencies (it does not compile against the btcec
# version this module selects, so it cannot be a `go tool` here).
BTCD_VERSION := v0.24.2
bin/btcd:
	GOBIN=$(abspath bin) GOFLAGS= GOWORK=off $(GO) install github.com/btcsuite/btcd@$(BTCD_VERSION) github.com/btcsuite/btcd/cmd/btcctl@$(BTCD_VERSION)

# Joining by state sync against joining by replay from genesis, on the same
# states: the importer benchmark's chain (generated once into .bench/) replayed
# through the application on goleveldb; at 1M coins and at its end (4.2M) a
# snapshot is made and restored into a fresh store through the ABCI snapshot
# calls (network transfer not included). Then the part that grows with the
# set on the 20M-coin store of `make bench-snapshot`, if it is there: writing
# it as chunks, and reading them back, checked, into a fresh store with its
# index and UTXO tree. About 6 minutes, and 4 more with the 20M store.
bench-statesync: build
	@mkdir -p $(BENCH_DIR)
	test -f $(BENCH_DIR)/chain-bench-seed1/complete || { rm -rf $(BENCH_DIR)/chain-bench-seed1 && \
		$(BIN) gen --profile bench --out $(BENCH_DIR)/chain-bench-seed1 && touch $(BENCH_DIR)/chain-bench-seed1/complete; }
	SATNODE_BENCH_DIR=$(abspath $(BENCH_DIR)) $(GO) test -run '^$$' -bench 'BenchmarkStateSync$$' -benchtime 1x -timeout 60m -v ./consensus/app/ | grep -E 'STATE SYNC|^(--- |ok|FAIL)'
	if [ -d $(BENCH_DIR)/snapshot-home-$(SNAPSHOT_COINS) ]; then \
		SATNODE_BENCH_HOME=$(abspath $(BENCH_DIR))/snapshot-home-$(SNAPSHOT_COINS) $(GO) test -run '^$$' -bench 'BenchmarkStateSyncSet$$' -benchtime 1x -timeout 60m -v ./consensus/app/ | grep -E 'STATE SYNC|^(--- |ok|FAIL)'; \
	else echo "no $(BENCH_DIR)/snapshot-home-$(SNAPSHOT_COINS): run make bench-snapshot for the 20M-coin part"; fi

# The live path on one machine, until Ctrl-C: btcd regtest, one satnode
# validator with a synchronizer and an endorser, and Bitcoin blocks full of
# transactions flowing into the UTXO set. satdemo runs as a binary, not with
# `go run`, which exits 1 on Ctrl-C whatever the program does: satdemo exits
# 0 once everything has stopped.
demo: build bin/btcd
	$(GO) build -o bin/satdemo ./cmd/satdemo
	bin/satdemo --satnode $(BIN) --btcd bin/btcd

# The same with 4 validators and 2 synchronizers, each on its own btcd.
demo-localnet: build bin/btcd
	$(GO) build -o bin/satdemo ./cmd/satdemo
	bin/satdemo --satnode $(BIN) --btcd bin/btcd --validators 4 --synchronizers 2

clean:
	rm -rf bin
