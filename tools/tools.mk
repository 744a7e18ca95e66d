# Test servers used by internal/testenv, built into bin/ (never linked into
# the product). Include from the root Makefile: `include tools/tools.mk`.
#
# Each build runs with a fixed, minimal Go environment so that a user's or
# CI's GOFLAGS (e.g. -mod=vendor) or a go.work at the root cannot break it.

VERSITYGW_VERSION := v1.8.0
TOOLS_GOENV := GOWORK=off GOFLAGS=-buildvcs=false

# The NATS server the product links (as a library, for `chatroom all`), as
# a program: tests that stop and restart NATS run their own.
NATS_SERVER_VERSION := $(shell awk '$$1 == "github.com/nats-io/nats-server/v2" { print $$2 }' go.mod)

.PHONY: tools
tools: bin/ferretdb-test bin/versitygw bin/nats-server

bin/ferretdb-test: $(wildcard tools/ferretdb/*.go) tools/ferretdb/go.mod tools/ferretdb/go.sum
	cd tools/ferretdb && $(TOOLS_GOENV) go build -trimpath -o $(CURDIR)/bin/ferretdb-test .

# `go install` leaves an up-to-date binary untouched, so touch it for make.
bin/versitygw: tools/tools.mk
	$(TOOLS_GOENV) GOBIN=$(CURDIR)/bin go install -trimpath github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)
	@touch $@

bin/nats-server: go.mod
	$(TOOLS_GOENV) GOBIN=$(CURDIR)/bin go install -trimpath github.com/nats-io/nats-server/v2@$(NATS_SERVER_VERSION)
	@touch $@
