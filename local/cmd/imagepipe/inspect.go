package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/imagepipe/imagepipe/local/cli"
	"io"
	"os"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/metadata"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

func init() {
	commands["inspect"] = cli.Command{Summary: "FILE... : print what extract-metadata computes for each file, as JSON", Run: runInspect}
}

// inspected is one output line: the step's result, plus the file it came from.
type inspected struct {
	File string `json:"file"`
	pipeline.Metadata
}

func runInspect(ctx context.Context, args []string) error {
	return inspect(ctx, args, os.Stdout, os.Stderr)
}

// inspect prints one JSON object per readable file on stdout and a one-line error
// per unreadable file on stderr, carries on, and fails at the end if any file failed.
func inspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: imagepipe inspect FILE...")
		return cli.ErrUsage
	}
	enc := json.NewEncoder(stdout)
	failed := 0
	for _, name := range args {
		if err := ctx.Err(); err != nil {
			return err
		}
		md, err := inspectFile(name)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %s\n", name, errorLine(err))
			failed++
			continue
		}
		if err := enc.Encode(inspected{File: name, Metadata: md}); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files could not be read", failed, len(args))
	}
	return nil
}

// inspectFile runs extract-metadata's code path over a local file.
func inspectFile(name string) (pipeline.Metadata, error) {
	f, err := os.Open(name)
	if err != nil {
		return pipeline.Metadata{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return pipeline.Metadata{}, err
	}
	if !st.Mode().IsRegular() {
		return pipeline.Metadata{}, errors.New("not a regular file")
	}
	return metadata.Extract(f, st.Size(), imaging.DefaultLimits)
}

// errorLine is an error as the state machine would name it: "Name: message".
func errorLine(err error) string {
	for _, t := range []struct {
		name string
		ok   bool
	}{
		{pipeline.ErrNameNotAnImage, errors.As(err, new(*pipeline.NotAnImageError))},
		{pipeline.ErrNameUnsupported, errors.As(err, new(*pipeline.UnsupportedFormatError))},
		{pipeline.ErrNameCorrupt, errors.As(err, new(*pipeline.CorruptImageError))},
		{pipeline.ErrNameTooLarge, errors.As(err, new(*pipeline.ImageTooLargeError))},
	} {
		if t.ok {
			return t.name + ": " + err.Error()
		}
	}
	return err.Error()
}
