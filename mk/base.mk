# Debian packages every test run needs: the aws CLI for end-to-end tests.
APT_PACKAGES += awscli

DEPS_TARGETS += deps-apt deps-go

.PHONY: deps-apt deps-go
deps-apt:
	@missing=""; for p in $(sort $(APT_PACKAGES)); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "apt-get install$$missing"; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

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
