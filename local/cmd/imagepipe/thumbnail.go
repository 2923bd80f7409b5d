package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/imagepipe/imagepipe/local/cli"
	"io"
	"os"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/steps/makethumbnail"
)

func init() {
	commands["thumbnail"] = cli.Command{Summary: "IN OUT [--size 80] : write what make-thumbnail writes", Run: runThumbnail}
}

func runThumbnail(ctx context.Context, args []string) error {
	return thumbnail(ctx, args, os.Stderr)
}

// thumbnail renders IN with make-thumbnail's own function and writes the JPEG to OUT.
func thumbnail(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("thumbnail", flag.ContinueOnError)
	fs.SetOutput(stderr)
	size := fs.Int("size", makethumbnail.DefaultSize, "longest side of the thumbnail, in pixels")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: imagepipe thumbnail IN OUT [--size 80]")
		fs.PrintDefaults()
	}
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || *size <= 0 || *size > 4096 {
		fs.Usage()
		return cli.ErrUsage
	}
	in, out := pos[0], pos[1]
	// Size first, then one read into an exact buffer: a growing buffer would copy a
	// 5 MB photo several times over.
	st, err := os.Stat(in)
	if err != nil {
		return err
	}
	if err := imaging.DefaultLimits.CheckBytes(st.Size()); err != nil {
		return fmt.Errorf("%s: %s", in, errorLine(err))
	}
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	r, err := makethumbnail.Render(ctx, data, imaging.DefaultLimits, *size, 0)
	if err != nil {
		return fmt.Errorf("%s: %s", in, errorLine(err))
	}
	return os.WriteFile(out, r.Thumbnail.JPEG, 0o644)
}
