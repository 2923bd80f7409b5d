// Command fn is the test bootstrap for package lambdart: one Lambda function whose
// behaviour the payload's "mode" chooses, and whose init the environment can make
// fail. It uses the real aws-lambda-go runtime client, as the project's functions do.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type request struct {
	Mode string `json:"mode"`
	MS   int    `json:"ms"`
	MB   int    `json:"mb"`
	Code int    `json:"code"`
	URL  string `json:"url"`
	Size int    `json:"size"`
}

// ImageError is a typed error, so the runtime reports errorType "ImageError".
type ImageError struct{ Msg string }

func (e *ImageError) Error() string { return e.Msg }

var held [][]byte // what mode "alloc" keeps alive

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var req request
	_ = json.Unmarshal(raw, &req)
	lc, _ := lambdacontext.FromContext(ctx)
	deadline, _ := ctx.Deadline()
	base := map[string]any{"pid": os.Getpid(), "requestId": lc.AwsRequestID, "arn": lc.InvokedFunctionArn,
		"deadlineInMs": time.Until(deadline).Milliseconds()}
	switch req.Mode {
	case "env":
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		cwd, _ := os.Getwd()
		base["env"], base["cwd"] = env, cwd
	case "error":
		return nil, &ImageError{Msg: "not an image"}
	case "panic":
		panic("boom")
	case "sleep":
		time.Sleep(time.Duration(req.MS) * time.Millisecond)
	case "alloc":
		for i := 0; i < req.MB/4; i++ {
			b := bytes.Repeat([]byte{1}, 4<<20) // touched, so resident
			held = append(held, b)
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(time.Duration(req.MS) * time.Millisecond) // stay resident
	case "exit":
		os.Exit(req.Code)
	case "log":
		fmt.Println("plain line from the function")
		fmt.Fprintln(os.Stderr, "a line on stderr")
		fmt.Println(`{"level":"WARN","msg":"structured line","image":"a.jpg"}`)
	case "big":
		return strings.Repeat("a", req.Size), nil
	case "barrier":
		resp, err := http.Get(req.URL)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
	default:
		base["event"] = raw
	}
	return base, nil
}

// failInit fails the init phase as TEST_INIT asks: "exit" exits, "post" reports an
// init error to the Runtime API first. With TEST_INIT_ONCE=FILE it fails only while
// FILE does not exist, and creates it.
func failInit() {
	mode := os.Getenv("TEST_INIT")
	if mode == "" {
		return
	}
	if once := os.Getenv("TEST_INIT_ONCE"); once != "" {
		if _, err := os.Stat(once); err == nil {
			return
		}
		_ = os.WriteFile(once, nil, 0o644)
	}
	fmt.Println("init is failing:", mode)
	if mode == "post" {
		body := `{"errorMessage":"bad configuration","errorType":"ConfigError"}`
		req, _ := http.NewRequest(http.MethodPost, "http://"+os.Getenv("AWS_LAMBDA_RUNTIME_API")+"/2018-06-01/runtime/init/error", strings.NewReader(body))
		req.Header.Set("Lambda-Runtime-Function-Error-Type", "ConfigError")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		os.Exit(1)
	}
	os.Exit(3)
}

func main() {
	failInit()
	fmt.Println("init done")
	lambda.Start(handle)
}
