//go:build linux

package test

import (
	"github.com/imagepipe/imagepipe/functions/testkit"

	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// rieModule is the AWS Lambda Runtime Interface Emulator, as the Go module proxy serves it.
const rieModule = "github.com/aws/aws-lambda-runtime-interface-emulator@v0.0.0-20261030222936-bef5c4ba774d"

// TestLambdasUnderRIE builds every functions/cmd/* for this machine, starts each
// under the Runtime Interface Emulator with fakes for its backends, and checks one
// invocation's JSON answer (and, where cheap, a bad input's error type).
func TestLambdasUnderRIE(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every Lambda: skipped in -short")
	}
	rie := rieBuildEmulator(t)
	bin := t.TempDir()
	build := exec.Command("go", "build", "-tags", "lambda.norpc,nodynamic", "-o", bin+"/", "./cmd/...")
	build.Dir = filepath.Join("..", "functions")
	build.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build functions/cmd: %v\n%s", err, out)
	}
	cmds, _ := os.ReadDir(filepath.Join("..", "functions", "cmd"))

	s3 := rieNewFakeS3(t)
	s3.put("images/upload/red.png", rieRedPNG(t, 64, 32))
	osFake := httptest.NewServer(http.HandlerFunc(rieFakeOpenSearch))
	defer osFake.Close()
	rek := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, `{"Labels":[{"Name":"Lighthouse","Confidence":97.1,"Parents":[{"Name":"Tower"}]}]}`)
	}))
	defer rek.Close()

	// An empty failure queue, in SQS's JSON protocol.
	sqsFake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if r.Header.Get("X-Amz-Target") != "AmazonSQS.ReceiveMessage" {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"com.amazonaws.sqs#InvalidAction","message":"unexpected call"}`)
			return
		}
		io.WriteString(w, `{"Messages":[]}`)
	}))
	defer sqsFake.Close()

	created := rieEvent("Object Created", "upload/red.png")
	cases := map[string]rieCase{
		"detect-labels": {
			// The 64×32 PNG is under Rekognition's 80 px minimum: detect-labels reads
			// it from S3 and sends a rendering.
			env:     []string{"AWS_ENDPOINT_URL_REKOGNITION=" + rek.URL, "AWS_ENDPOINT_URL_S3=" + s3.srv.URL, "S3_USE_PATH_STYLE=true"},
			payload: created,
			check:   rieHas(`"name":"Lighthouse"`, `"source":"rekognition"`),
			bad:     rieEvent("Object Created", "thumbnail/red.png"), badType: "InvalidEventError",
		},
		"extract-metadata": {
			env:     []string{"AWS_ENDPOINT_URL=" + s3.srv.URL},
			payload: created,
			check:   rieHas(`"format":"png"`, `"width":64`, `"height":32`),
			bad:     rieEvent("Object Created", "upload/missing.png"), badType: "ObjectNotFoundError",
		},
		"make-thumbnail": {
			env:     []string{"AWS_ENDPOINT_URL=" + s3.srv.URL},
			payload: created,
			check: func(t *testing.T, out string) {
				rieHas(`"key":"thumbnail/red.png"`)(t, out)
				if s3.get("images/thumbnail/red.png") == nil {
					t.Error("no thumbnail written")
				}
			},
		},
		"index-document": {
			env: []string{"OPENSEARCH_ENDPOINT=" + osFake.URL},
			payload: `{"event":` + created + `,"metadata":{"format":"png","width":64,"height":32,"size":100},` +
				`"labels":{"labels":[{"name":"Red","confidence":90}]},"thumbnail":{"bucket":"images","key":"thumbnail/red.png"}}`,
			check: rieHas(`"outcome":"created"`),
		},
		"remove-document": {
			env:     []string{"OPENSEARCH_ENDPOINT=" + osFake.URL, "AWS_ENDPOINT_URL_S3=" + s3.srv.URL, "S3_USE_PATH_STYLE=true"},
			payload: rieEvent("Object Deleted", "upload/gone.png"),
			check:   rieHas(`"outcome":"absent"`, `"thumbnail/gone.png"`, `"preview/gone.png"`),
			bad:     rieEvent("Object Deleted", ""), badType: "InvalidEventError",
		},
		"search": {
			env:     []string{"OPENSEARCH_ENDPOINT=" + osFake.URL, "AWS_ENDPOINT_URL_S3=" + s3.srv.URL, "S3_USE_PATH_STYLE=true"},
			payload: `{"httpMethod":"GET","path":"/images","queryStringParameters":{"search":"red"}}`,
			check:   rieHas(`"statusCode":200`, `\"total\":1`, `X-Amz-Signature`, `thumbnailUrl`, `Access-Control-Allow-Origin`),
		},
		"load-tester": {
			env:     []string{"IMAGES_BUCKET=images", "AWS_ENDPOINT_URL=" + s3.srv.URL},
			payload: `{"rate": 4, "duration": "500ms", "size": "small"}`,
			check: func(t *testing.T, out string) {
				rieHas(`"sent":2`, `"failed":0`)(t, out)
				if n := len(s3.keys("images/upload/load/")); n != 2 {
					t.Errorf("%d objects uploaded under upload/load/, want 2", n)
				}
			},
			bad: `{"rate": -1, "duration": "1s"}`, badType: "InputError",
		},
		"redrive": {
			env: []string{"AWS_ENDPOINT_URL=" + sqsFake.URL, "FAILURE_QUEUE_URL=" + sqsFake.URL + "/000000000000/failures",
				"PIPELINE_STATE_MACHINE_ARN=arn:aws:states:us-east-1:000000000000:stateMachine:imagepipe-pipeline"},
			payload: `{}`,
			check:   rieHas(`"started":0`, `"failed":0`),
		},
		"presign-upload": {
			// Signs a POST policy; nothing is called.
			env: []string{"IMAGES_BUCKET=images", "AWS_ENDPOINT_URL_S3=" + s3.srv.URL, "S3_USE_PATH_STYLE=true"},
			payload: `{"httpMethod":"POST","path":"/uploads","requestContext":{"identity":{"cognitoIdentityId":"us-east-1:0f6c5a4e-2b1d-4c3a-9e8f-7a6b5c4d3e2f"}},` +
				`"body":"{\"name\":\"red flower.jpg\",\"size\":12345,\"contentType\":\"image/jpeg\"}"}`,
			check: rieHas(`"statusCode":200`, `upload/us-east-1:0f6c5a4e-2b1d-4c3a-9e8f-7a6b5c4d3e2f/`, `X-Amz-Signature`, `\"maxBytes\":52428800`),
		},
		"operations": {
			// A discard without messages is refused before any call: the route, the
			// body check and the error shape, under the emulator.
			env: []string{"AWS_ENDPOINT_URL=" + sqsFake.URL, "FAILURE_QUEUE_URL=" + sqsFake.URL + "/000000000000/failures",
				"REDRIVE_FUNCTION_NAME=redrive", "PIPELINE_STATE_MACHINE_ARN=arn:aws:states:us-east-1:000000000000:stateMachine:imagepipe-pipeline"},
			payload: `{"httpMethod":"POST","resource":"/failures/discard","path":"/failures/discard","body":"{}",` +
				`"requestContext":{"identity":{"userArn":"arn:aws:iam::000000000000:user/developer"}}}`,
			check: rieHas(`"statusCode":400`, `discard takes messageIds`),
		},
		"ping": {
			env:     []string{"OPENSEARCH_ENDPOINT=" + osFake.URL},
			payload: `{"httpMethod":"GET","path":"/ping"}`,
			check:   rieHas(`"statusCode":200`, `{\"count\":3}`),
		},
	}
	for _, e := range cmds {
		if !e.IsDir() {
			continue
		}
		name := e.Name()
		t.Run(name, func(t *testing.T) {
			c, ok := cases[name]
			if !ok {
				t.Fatalf("no invocation case for %s: every Lambda must answer one invocation here", name)
			}
			url := rieStart(t, rie, filepath.Join(bin, name), c.env)
			out := rieInvoke(t, url, c.payload)
			if strings.Contains(out, `"errorType"`) {
				t.Fatalf("invocation failed: %s", out)
			}
			c.check(t, out)
			if c.bad != "" {
				out := rieInvoke(t, url, c.bad)
				var e struct{ ErrorType string }
				if json.Unmarshal([]byte(out), &e); e.ErrorType != c.badType {
					t.Errorf("bad input: want errorType %s, got %s", c.badType, out)
				}
			}
		})
	}
}

