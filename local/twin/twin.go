// Package twin composes the local twin: the S3, Step Functions and SQS endpoints on
// one edge listener, the same ASL definitions and Lambda handlers as AWS, the embedded
// search index, and the web app and API server.
package twin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/imagepipe/imagepipe/functions/api"
	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/labels"
	"github.com/imagepipe/imagepipe/functions/metadata"
	"github.com/imagepipe/imagepipe/functions/objects"
	"github.com/imagepipe/imagepipe/functions/redrive"
	"github.com/imagepipe/imagepipe/functions/searchindex"
	"github.com/imagepipe/imagepipe/functions/steps/detectlabels"
	"github.com/imagepipe/imagepipe/functions/steps/extractmetadata"
	"github.com/imagepipe/imagepipe/functions/steps/indexdocument"
	"github.com/imagepipe/imagepipe/functions/steps/makethumbnail"
	"github.com/imagepipe/imagepipe/functions/steps/removedocument"
	"github.com/imagepipe/imagepipe/local/asl"
	"github.com/imagepipe/imagepipe/local/eventbus"
	"github.com/imagepipe/imagepipe/local/s3edge"
	"github.com/imagepipe/imagepipe/local/sfn"
	"github.com/imagepipe/imagepipe/local/sqs"
	"github.com/imagepipe/imagepipe/local/webapi"
	"github.com/imagepipe/imagepipe/statemachine"
)

// The twin's fixed names, as a deployed stack would have them.
const (
	Bucket       = "images"
	Region       = "us-east-1"
	Account      = "000000000000"
	PipelineName = "imagepipe-pipeline"
	RemoveName   = "imagepipe-remove"
	QueueName    = "imagepipe-failures"
	roleARN      = "arn:aws:iam::" + Account + ":role/imagepipe-state-machine"
)

// Function names, as deployed (functions/cmd/<name>).
var functionNames = []string{"extract-metadata", "detect-labels", "make-thumbnail", "index-document", "remove-document"}

// FunctionARN is the ARN the twin substitutes for a function name.
func FunctionARN(name string) string {
	return "arn:aws:lambda:" + Region + ":" + Account + ":function:imagepipe-" + name
}

// Config is what `imagepipe serve` takes.
type Config struct {
	DataDir            string
	EdgeAddr, HTTPAddr string
	WebDir             string
	Workers            int            // executions open at once (0: 64)
	Invocations        int            // handler invocations at once (0: twice the CPUs)
	Limits             imaging.Limits // zero: imaging.DefaultLimits
	// AllowRemote permits non-loopback addresses; then AccessKeyID and SecretAccessKey
	// are required and checked on both listeners.
	AllowRemote                  bool
	AccessKeyID, SecretAccessKey string
	Logger                       *slog.Logger
}

// Twin is a running twin.
type Twin struct {
	cfg              Config
	log              *slog.Logger
	edgeLn, httpLn   net.Listener
	edgeSrv, httpSrv *http.Server
	objects          *s3edge.Server
	queue            *sqs.Service
	executions       *sfn.Service
	index            *searchindex.Bleve
	faults           *FaultTable
	pipelineARN      string
	removeARN        string
	serveErr         chan error
	closeOnce        sync.Once
	// runCtx lives as long as the twin: work a request starts (a load test) uses it.
	runCtx    context.Context
	cancelRun context.CancelFunc
}

