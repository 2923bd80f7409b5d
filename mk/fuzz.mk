# Every fuzz target in the tree, briefly in `make test` (FUZZTIME each) and longer on
# demand: `make fuzz FUZZTIME=2m`. Targets are found by name, so a new one runs too.
FUZZTIME ?= 3s
TEST_TARGETS += test-fuzz

.PHONY: test-fuzz fuzz
test-fuzz: fuzz

fuzz:
	@mkdir -p build
	@grep -rl --include='*_test.go' '^func Fuzz' functions local statemachine | sort | while read -r f; do \
	  dir=$$(dirname "$$f"); \
	  for name in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$f"); do \
	    echo "fuzz ./$$dir $$name ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "./$$dir" >build/fuzz.log 2>&1 || { cat build/fuzz.log; exit 1; }; \
	  done; \
	done