type rieCase struct {
	env          []string
	payload      string
	check        func(t *testing.T, out string)
	bad, badType string
}

func rieHas(subs ...string) func(*testing.T, string) {
	return func(t *testing.T, out string) {
		t.Helper()
		for _, s := range subs {
			if !strings.Contains(out, s) {
				t.Errorf("answer lacks %s: %s", s, out)
			}
		}
	}
}

func rieEvent(detailType, key string) string {
	return fmt.Sprintf(`{"version":"0","id":"e1","detail-type":%q,"source":"aws.s3","account":"111122223333",`+
		`"time":"2024-05-01T12:00:00Z","region":"us-east-1","resources":["arn:aws:s3:::images"],`+
		`"detail":{"version":"0","bucket":{"name":"images"},"object":{"key":%q,"size":100,"etag":"abc","sequencer":"0055AED6DCD90281E5"}}}`,
		detailType, key)
}

// rieBuildEmulator builds cmd/aws-lambda-rie from the module cache (downloading the
// module through the proxy), or skips when that is impossible here.
func rieBuildEmulator(t *testing.T) string {
	t.Helper()
	dl := exec.Command("go", "mod", "download", "-json", rieModule)
	dl.Dir = t.TempDir() // outside any module: a plain download
	dl.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	raw, err := dl.Output()
	if err != nil {
		testkit.SkipUnlessCI(t, fmt.Sprintf("cannot download the Runtime Interface Emulator (%s): %v", rieModule, err))
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(raw, &info); err != nil || info.Dir == "" {
		testkit.SkipUnlessCI(t, fmt.Sprintf("cannot download the Runtime Interface Emulator: %s %s", raw, info.Error))
	}
	out := filepath.Join(t.TempDir(), "aws-lambda-rie")
	b := exec.Command("go", "build", "-o", out, "./cmd/aws-lambda-rie")
	b.Dir = info.Dir
	b.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
	if msg, err := b.CombinedOutput(); err != nil {
		testkit.SkipUnlessCI(t, fmt.Sprintf("cannot build the Runtime Interface Emulator: %v\n%s", err, msg))
	}
	return out
}

func rieFreeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// rieStart runs bootstrap under the emulator and waits until it accepts connections.
func rieStart(t *testing.T, rie, bootstrap string, env []string) string {
	t.Helper()
	addr, apiAddr := rieFreeAddr(t), rieFreeAddr(t)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, bootstrap)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_LAMBDA_FUNCTION_TIMEOUT=30",
	}, env...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the emulator starts bootstrap as a child
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("emulator and function logs:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulator not listening on %s after 30s: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(20 * time.Millisecond) // polling interval, bounded by the deadline
	}
	return "http://" + addr + "/2015-03-31/functions/function/invocations"
}

