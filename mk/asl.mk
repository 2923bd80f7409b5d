# ASL engine: aws-local-stepfunctions for the differential test (local/asl/difftest).
# With node_modules present, `go test ./local/asl/` runs TestDifferential; without, it
# skips (and fails under CI=true).
DEPS_TARGETS += deps-asl

.PHONY: deps-asl
deps-asl: local/asl/difftest/node_modules/.package-lock.json

# npm ci only when the lock file changed since the last install.
local/asl/difftest/node_modules/.package-lock.json: local/asl/difftest/package-lock.json local/asl/difftest/package.json
	cd local/asl/difftest && npm ci --no-audit --no-fund --engine-strict=false
	@touch $@
