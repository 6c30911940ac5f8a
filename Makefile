# One target per habit. `make run` starts the gateway, `make test` runs the suite.
GO      ?= go
BIN     ?= bin
PKGS    := ./...
# The suite also runs without -race: the race build of netpoll swaps in a locked
# buffer that hides writer bugs (see README, Testing), and the concurrency,
# conformance and soak tests must hold against the real one.

.PHONY: build run test vet cross race test-norace bench fuzz lint deps-check loadtest loadtest-webhooks cluster proto clean demo screenshots

build:
	$(GO) build -o $(BIN)/wsgate ./cmd/wsgate
	$(GO) build -o $(BIN)/wsbench ./cmd/wsbench

run:
	$(GO) run ./cmd/wsgate $(ARGS)

# The chat example with a gateway: prints the URL to open, Ctrl-C stops both.
demo:
	bash scripts/demo.sh

# Regenerates docs/img/*.png: the browser tests that take screenshots write
# them there too when WSGATE_SCREENSHOT_DIR is set (needs /usr/bin/chromium).
screenshots:
	mkdir -p docs/img
	WSGATE_SCREENSHOT_DIR=$(CURDIR)/docs/img $(GO) test -count=1 -run 'InChromium' ./examples/...

test: vet cross deps-check race test-norace

vet:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || (gofmt -l . && echo "gofmt: files above need formatting" && exit 1)

# The gateway builds on macOS too (netpoll runs there; writes take the portable
# path). The load harness is Linux-only by build tag.
cross:
	GOOS=darwin $(GO) build ./...
	GOOS=darwin $(GO) vet ./...

race:
	$(GO) test -race -count=1 -timeout 8m $(PKGS)

test-norace:
	$(GO) test -count=1 -timeout 5m $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./wsframe/ ./registry/ ./httpapi/ ./poller/... ./cluster/ ./auth/

FUZZTIME ?= 20s
fuzz:
	@for pkg in ./wsframe/ ./httpapi/ ./poller/ ./bench/ ./cluster/ ./auth/ ./webhook/; do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

lint: vet deps-check

# Dependencies point one way: wsframe, registry, hub and auth never import netpoll or
# fasthttp, registry is stdlib-only, poller never imports registry, hub or
# httpapi, hub knows no sockets or HTTP, httpapi reaches the clients only
# through hub (never registry or poller), webhook knows no sockets and no API
# face (it gets snapshots from the gateway), nothing imports gateway but cmd,
# only gateway brings in metrics and Prometheus's client (httpapi serves them
# through an interface it declares), logging is stdlib-only.
deps-check:
	@bad=""; \
	for p in wsframe registry hub auth; do \
	  $(GO) list -deps ./$$p | grep -E 'cloudwego/netpoll|valyala/fasthttp' && bad="$$bad $$p"; \
	done; \
	$(GO) list -deps ./registry | grep -E '^github.com/' | grep -v '^github.com/wsgate/wsgate/registry' && bad="$$bad registry(stdlib-only)"; \
	$(GO) list -deps ./poller/... | grep -E 'wsgate/(registry|hub|httpapi)' && bad="$$bad poller"; \
	$(GO) list -deps ./hub | grep -E 'wsgate/(poller|httpapi)' && bad="$$bad hub"; \
	$(GO) list -deps ./cluster | grep -E 'cloudwego/netpoll|valyala/fasthttp|wsgate/(poller|httpapi|grpcapi|gateway)' && bad="$$bad cluster"; \
	$(GO) list -deps ./httpapi | grep -E 'cloudwego/netpoll|wsgate/poller' && bad="$$bad httpapi"; \
	$(GO) list -deps ./webhook | grep -E 'cloudwego/netpoll|wsgate/(poller|httpapi|cluster|gateway)' && bad="$$bad webhook"; \
	$(GO) list -f '{{join .Imports "\n"}}' ./httpapi ./grpcapi | grep -E 'wsgate/(registry|poller)' && bad="$$bad api-faces(registry/poller)"; \
	$(GO) list -f '{{.ImportPath}}: {{join .Imports " "}}' ./... | grep -v -e '^github.com/wsgate/wsgate/cmd/' -e '^github.com/wsgate/wsgate/internal/gatewaytest:' | grep -E ' github.com/wsgate/wsgate/gateway( |$$)' && bad="$$bad gateway-importers"; \
	$(GO) list -deps ./wsframe ./registry ./hub ./poller/... ./cluster ./httpapi ./grpcapi ./logging | grep -E 'wsgate/wsgate/metrics|prometheus/' && bad="$$bad metrics-importers"; \
	$(GO) list -deps ./logging | grep -E '^github.com/' | grep -v '^github.com/wsgate/wsgate/logging' && bad="$$bad logging(stdlib-only)"; \
	if [ -n "$$bad" ]; then echo "deps-check: forbidden imports in:$$bad"; exit 1; fi; \
	echo "deps-check: ok"

loadtest:
	bash scripts/loadtest.sh

# Webhook throughput: connect with a 1 ms connect webhook against the plain
# baseline, and message events per second to the harness's receiver.
loadtest-webhooks:
	bash scripts/webhook-loadtest.sh

# A local cluster: NATS built from the Go module and three nodes (see the script).
cluster:
	bash scripts/cluster.sh

# Regenerates the gRPC code from grpcapi/proto/gateway.proto (committed, so
# building needs none of this): protoc (Debian: protobuf-compiler),
# google.golang.org/protobuf/cmd/protoc-gen-go and
# google.golang.org/grpc/cmd/protoc-gen-go-grpc on PATH.
proto:
	cd grpcapi/proto && protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative gateway.proto

clean:
	rm -rf $(BIN) bench-results
