// Command thumbcore is `imagepipe thumbnail` without the rest of the imagepipe
// binary: the same makethumbnail.Render in a minimal static program. The bench runs
// it beside the real CLI to separate the decoder's cost from the CLI's start-up
// (package initialisation and page-ins of the twin's dependencies).
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/steps/makethumbnail"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: thumbcore IN OUT SIZE")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "thumbcore:", err)
		os.Exit(1)
	}
}

func run(in, out, size string) error {
	n, err := strconv.Atoi(size)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	r, err := makethumbnail.Render(context.Background(), data, imaging.DefaultLimits, n, 0)
	if err != nil {
		return err
	}
	return os.WriteFile(out, r.Thumbnail.JPEG, 0o644)
}
