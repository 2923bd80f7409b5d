# ASL engine: aws-local-stepfunctions for the differential test (local/asl/difftest).
# With node_modules present, `go test ./local/asl/` runs TestDifferential; without, it skips.
DEPS_TARGETS += deps-asl

.PHONY: deps-asl
deps-asl:
	cd local/asl/difftest && npm ci --no-audit --no-fund --engine-strict=false
