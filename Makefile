SHELL := /bin/bash
# fold: event sourcing as Unix filters.
GO      ?= go
BIN     := bin
PROGS   := fold-exec fold-watch fold-project fold-pm

# The platforms fold builds and releases for.
TARGETS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 freebsd/amd64

.PHONY: all build demo demo-nats test unit cross bats bats-nats tools bats-tools nats-server test-fresh test-cluster fuzz bench man dist clean completions install uninstall

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

test: tools unit cross bats

tools: bats-tools nats-server

bats-tools:
	@tests/tools/fetch.sh bats '$(FOLD_BATS_LIB)' '$(BATS)'

nats-server:
	@tests/tools/fetch.sh nats-server '$(NATS_SERVER)'

unit: nats-server
	$(GO) vet ./...
	NATS_SERVER='$(NATS_SERVER)' FOLD_REQUIRE_NATS=1 $(GO) test -race -count=1 ./...

# Every target builds and vets (tests included), so a call one platform
# lacks cannot land. bench/ (its own module) measures Linux calls such as
# syncfs, so it is vetted for Linux only.
cross:
	@set -e; for t in $(TARGETS); do \
		echo "build and vet $$t"; \
		GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) build ./... ; \
		GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) vet ./... ; \
	done
	@set -e; cd bench && for t in $(filter linux/%,$(TARGETS)); do \
		echo "vet bench $$t"; GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) vet ./... ; \
	done

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

# Release archives in dist/: for each target fold-VERSION-OS-ARCH.tar.gz
# with the four programs, their man pages, README, LICENSE and (once there)
# completions/, and SHA256SUMS. Reproducible: -trimpath, no cgo, entries
# sorted, owned by 0, dated by the last commit (SOURCE_DATE_EPOCH), gzip
# without a name or time; the same commit gives the same bytes. Needs GNU
# tar (TAR=gtar on macOS).
VERSION := $(shell sed -n 's/^const Version = "\(.*\)"/\1/p' lib/app/app.go)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
TAR ?= tar
DIST := dist
dist: completions
	rm -rf $(DIST) && mkdir -p $(DIST)
	@set -e; for t in $(TARGETS); do \
		os=$${t%/*}; arch=$${t#*/}; name=fold-$(VERSION)-$$os-$$arch; dir=$(DIST)/$$name; \
		echo "$$name"; mkdir -p $$dir/man; \
		for p in $(PROGS); do \
			CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags='-s -w -buildid=' -o $$dir/$$p ./cmd/$$p; \
		done; \
		cp man/*.1 $$dir/man/ && cp README.md LICENSE $$dir/; \
		if [ -d completions ]; then cp -R completions $$dir/; fi; \
		$(TAR) --sort=name --format=ustar --mtime=@$(SOURCE_DATE_EPOCH) --owner=0 --group=0 --numeric-owner \
			--mode='u=rwX,go=rX' -C $(DIST) -cf - $$name | gzip -9n >$(DIST)/$$name.tar.gz; \
		rm -rf $$dir; \
	done
	cd $(DIST) && sha256sum *.tar.gz >SHA256SUMS && cat SHA256SUMS

# Shell completion scripts for bash, zsh and fish, made by each program
# from its own flags (PROG completion SHELL) into completions/.
completions: build
	@mkdir -p completions/bash completions/zsh completions/fish
	@set -e; for p in $(PROGS); do \
		$(BIN)/$$p completion bash >completions/bash/$$p; \
		$(BIN)/$$p completion zsh >completions/zsh/_$$p; \
		$(BIN)/$$p completion fish >completions/fish/$$p.fish; \
	done

# make install PREFIX=~/.local (default /usr/local); DESTDIR=stage for a
# package. The four programs, their man pages, completions where bash,
# zsh and fish look for them, and docs/ (the man pages point to it).
PREFIX ?= /usr/local
DOCDIR := share/doc/fold
INSTALL_DIRS := bin share/man/man1 share/bash-completion/completions share/zsh/site-functions share/fish/vendor_completions.d $(DOCDIR)/schema
install: build completions
	install -d $(addprefix '$(DESTDIR)$(PREFIX)'/,$(INSTALL_DIRS))
	install -m 755 $(addprefix $(BIN)/,$(PROGS)) '$(DESTDIR)$(PREFIX)/bin'
	install -m 644 $(addprefix man/,$(addsuffix .1,$(PROGS))) '$(DESTDIR)$(PREFIX)/share/man/man1'
	install -m 644 $(addprefix completions/bash/,$(PROGS)) '$(DESTDIR)$(PREFIX)/share/bash-completion/completions'
	install -m 644 $(addprefix completions/zsh/_,$(PROGS)) '$(DESTDIR)$(PREFIX)/share/zsh/site-functions'
	install -m 644 $(addprefix completions/fish/,$(addsuffix .fish,$(PROGS))) '$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d'
	install -m 644 docs/*.md '$(DESTDIR)$(PREFIX)/$(DOCDIR)'
	install -m 644 docs/schema/*.json '$(DESTDIR)$(PREFIX)/$(DOCDIR)/schema'

uninstall:
	rm -f $(foreach p,$(PROGS),'$(DESTDIR)$(PREFIX)/bin/$(p)' '$(DESTDIR)$(PREFIX)/share/man/man1/$(p).1' \
		'$(DESTDIR)$(PREFIX)/share/bash-completion/completions/$(p)' '$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_$(p)' \
		'$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/$(p).fish')
	rm -rf '$(DESTDIR)$(PREFIX)/$(DOCDIR)'


clean:
	rm -rf $(BIN) demo-root $(DIST) completions
