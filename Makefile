# imagepipe: `make run` starts the local twin, `make test` proves it.
# Each area adds its own targets in mk/*.mk (deps, tests, checks) through the
# DEPS_TARGETS / TEST_TARGETS variables, so the parts stay in one obvious place.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export GOTOOLCHAIN ?= local

GO        ?= go
LAMBDAS   := $(notdir $(wildcard functions/cmd/*))
DATA      ?= .imagepipe
GO_MODULES := functions statemachine local test infra

DEPS_TARGETS :=
TEST_TARGETS :=
# Each area's fragment adds to the lists above before the rules below read them.
-include mk/*.mk

.PHONY: all build lambdas twin-lambdas imagepipe run test test-go lint deps clean
all: build

build: imagepipe lambdas twin-lambdas build-web

# bin/imagepipe runs the twin's and AWS commands from bin/imagepipe-pipeline beside it.
# lambda.norpc drops aws-lambda-go's net/rpc server (the engine only calls handlers);
# nodynamic keeps the HEIC/AVIF decoders (WebAssembly, through purego) from making a
# CGO_ENABLED=0 binary dynamically linked: the Lambdas stay static;
# with -s -w the small binary starts and pages in less: `imagepipe thumbnail` is timed
# against ImageMagick in `make bench`.
GO_TAGS   := lambda.norpc,nodynamic
CLI_FLAGS := -tags $(GO_TAGS) -trimpath -ldflags='-s -w'
imagepipe:
	$(GO) build $(CLI_FLAGS) -o bin/imagepipe ./local/cmd/imagepipe
	$(GO) build -tags $(GO_TAGS) -o bin/imagepipe-pipeline ./local/cmd/imagepipe-pipeline

lambdas:
	@for f in $(LAMBDAS); do \
	  echo "lambda $$f (linux/arm64)"; \
	  (cd functions && CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags $(GO_TAGS) -trimpath -ldflags='-s -w' -o ../build/lambda/$$f/bootstrap ./cmd/$$f); \
	done

# The same functions/cmd/<name> built for this machine: the twin runs them as
# processes under its Lambda Runtime API (build/twin/<name>/bootstrap).
twin-lambdas:
	@mkdir -p build/twin/.bin
	cd functions && CGO_ENABLED=0 $(GO) build -tags $(GO_TAGS) -trimpath -ldflags='-s -w' -o ../build/twin/.bin/ ./cmd/...
	@for f in $(LAMBDAS); do mkdir -p build/twin/$$f && mv -f build/twin/.bin/$$f build/twin/$$f/bootstrap; done

# The twin in the foreground, deployed from the committed template snapshot.
run: imagepipe twin-lambdas build-web
	./bin/imagepipe serve --data $(DATA)

# Go unit, handler, corpus and end-to-end tests (-race), a short fuzz pass, then
# every area's own tests (mk/*.mk).
# deps first: idempotent and quick when everything is there, so that `make test` on a
# fresh machine brings what it needs.
test: deps lint test-go $(TEST_TARGETS)

# The browser test serves web/dist; TestMain builds the functions for the twin.
test-go: build-web
	$(GO) test -race -count=1 -timeout 30m $(addprefix ./,$(addsuffix /...,$(filter-out infra,$(GO_MODULES))))

lint:
	@out=$$(gofmt -l $(GO_MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(addprefix ./,$(addsuffix /...,$(filter-out infra,$(GO_MODULES))))
	$(MAKE) --no-print-directory staticcheck

deps: $(DEPS_TARGETS)

clean:
	rm -rf bin build cdk.out
