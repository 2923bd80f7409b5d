# Delivery: the GitHub Actions workflows (.github/workflows) and the CDK app's opt-in
# delivery pipeline (-c pipeline=true, infra/pipeline.go). `make test` lints the
# workflows with actionlint (pinned, into build/tools as staticcheck is, with
# Debian's shellcheck for their run: scripts) and synthesizes the delivery stacks,
# cdk-nag clean, into build/cdk.out.delivery (cdk.out stays the default synth's).
# The smoke test itself runs in test-go (test/smoke_test.go, against the twin).

APT_PACKAGES += shellcheck

ACTIONLINT         := $(CURDIR)/build/tools/actionlint
ACTIONLINT_VERSION := v1.7.12
DEPS_TARGETS += deps-actionlint
TEST_TARGETS += test-workflows test-synth-delivery

.PHONY: deps-actionlint test-workflows test-synth-delivery
deps-actionlint: $(ACTIONLINT)
$(ACTIONLINT):
	GOBIN=$(CURDIR)/build/tools GOWORK=off $(GO) install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

test-workflows: $(ACTIONLINT)
	$(ACTIONLINT) -no-color -pyflakes= -shellcheck=$$(command -v shellcheck || true) .github/workflows/*.yml
	@echo "actionlint: .github/workflows clean"

# Both delivery options at once: the pipeline stack (with the app stack in its stage)
# and the GitHub deploy-role stack.
test-synth-delivery: deps-infra build
	AWS_REGION=$${AWS_REGION:-us-east-1} AWS_EC2_METADATA_DISABLED=true $(CDK) synth --quiet \
	  -c pipeline=true -c githubRepo=owner/imagepipe -o build/cdk.out.delivery >/dev/null
	@echo "cdk synth -c pipeline=true -c githubRepo=…: build/cdk.out.delivery, cdk-nag AwsSolutions clean"
