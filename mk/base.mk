# Debian packages every test run needs: the aws CLI for end-to-end tests.
APT_PACKAGES += awscli

DEPS_TARGETS += deps-apt deps-go

# apt_install installs the Debian packages of its argument that are missing (quick
# when none are): the one install step for `make deps` and `make bench`.
define apt_install
	@missing=""; for p in $(sort $(1)); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "apt-get install$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

.PHONY: deps-apt deps-go
deps-apt:
	$(call apt_install,$(APT_PACKAGES))

deps-go:
	for m in $(GO_MODULES); do (cd $$m && $(GO) mod download); done

# staticcheck, pinned, for `make lint`.
STATICCHECK := $(CURDIR)/build/tools/staticcheck
DEPS_TARGETS += deps-staticcheck
.PHONY: deps-staticcheck staticcheck
deps-staticcheck: $(STATICCHECK)
$(STATICCHECK):
	GOBIN=$(CURDIR)/build/tools GOWORK=off $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2

staticcheck: $(STATICCHECK)
	$(STATICCHECK) ./functions/... ./local/... ./statemachine/... ./test/...

# Every module but infra builds alone, without go.work: each go.mod names what it
# needs (infra/ builds alone in test-infra's own synth).
TEST_TARGETS += test-modules
.PHONY: test-modules
test-modules:
	@for m in functions statemachine local test; do (cd $$m && GOWORK=off $(GO) build ./... && GOWORK=off $(GO) vet ./... >/dev/null) || exit 1; done
	@echo "modules: each builds with GOWORK=off"
