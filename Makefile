# satnode — build, test, benchmark, fuzz, demo.
#
# Everything here needs only Go: modules come from the module proxy.

GO        ?= go
BIN       := bin/satnode
PKGS      := ./...
# Where `make bench` keeps the generated benchmark chain between runs.
BENCH_DIR ?= .bench
FUZZTIME  ?= 15s

.PHONY: all build test test-long bench fuzz lint demo clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/satnode

# The test suite CI runs (.ci/run). Bounded: well under 15 minutes on 2 cores.
test: lint
	$(GO) test -count=1 -timeout 20m $(PKGS)

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

# Until the live path exists: import the bundled mainnet chain (blocks
# 0-14131) into a fresh home and print the UTXO-set summary.
demo: build
	@home=$$(mktemp -d); \
	echo "== importing mainnet blocks 0-14131 into $$home"; \
	$(BIN) import --home $$home testdata/mainnet/mainnet-0-14131.blk.bz2; \
	echo "== satnode utxo info (compare: bitcoin-cli gettxoutsetinfo muhash 14131)"; \
	$(BIN) utxo info --home $$home; \
	echo "== satnode utxo info --height 170 (the first bitcoin transaction)"; \
	$(BIN) utxo info --home $$home --height 170 | head -8; \
	echo "== satnode utxo get (block 170's payment to Hal Finney)"; \
	$(BIN) utxo get --home $$home f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16:0

clean:
	rm -rf bin
