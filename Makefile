SHELL := /bin/bash
# fold: event sourcing as Unix filters.
GO      ?= go
BIN     := bin
PROGS   := fold-exec fold-watch fold-project fold-pm

.PHONY: all build demo demo-nats test unit bats bats-nats tools bats-tools nats-server test-fresh test-cluster fuzz bench man clean

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


# The tools the tests run, found or fetched once into the git-ignored .cache/
# by tests/tools/fetch.sh (README: "What make test fetches"). To use your own
# instead, name them: make test BATS=bats FOLD_BATS_LIB=/usr/lib/bats
# NATS_SERVER=/usr/local/bin/nats-server.
CACHE         := $(CURDIR)/.cache
FOLD_BATS_LIB ?= $(CACHE)/bats/node_modules
BATS          ?= $(FOLD_BATS_LIB)/bats/bin/bats
NATS_SERVER   ?= $(CACHE)/bin/nats-server

test: tools unit bats

tools: bats-tools nats-server

bats-tools:
	@tests/tools/fetch.sh bats '$(FOLD_BATS_LIB)' '$(BATS)'

nats-server:
	@tests/tools/fetch.sh nats-server '$(NATS_SERVER)'

unit: nats-server
	$(GO) vet ./...
	NATS_SERVER='$(NATS_SERVER)' FOLD_REQUIRE_NATS=1 $(GO) test -race -count=1 ./...

# Prints bats' TAP stream, then one summary line "bats: N passed, N failed".
# One file or a few: make bats BATS_FILES=tests/bats/exec.bats.
BATS_FILES ?= tests/bats
bats: build tools
	@set -o pipefail; PATH="$(CURDIR)/$(BIN):$$PATH" FOLD_BATS_LIB='$(FOLD_BATS_LIB)' NATS_SERVER='$(NATS_SERVER)' FOLD_REQUIRE_NATS=1 \
	'$(BATS)' --tap $(BATS_FILES) | tee $(BIN)/bats.tap; \
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

# make test on a simulated fresh machine: a clone of HEAD, no bats or
# nats-server on PATH, an empty cache (tests/tools/fresh-machine.sh).
test-fresh:
	tests/tools/fresh-machine.sh

# Every parser of what fold reads from disk or a pipe has a fuzz target
# (records, --inject lines, envelopes, input lines, handler answers and
# their line reader, logs, snapshots, checkpoints, the registry, dead
# letters, --stream): each found is run for FUZZTIME, 14 of them, about
# two minutes at the default. Longer: FUZZTIME=5m make fuzz. `go test`
# runs their seed corpora as tests.
FUZZTIME ?= 5s
fuzz:
	@mkdir -p $(BIN); set -e; for pkg in $$($(GO) list ./lib/...); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz: $$pkg $$t for $(FUZZTIME)"; \
			$(GO) test $$pkg -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) >$(BIN)/fuzz.log 2>&1 || { cat $(BIN)/fuzz.log; exit 1; }; \
			tail -n 1 $(BIN)/fuzz.log; \
		done; \
	done

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
