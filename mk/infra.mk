# infra/: the CDK app (`make synth`, `make deploy`, `make diff`, `make destroy`) and its
# tests. The pinned npm tools (CDK CLI, asl-validator, @aws-cdk/aws-service-spec) are
# installed from infra/tools/package-lock.json into build/infra-tools, outside the Go
# module trees, so that gofmt and go never walk node_modules.
#
# Compiling aws-cdk-go is heavy (a couple of minutes and several GB of RAM on 2 cores
# the first time; the Go build cache makes later runs quick): the infra tests run
# without -race and with a generous timeout.

INFRA_TOOLS := build/infra-tools
CDK         := $(INFRA_TOOLS)/node_modules/.bin/cdk
ASL_FILES   := $(wildcard statemachine/*.asl.json)
CDK_ARGS    ?=
# jsii warns loudly on node 20; the CDK and cdk-nag still run on it.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION ?= 20

DEPS_TARGETS += deps-infra
TEST_TARGETS += test-infra

.PHONY: deps-infra synth deploy destroy diff test-infra

deps-infra: $(INFRA_TOOLS)/node_modules/.installed

$(INFRA_TOOLS)/node_modules/.installed: infra/tools/package.json infra/tools/package-lock.json
	mkdir -p $(INFRA_TOOLS)
	cp infra/tools/package.json infra/tools/package-lock.json $(INFRA_TOOLS)/
	cd $(INFRA_TOOLS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Synthesizes cdk.out/ with the cdk-nag AwsSolutions report (an unsuppressed finding
# fails the synth). The Lambdas are built first: their bootstraps are the assets.
synth: deps-infra build
	$(CDK) synth --quiet $(CDK_ARGS)

deploy: deps-infra build
	$(CDK) deploy $(CDK_ARGS)

diff: deps-infra build
	$(CDK) diff $(CDK_ARGS)

destroy: deps-infra
	$(CDK) destroy $(CDK_ARGS)

# ASL files through asl-validator, the statemachine and CDK assertion tests, then the
# synthesized template through the CloudFormation specification check.
test-infra: deps-infra
	@for f in $(ASL_FILES); do $(INFRA_TOOLS)/node_modules/.bin/asl-validator --json-path $$f; done
	$(GO) vet ./infra/...
	$(GO) test -count=1 ./statemachine/...
	IMAGEPIPE_TEMPLATE_OUT=$(CURDIR)/$(INFRA_TOOLS)/test.template.json $(GO) test -count=1 -timeout 45m ./infra/...
	NODE_PATH=$(INFRA_TOOLS)/node_modules node infra/tools/cfn-schema-check.js $(INFRA_TOOLS)/test.template.json

# `make test` also synthesizes the real app once, as `make synth` does, so the cdk-nag
# report of the deployable template (not only the tests' stack) stays clean.
TEST_TARGETS += test-synth
.PHONY: test-synth
test-synth: deps-infra build
	AWS_REGION=$${AWS_REGION:-us-east-1} AWS_EC2_METADATA_DISABLED=true $(CDK) synth --quiet $(CDK_ARGS) >/dev/null
	@echo "cdk synth: templates in cdk.out/, cdk-nag AwsSolutions clean"

# The committed template snapshots: infra/snapshot/ImagePipe.template.json, what the
# twin deploys by default and the reviewable record of every infra change, and
# ImagePipe-express.template.json, the same app with -c express=true (Express state
# machines), which the end-to-end tests deploy to prove the pipeline under Express's
# at-least-once starts. Asset hashes are normalized (infra/cmd/snapshot). `make
# snapshot` refreshes both from real synths; `make test` fails with the diff when
# either is stale.
SNAPSHOT         := infra/snapshot/ImagePipe.template.json
SNAPSHOT_EXPRESS := infra/snapshot/ImagePipe-express.template.json
TEST_TARGETS += test-snapshot
.PHONY: snapshot test-snapshot test-synth-express
test-synth-express: deps-infra build
	AWS_REGION=$${AWS_REGION:-us-east-1} AWS_EC2_METADATA_DISABLED=true $(CDK) synth --quiet $(CDK_ARGS) -c express=true -o build/cdk.out.express >/dev/null
	@echo "cdk synth -c express=true: build/cdk.out.express, cdk-nag AwsSolutions clean"

snapshot: test-synth test-synth-express
	$(GO) run ./infra/cmd/snapshot < cdk.out/ImagePipe.template.json > $(SNAPSHOT)
	$(GO) run ./infra/cmd/snapshot < build/cdk.out.express/ImagePipe.template.json > $(SNAPSHOT_EXPRESS)
	@echo "wrote $(SNAPSHOT) and $(SNAPSHOT_EXPRESS)"

test-snapshot: test-synth test-synth-express
	@$(GO) run ./infra/cmd/snapshot < cdk.out/ImagePipe.template.json > build/snapshot.template.json
	@$(GO) run ./infra/cmd/snapshot < build/cdk.out.express/ImagePipe.template.json > build/snapshot-express.template.json
	@for pair in "$(SNAPSHOT) build/snapshot.template.json" "$(SNAPSHOT_EXPRESS) build/snapshot-express.template.json"; do \
	  set -- $$pair; \
	  if ! diff -u $$1 $$2 > build/snapshot.diff; then \
	    head -c 20000 build/snapshot.diff; \
	    echo; echo "$$1 is stale: the diff above is what the CDK app now synthesizes. Run 'make snapshot' and commit it."; exit 1; \
	  fi; \
	done
	@echo "template snapshots: up to date"