func rieInvoke(t *testing.T, url, payload string) string {
	t.Helper()
	c := &http.Client{Timeout: 60 * time.Second}
	resp, err := c.Post(url, "application/json", strings.NewReader(payload))
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func rieRedPNG(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{220, 30, 30, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rieFakeS3 is a path-style S3: GET (with Range), HEAD, PUT and DELETE of /bucket/key.
type rieFakeS3 struct {
	mu      sync.Mutex
	objects map[string][]byte
	srv     *httptest.Server
}

func rieNewFakeS3(t *testing.T) *rieFakeS3 {
	f := &rieFakeS3{objects: map[string][]byte{}}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *rieFakeS3) put(k string, b []byte) { f.mu.Lock(); f.objects[k] = b; f.mu.Unlock() }
func (f *rieFakeS3) get(k string) []byte    { f.mu.Lock(); defer f.mu.Unlock(); return f.objects[k] }

// keys returns the stored keys under prefix.
func (f *rieFakeS3) keys(prefix string) map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]bool{}
	for k := range f.objects {
		if strings.HasPrefix(k, prefix) {
			out[k] = true
		}
	}
	return out
}

func (f *rieFakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k := strings.TrimPrefix(r.URL.Path, "/")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		b := f.get(k)
		if b == nil {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `<Error><Code>NoSuchKey</Code><Message>no such key</Message><Key>%s</Key></Error>`, k)
			return
		}
		w.Header().Set("ETag", `"abc"`)
		http.ServeContent(w, r, k, time.Unix(0, 0), bytes.NewReader(b))
	case http.MethodPut:
		b, _ := io.ReadAll(r.Body)
		f.put(k, b)
		w.Header().Set("ETag", `"abc"`)
	case http.MethodDelete:
		f.mu.Lock()
		delete(f.objects, k)
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

// rieFakeOpenSearch answers the few requests the index adapter makes.
func rieFakeOpenSearch(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"message":"missing authentication"}`)
		return
	}
	p := r.URL.Path
	switch {
	case r.Method == http.MethodPut && p == "/images":
		io.WriteString(w, `{"acknowledged":true}`)
	case r.Method == http.MethodPut && strings.HasPrefix(p, "/images/_doc/") && r.URL.Query().Get("op_type") == "create":
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"result":"created","_seq_no":0,"_primary_term":1,"_version":1}`)
	case r.Method == http.MethodPost && p == "/images/_search":
		io.WriteString(w, `{"hits":{"total":{"value":1},"hits":[{"_source":{"id":"x","bucket":"images","key":"upload/red.png","thumbnail":"thumbnail/red.png","size":100,"uploadedAt":"2024-05-01T12:00:00Z","processedAt":"2024-05-01T12:00:01Z"}}]}}`)
	case r.Method == http.MethodGet && p == "/images/_count":
		io.WriteString(w, `{"count":3}`)
	default:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"found":false}`)
	}
}