// Start opens the stores under cfg.DataDir, starts both listeners and resumes the
// executions a crash left running.
func Start(ctx context.Context, cfg Config) (_ *Twin, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// Executions mostly wait (retry back-off, S3 round trips), so many may be open at
	// once; the CPU-heavy part, handler invocations, is bounded separately.
	if cfg.Workers <= 0 {
		cfg.Workers = 64
	}
	if cfg.Invocations <= 0 {
		cfg.Invocations = 2 * runtime.GOMAXPROCS(0)
	}
	if cfg.Limits == (imaging.Limits{}) {
		cfg.Limits = imaging.DefaultLimits
	}
	if err := checkAddrs(cfg); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	t := &Twin{cfg: cfg, log: cfg.Logger, faults: NewFaultTable(), serveErr: make(chan error, 2)}
	t.runCtx, t.cancelRun = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			t.cancelRun()
			t.closeStores()
		}
	}()
	// Listen first: the handlers' S3 client needs the edge's real address.
	if t.edgeLn, err = net.Listen("tcp", cfg.EdgeAddr); err != nil {
		return nil, fmt.Errorf("edge listener: %w", err)
	}
	if t.httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		t.edgeLn.Close()
		return nil, fmt.Errorf("web listener: %w", err)
	}
	edgeURL := t.EdgeURL()

	if t.queue, err = sqs.Open(filepath.Join(cfg.DataDir, "queue.db"), sqs.Options{BaseURL: edgeURL, Logger: t.log}); err != nil {
		return nil, err
	}
	queueURL, err := t.queue.CreateQueue(ctx, QueueName, nil)
	if err != nil {
		return nil, err
	}
	if t.index, err = searchindex.OpenBleve(filepath.Join(cfg.DataDir, "index.bleve")); err != nil {
		return nil, err
	}

	awsCfg := aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider(t.accessKey(), t.secretKey(), ""),
	}
	s3Client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(edgeURL)
		o.UsePathStyle = true
	})
	store := objects.Store{S3: s3Client}
	index := t.index

	// The same handlers the Lambdas run, behind lambda.NewHandler so the JSON path is
	// the one AWS runs, each wrapped in its fault switch.
	handlers := map[string]any{
		"extract-metadata": extractmetadata.Handler{Store: store, Limits: cfg.Limits}.Handle,
		"detect-labels": detectlabels.Handler{Labeler: labels.Local{
			Store: store, Limits: cfg.Limits, Orientation: orientation,
		}}.Handle,
		"make-thumbnail":  makethumbnail.Handler{Store: store, Limits: cfg.Limits, Size: 80, PreviewSize: 640}.Handle,
		"index-document":  indexdocument.Handler{Index: index, Now: time.Now}.Handle,
		"remove-document": removedocument.Handler{Index: index, Store: store}.Handle,
	}
	fns := asl.Functions{}
	for _, name := range functionNames {
		fns[FunctionARN(name)] = lambda.NewHandler(handlers[name])
	}
	invoker := faultInvoker{next: fns, table: t.faults, slots: make(chan struct{}, cfg.Invocations)}

	if t.executions, err = sfn.Open(filepath.Join(cfg.DataDir, "executions.db"), sfn.Options{
		Workers: cfg.Workers, Invoker: invoker, Queue: t.queue, Clock: asl.RealClock{}, Logger: t.log,
	}); err != nil {
		return nil, err
	}
	vars := map[string]string{"FailureQueueUrl": queueURL}
	for _, name := range functionNames {
		vars[camel(name)+"FunctionArn"] = FunctionARN(name)
	}
	for _, d := range []struct {
		name string
		def  []byte
		arn  *string
	}{{PipelineName, statemachine.Pipeline(), &t.pipelineARN}, {RemoveName, statemachine.Remove(), &t.removeARN}} {
		def, err := statemachine.Substitute(d.def, vars)
		if err != nil {
			return nil, fmt.Errorf("state machine %s: %w", d.name, err)
		}
		if *d.arn, err = t.executions.CreateStateMachine(d.name, string(def), roleARN); err != nil {
			return nil, fmt.Errorf("state machine %s: %w", d.name, err)
		}
	}

	// Events from S3 reach the state machines through the rules' own patterns.
	router, err := eventbus.NewRouter(
		eventbus.Rule{Name: "object-created", Pattern: statemachine.ObjectCreatedPattern(Bucket), Target: t.starter(t.pipelineARN)},
		eventbus.Rule{Name: "object-deleted", Pattern: statemachine.ObjectDeletedPattern(Bucket), Target: t.starter(t.removeARN)},
	)
	if err != nil {
		return nil, err
	}
	if t.objects, err = s3edge.New(filepath.Join(cfg.DataDir, "objects"), s3edge.Options{Bucket: Bucket, Emit: router.Dispatch, Logger: t.log}); err != nil {
		return nil, err
	}

	sqsClient := awssqs.NewFromConfig(awsCfg, func(o *awssqs.Options) { o.BaseEndpoint = aws.String(edgeURL) })
	sfnClient := awssfn.NewFromConfig(awsCfg, func(o *awssfn.Options) { o.BaseEndpoint = aws.String(edgeURL) })
	redriver := &redrive.Redriver{SQS: sqsClient, SFN: sfnClient, QueueURL: queueURL, PipelineArn: t.pipelineARN, RemoveArn: t.removeARN, Logger: t.log}
	// The load tester outlives the request that starts it, not the twin.
	load := &loadRunner{s3: s3Client, apiURL: t.HTTPURL(), baseCtx: t.runCtx}
	web := webapi.New(webapi.Config{
		Search:        api.Search{Index: index, URLs: localURLs{}, Logger: t.log}.Handle,
		Ping:          api.Ping{Index: index, Logger: t.log}.Handle,
		Documents:     index,
		Failures:      failures{queue: t.queue, queueName: QueueName, redriver: redriver},
		S3:            s3Client,
		EdgeURL:       edgeURL,
		Bucket:        Bucket,
		StateMachines: []string{t.pipelineARN, t.removeARN},
		WebDir:        cfg.WebDir,
		Extra: map[string]http.Handler{
			"GET /api/faults":            t.faults.Handler(functionNames),
			"PUT /api/faults/{function}": t.faults.Handler(functionNames),
			"POST /api/load":             http.HandlerFunc(load.start),
			"GET /api/load":              http.HandlerFunc(load.status),
		},
		Logger: t.log,
	})

	edge := edgeHandler(t.objects.Handler(), t.executions.Handler(), t.queue.Handler())
	t.edgeSrv = &http.Server{Handler: t.guard(edge), ReadHeaderTimeout: 10 * time.Second}
	t.httpSrv = &http.Server{Handler: t.guard(web), ReadHeaderTimeout: 10 * time.Second}
	go func() { t.serveErr <- serve(t.edgeSrv, t.edgeLn) }()
	go func() { t.serveErr <- serve(t.httpSrv, t.httpLn) }()
	t.executions.Resume(ctx) // executions a crash left running run again now that S3 answers
	t.log.Info("twin started", "edge", edgeURL, "http", t.HTTPURL(), "data", cfg.DataDir, "workers", cfg.Workers)
	return t, nil
}

