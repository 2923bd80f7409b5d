# Benchmarks: `make bench` compares `imagepipe thumbnail` with ImageMagick,
# GraphicsMagick, vipsthumbnail and djpeg on generated 12/24 MP photos (and the
# corpus's phone photos when present), and with libheif's heif-convert on HEICs
# (made from the generated photos by heif-enc, and the corpus's), times the
# pipeline steps in-process, then runs the Go benchmarks of each function's core.
# Nothing here is a test.
#   make bench BENCH_ARGS='--sizes 12mp --runs 3'   a shorter run
#   make bench GO_BENCHTIME=20x                      steadier Go benchmarks

# The bench's own generator needs cjpeg/jpegtran, and heif-enc for HEICs; tests
# use them too.
APT_PACKAGES += libjpeg-turbo-progs libheif-examples

BENCH_APT    := imagemagick graphicsmagick libvips-tools libjpeg-turbo-progs libheif-examples
BENCH_ARGS   ?=
GO_BENCHTIME ?= 5x
GO_BENCH_PKGS := ./functions/metadata ./functions/imaging ./functions/imaging/jpegscale ./functions/steps/makethumbnail

.PHONY: bench bench-tools bench-go deps-bench
bench: bench-tools bench-go

deps-bench:
	$(call apt_install,$(BENCH_APT))

bench-tools: deps-bench imagepipe
	$(GO) build -o bin/imagepipe-bench ./local/cmd/imagepipe-bench
	$(GO) build -o bin/imagepipe-thumbcore ./local/cmd/imagepipe-bench/thumbcore
	./bin/imagepipe-bench --imagepipe bin/imagepipe --dir build/bench $(BENCH_ARGS)

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(GO_BENCHTIME) $(GO_BENCH_PKGS)

# Lambda figures: each linux/arm64 bootstrap's size, its init time under the Runtime
# Interface Emulator, and the peak memory of the pixel functions on 1/12/24 MP JPEGs,
# with a memory setting per function (test/lambda_figures_test.go; the chosen
# settings live in statemachine/steps.go). Writes build/lambda-figures.md too.
.PHONY: lambda-figures
lambda-figures: lambdas
	IMAGEPIPE_LAMBDA_FIGURES=1 IMAGEPIPE_LAMBDA_FIGURES_OUT=$(CURDIR)/build/lambda-figures.md \
	  $(GO) test -count=1 -v -timeout 20m -run '^TestLambdaFigures$$' ./test/
