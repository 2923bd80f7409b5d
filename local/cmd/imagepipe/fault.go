package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/imagepipe/imagepipe/local/cli"
	"io"
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/imagepipe/imagepipe/functions/apiclient"
	"github.com/imagepipe/imagepipe/functions/faults"
)

func init() {
	commands["fault"] = cli.Command{Summary: "set a function's fault mode on a running twin: FUNCTION always|off|rate=F|latency=D|throttle", Run: runFault}
}

func runFault(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("fault", flag.ContinueOnError)
	api := fs.String("api", "http://127.0.0.1:8080", "the twin's web address")
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return cli.ErrUsage
	}
	if len(pos) == 0 { // list the current modes
		return faultCall(ctx, http.MethodGet, *api+"/twin/faults", nil)
	}
	if len(pos) != 2 {
		fmt.Fprintln(os.Stderr, "usage: imagepipe fault [--api URL] FUNCTION MODE   (MODE: off, always, throttle, rate=0.3, latency=2s)")
		return cli.ErrUsage
	}
	mode, err := faults.Parse(pos[1])
	if err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]string{"mode": mode.String()})
	return faultCall(ctx, http.MethodPut, *api+"/twin/faults/"+pos[0], body)
}

func faultCall(ctx context.Context, method, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	// The fault switches answer only the developer identity (AWS_ACCESS_KEY_ID and
	// AWS_SECRET_ACCESS_KEY, LocalStack's test/test when unset).
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" {
		id, secret = "test", "test"
	}
	resp, err := apiclient.New(credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN")), "us-east-1").Do(req)
	if err != nil {
		return fmt.Errorf("is the twin running? %w", err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(out))
	}
	os.Stdout.Write(out)
	return nil
}
