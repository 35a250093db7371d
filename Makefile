SHELL := /bin/bash
# fold: event sourcing as Unix filters.
GO      ?= go
BIN     := bin
PROGS   := fold-exec fold-watch fold-project fold-pm

.PHONY: all build demo demo-nats test unit bats bats-nats test-cluster fuzz bench man clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ $(addprefix ./cmd/,$(wildcard-progs))
	$(GO) build -o $(BIN)/counter-go ./examples/counter/go
	$(GO) build -o $(BIN)/totals-go ./examples/totals/go
	$(GO) build -o $(BIN)/saga-go ./examples/saga/go

wildcard-progs = $(notdir $(wildcard cmd/*))

# Runs the examples end to end on a fresh root (./demo-root): the counter,
# its TotalCounter projection, and the order-fulfilment saga.
demo: build
	PATH="$(CURDIR)/$(BIN):$$PATH" sh examples/scripts/demo.sh

# The same demo with its streams on NATS JetStream: a nats-server of its
# own on a free port, for the length of the demo.
demo-nats: build
	PATH="$(CURDIR)/$(BIN):$$PATH" sh examples/scripts/demo-nats.sh

test: unit bats

unit:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

# Prints bats' TAP stream, then one summary line "bats: N passed, N failed".
bats: build
	@set -o pipefail; PATH="$(CURDIR)/$(BIN):$$PATH" bats --tap tests/bats | tee $(BIN)/bats.tap; \
	status=$$?; \
	echo "bats: $$(grep -c '^ok' $(BIN)/bats.tap) passed, $$(grep -c '^not ok' $(BIN)/bats.tap) failed"; \
	exit $$status

# The bats suites on NATS JetStream: a nats-server per file, a store per
# test (FOLD_STORE); the tests that read or write the streams' files skip.
bats-nats:
	@FOLD_TEST_STORE=nats $(MAKE) --no-print-directory bats

# A three-node JetStream cluster on 127.0.0.1 whose stream leader is
# killed under load (about 20s a trial): CLUSTER_TRIALS=10 for more.
CLUSTER_TRIALS ?= 3
test-cluster: build
	tests/cluster/leader-kill.sh $(CLUSTER_TRIALS)

# Short fuzz runs of the parsers; longer runs: FUZZTIME=5m make fuzz.
FUZZTIME ?= 10s
fuzz:
	$(GO) test ./lib/record -run '^$$' -fuzz FuzzParseEnvelope -fuzztime $(FUZZTIME)
	$(GO) test ./lib/eventlog -run '^$$' -fuzz FuzzScan -fuzztime $(FUZZTIME)

# make bench BENCHFLAGS="-quick -only a,d" for a subset, smaller.
bench: build
	cd bench && $(GO) run . -bin $(CURDIR)/$(BIN) $(BENCHFLAGS)

# Regenerate the roff man pages from their markdown sources.
man:
	for f in man/*.1.md; do $(GO) run github.com/cpuguy83/go-md2man/v2@v2.0.7 -in $$f -out $${f%.md}; done

clean:
	rm -rf $(BIN) demo-root

# The nats-server binary the JetStream tests, make demo-nats and the
# bench use, built from the Go module proxy into .cache/bin (git-ignored).
NATS_SERVER_VERSION ?= v2.15.3
nats-server: .cache/bin/nats-server
.cache/bin/nats-server:
	GOBIN=$(CURDIR)/.cache/bin $(GO) install github.com/nats-io/nats-server/v2@$(NATS_SERVER_VERSION)
.PHONY: nats-server
