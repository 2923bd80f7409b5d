package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/imagepipe/imagepipe/local/cli"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func init() {
	commands["upload"] = cli.Command{Summary: "PATH... [--endpoint URL] [--bucket images] [--prefix upload/] : upload photos and folders", Run: runUpload}
}

// imageTypes are the extensions upload picks from folders, with their content types.
var imageTypes = map[string]string{
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif",
	".webp": "image/webp", ".tif": "image/tiff", ".tiff": "image/tiff", ".bmp": "image/bmp",
	".heic": "image/heic", ".heif": "image/heif",
}

type uploadFile struct {
	path, key string
	size      int64
}

func runUpload(ctx context.Context, args []string) error {
	return upload(ctx, args, os.Stdout, os.Stderr)
}

func upload(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("upload", flag.ContinueOnError)
	fset.SetOutput(stderr)
	endpoint := fset.String("endpoint", "", "the twin's edge endpoint (e.g. http://127.0.0.1:4566); empty: the AWS configuration")
	bucket := fset.String("bucket", "images", "bucket to upload to")
	prefix := fset.String("prefix", "upload/", "key prefix; the pipeline runs on keys under upload/")
	conc := fset.Int("concurrency", 4, "uploads in flight at most")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: imagepipe upload PATH... [--endpoint URL] [--bucket images] [--prefix upload/]")
		fset.PrintDefaults()
	}
	pos, err := cli.ParseInterspersed(fset, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || *conc <= 0 {
		fset.Usage()
		return cli.ErrUsage
	}
	files, err := collectUploads(pos, *prefix)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no images (%s) under %s", strings.Join(sortedExts(), " "), strings.Join(pos, " "))
	}
	cfg, err := awsConfig(ctx, *endpoint)
	if err != nil {
		return err
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = *endpoint != "" })
	return putAll(ctx, files, *conc, func(ctx context.Context, f uploadFile) error {
		return putFile(ctx, client, *bucket, f)
	}, stdout, stderr)
}

// collectUploads expands PATH arguments: a file goes to prefix + its name, a folder's
// images (recursively) to prefix + their path relative to the folder, as
// `aws s3 cp --recursive` does.
func collectUploads(paths []string, prefix string) ([]uploadFile, error) {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	var out []uploadFile
	seen := map[string]string{}
	add := func(p, rel string, size int64) error {
		key := prefix + filepath.ToSlash(rel)
		if other, dup := seen[key]; dup {
			return fmt.Errorf("%s and %s would both be uploaded as %s", other, p, key)
		}
		seen[key] = p
		out = append(out, uploadFile{path: p, key: key, size: size})
		return nil
	}
	for _, root := range paths {
		st, err := os.Stat(root)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			if err := add(root, filepath.Base(root), st.Size()); err != nil {
				return nil, err
			}
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !d.Type().IsRegular() {
				return nil
			}
			if _, ok := imageTypes[strings.ToLower(filepath.Ext(p))]; !ok {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			return add(p, rel, info.Size())
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func putFile(ctx context.Context, client *s3.Client, bucket string, f uploadFile) error {
	fh, err := os.Open(f.path)
	if err != nil {
		return err
	}
	defer fh.Close()
	ct := imageTypes[strings.ToLower(path.Ext(f.key))]
	if ct == "" {
		ct = "application/octet-stream"
	}
	_, err = client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(f.key), Body: fh,
		ContentLength: aws.Int64(f.size), ContentType: aws.String(ct),
	})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, f.key, err)
	}
	return nil
}

// putAll uploads with conc workers, redrawing one progress line on stderr and
// printing each key on stdout; it returns every failure joined.
func putAll(ctx context.Context, files []uploadFile, conc int, put func(context.Context, uploadFile) error, stdout, stderr io.Writer) error {
	var total int64
	for _, f := range files {
		total += f.size
	}
	var (
		mu         sync.Mutex
		done, sent int64
		errs       []error
		wg         sync.WaitGroup
	)
	jobs := make(chan uploadFile)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range jobs {
				err := put(ctx, f)
				mu.Lock()
				done++
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", f.path, err))
				} else {
					sent += f.size
					fmt.Fprintf(stdout, "%s\n", f.key)
				}
				fmt.Fprintf(stderr, "\r%s", uploadBar(done, int64(len(files)), sent, total, len(errs)))
				mu.Unlock()
			}
		}()
	}
	for _, f := range files {
		if ctx.Err() != nil {
			break
		}
		jobs <- f
	}
	close(jobs)
	wg.Wait()
	fmt.Fprintln(stderr)
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func uploadBar(done, files, sent, total int64, failed int) string {
	const width = 30
	filled := width
	if files > 0 {
		filled = int(int64(width) * done / files)
	}
	return fmt.Sprintf("[%s%s] %d/%d files  %.1f/%.1f MB  %d failed ",
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, files,
		float64(sent)/1e6, float64(total)/1e6, failed)
}

func sortedExts() []string {
	var out []string
	for e := range imageTypes {
		out = append(out, e)
	}
	slices.Sort(out)
	return out
}
