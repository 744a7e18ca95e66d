# WebChatRoom. Two commands do everything on a fresh machine:
#   make run    build the web UI and the binary, start `chatroom all` on :8080
#   make test   every test: lint, Go (race), web unit, browser end-to-end
GO       ?= go
NPM      ?= npm
ADDR     ?= :8080
DATA     ?= ./data
STATICCHECK_VERSION := v0.8.2

.PHONY: run build web test test-go test-web test-e2e cluster-test lint clean
.DEFAULT_GOAL := build

include tools/tools.mk

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && $(NPM) ci --no-audit --no-fund

web: web/node_modules/.package-lock.json
	cd web && $(NPM) run build

# The UI is embedded (web/embed.go); CGO is off so the binary is static.
build: web
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/chatroom ./cmd/chatroom

run: build
	./bin/chatroom all --addr $(ADDR) --data $(DATA)

test: lint test-go test-web test-e2e cluster-test

lint: web/node_modules/.package-lock.json
	@test -z "$$(gofmt -l cmd internal services k8s web/embed.go)" || { gofmt -l cmd internal services k8s web/embed.go; echo "gofmt: the files above need formatting"; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags clustertest ./cmd/chatroom
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) -tags clustertest ./...
	cd web && $(NPM) run typecheck && $(NPM) run lint

# Needs the test servers (FerretDB, versitygw) and NATS on 127.0.0.1:4222.
test-go: tools
	$(GO) test -race -count=1 ./...

test-web: web/node_modules/.package-lock.json
	cd web && $(NPM) test

test-e2e: build
	cd web && CHATROOM_BIN=$(CURDIR)/bin/chatroom $(NPM) run e2e

# The cluster deployment on loopback (docs/deploy.md's topology without Kubernetes): every
# service in its own processes (two gateways, two history, two presence) on NATS, FerretDB and
# versitygw, behind nginx configured from k8s/base/ingress.yaml; the chat scenarios, the browser
# suites, a gateway killed and stopped, a history replica killed, NATS restarted. Needs nginx
# (Debian: apt-get install nginx) and NATS on 127.0.0.1:4222; about 3–4 minutes.
cluster-test: build tools web/node_modules/.package-lock.json
	CHATROOM_BIN=$(CURDIR)/bin/chatroom $(GO) test -tags clustertest -count=1 -timeout 10m -run '^TestIngress(Cluster|BrowserSuites)$$' ./cmd/chatroom

clean:
	rm -rf bin web/dist/assets web/dist/index.html test-artifacts
