# idsync: the two commands are `make run` and `make test`; see README.md.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.7.0
GOFILES = $(shell git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*')
# The Lambda functions' mains (cmd/idsync is the operator CLI).
LAMBDAS = cmd/oktahook cmd/idcsnapshot cmd/consumer
# The local runner (idsync local) is compiled in only with this tag, so the
# operator binary does not link the stand-ins; checks cover both builds.
TAGS = -tags local
# CHAOS_SEED seeds make bench's full-size chaos run (0: a new seed, printed).
CHAOS_SEED ?= 1
# Exports DYNAMODB_ENDPOINT and SQS_ENDPOINT after installing/starting the engines.
WITH_STANDINS = set -a; eval "$$(scripts/localaws start)"; set +a;

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

.PHONY: run
run: ## the whole pipeline locally on the embedded stand-ins; prints endpoints (Ctrl-C stops it)
	go run $(TAGS) ./cmd/idsync local

.PHONY: test
test: lint infra-test ## every test: formatting, vet, staticcheck, go test -race against the stand-ins, the CDK stack
	@$(WITH_STANDINS) go test $(TAGS) -race -count=1 ./...

.PHONY: infra-test
infra-test: ## CDK stack in infra/ (own go.mod): gofmt, vet, staticcheck, offline synth tests
	@cd infra && out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	cd infra && go vet ./...
	cd infra && go run $(STATICCHECK) ./...
	cd infra && JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 go test -count=1 ./...

SYNTH_CONFIG ?= domain/testdata/config/full.json
.PHONY: synth
synth: build ## CloudFormation template into infra/cdk.out, offline (SYNTH_CONFIG=document, SYNTH_CONTEXT='key=value ...')
	cd infra && CDK_OUTDIR=cdk.out JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 \
		go run . configFile=$(abspath $(SYNTH_CONFIG)) $(SYNTH_CONTEXT)
	@ls infra/cdk.out/*.template.json

.PHONY: lint
lint: ## gofmt check, go vet, staticcheck
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet $(TAGS) ./...
	go run $(STATICCHECK) $(TAGS) ./...

.PHONY: bench
bench: ## benchmarks against the limits, one `name value unit ...` line each, then the ratios against their targets (README.md, Performance)
	@$(WITH_STANDINS) go test $(TAGS) -timeout=120m -run='^$$' -bench=. -benchtime=1x ./internal/bench/ | tee .bench.out | grep -E '^(Benchmark|ok|FAIL|--- FAIL)'
	@go test -run='^$$' -bench=HookCPU -cpu=1 ./producers/oktahook/ | tee -a .bench.out | grep -E '^(Benchmark|FAIL)'
	@$(WITH_STANDINS) go test $(TAGS) -timeout=90m -run='^$$' -bench=Chaos -benchtime=1x ./internal/localrun/ -chaos.seed=$(CHAOS_SEED) | tee -a .bench.out | grep -E '^(Benchmark|ok|FAIL|--- FAIL)|chaos'
	@awk -f scripts/bench-targets.awk .bench.out

.PHONY: build
build: ## Lambda bootstrap binaries (provided.al2023, linux/arm64) into dist/
	@for d in $(LAMBDAS); do \
		name=$$(basename $$d); mkdir -p dist/$$name; \
		GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -trimpath -tags lambda.norpc -ldflags='-s -w' \
			-o dist/$$name/bootstrap ./$$d; echo "dist/$$name/bootstrap"; \
	done

.PHONY: stop
stop: ## stop the local stand-ins
	scripts/localaws stop

.PHONY: clean
clean: stop ## stop the stand-ins and remove build and run output (keeps .tools/)
	rm -rf dist .local

.PHONY: distclean
distclean: clean ## also remove the installed stand-ins in .tools/
	rm -rf .tools