func serve(srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// edgeHandler dispatches the AWS JSON protocols by X-Amz-Target; everything else is S3.
func edgeHandler(s3h, sfnh, sqsh http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := r.Header.Get("X-Amz-Target")
		switch {
		case strings.HasPrefix(target, "AWSStepFunctions."):
			sfnh.ServeHTTP(w, r)
		case strings.HasPrefix(target, "AmazonSQS."):
			sqsh.ServeHTTP(w, r)
		default:
			s3h.ServeHTTP(w, r)
		}
	})
}

// starter starts an execution of the state machine for an event; it returns once the
// execution is durable, so the S3 write that raised the event can be acknowledged.
func (t *Twin) starter(smARN string) func(ctx context.Context, event []byte) error {
	return func(ctx context.Context, event []byte) error {
		_, err := t.executions.Start(ctx, smARN, "", string(event))
		return err
	}
}

// EdgeURL is the AWS-compatible endpoint.
func (t *Twin) EdgeURL() string { return "http://" + t.edgeLn.Addr().String() }

// HTTPURL is the web app and API.
func (t *Twin) HTTPURL() string { return "http://" + t.httpLn.Addr().String() }

// PipelineARN is the pipeline state machine's ARN.
func (t *Twin) PipelineARN() string { return t.pipelineARN }

// Close stops accepting requests, lets running executions finish until ctx ends (the
// rest resume at the next start), and closes the stores.
func (t *Twin) Close(ctx context.Context) error {
	var errs []error
	t.closeOnce.Do(func() {
		t.cancelRun()
		errs = append(errs, t.edgeSrvShutdownAfterExecutions(ctx)...)
		errs = append(errs, t.closeStores())
	})
	return errors.Join(errs...)
}

// The web listener closes first (no new uploads), then executions drain while the
// edge still answers their S3 and SQS calls, then the edge closes.
func (t *Twin) edgeSrvShutdownAfterExecutions(ctx context.Context) []error {
	var errs []error
	if t.httpSrv != nil {
		errs = append(errs, t.httpSrv.Shutdown(ctx))
	}
	if t.executions != nil {
		errs = append(errs, t.executions.Close(ctx))
	}
	if t.edgeSrv != nil {
		errs = append(errs, t.edgeSrv.Shutdown(ctx))
	}
	return errs
}

func (t *Twin) closeStores() error {
	var errs []error
	if t.objects != nil {
		errs = append(errs, t.objects.Close())
	}
	if t.queue != nil {
		errs = append(errs, t.queue.Close())
	}
	if t.index != nil {
		errs = append(errs, t.index.Close())
	}
	if t.edgeLn != nil {
		t.edgeLn.Close()
	}
	if t.httpLn != nil {
		t.httpLn.Close()
	}
	return errors.Join(errs...)
}

// camel turns "extract-metadata" into "ExtractMetadata".
func camel(s string) string {
	parts := strings.Split(s, "-")
	for i, p := range parts {
		parts[i] = strings.ToUpper(p[:1]) + p[1:]
	}
	return strings.Join(parts, "")
}

// localURLs gives browsers the twin's own object route for thumbnails and previews.
type localURLs struct{}

func (localURLs) URL(_ context.Context, _, key string) (string, error) {
	return webapi.ObjectURL(key), nil
}

// failures adapts the queue and the redriver to the web API.
type failures struct {
	queue     *sqs.Service
	queueName string
	redriver  *redrive.Redriver
}

func (f failures) List(ctx context.Context) ([]webapi.FailureMessage, error) {
	msgs, err := f.queue.List(ctx, f.queueName)
	if err != nil {
		return nil, err
	}
	out := make([]webapi.FailureMessage, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, webapi.FailureMessage{
			MessageID: m.MessageID, SentTimestamp: m.SentAt.UnixMilli(), ReceiveCount: m.ReceiveCount, Body: rawBody(m.Body),
		})
	}
	return out, nil
}

func (f failures) Redrive(ctx context.Context) (int, int, error) {
	rep, err := f.redriver.FromQueue(ctx)
	return rep.Started + rep.Existing, rep.Failed, err
}

// orientation reads the EXIF orientation for the local labeler (1 when unknown).
func orientation(data []byte) int {
	md, err := metadata.ExtractBytes(data, imaging.DefaultLimits)
	if err != nil || md.Orientation == 0 {
		return 1
	}
	return md.Orientation
}

// rand01 is the fault switch's random source.
func rand01() float64 { return rand.Float64() }
