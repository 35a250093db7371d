SHELL := /bin/bash
# fold: event sourcing as Unix filters.
GO      ?= go
BIN     := bin
PROGS   := fold-exec fold-watch fold-project fold-pm

# The platforms fold builds and releases for.
TARGETS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 freebsd/amd64

.PHONY: all build demo test unit cross bats fuzz bench man dist clean

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

test: unit cross bats

unit:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

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
bats: build
	@set -o pipefail; PATH="$(CURDIR)/$(BIN):$$PATH" bats --tap tests/bats | tee $(BIN)/bats.tap; \
	status=$$?; \
	echo "bats: $$(grep -c '^ok' $(BIN)/bats.tap) passed, $$(grep -c '^not ok' $(BIN)/bats.tap) failed"; \
	exit $$status

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
dist:
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

clean:
	rm -rf $(BIN) demo-root $(DIST)
