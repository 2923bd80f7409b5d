// Package twin composes the local twin: it deploys a synthesized CloudFormation
// template (the committed snapshot by default) onto local services that speak AWS's
// protocols on one edge listener — S3, Step Functions, SQS, Lambda (the functions'
// own bootstraps as processes under a Runtime API), Rekognition DetectLabels and the
// OpenSearch subset — and serves the web app and the template's API stage.
package twin

import (
	"github.com/imagepipe/imagepipe/local/awsid"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/local/apigw"
	"github.com/imagepipe/imagepipe/local/asl"
	"github.com/imagepipe/imagepipe/local/cfn"
	"github.com/imagepipe/imagepipe/local/cognito"
	"github.com/imagepipe/imagepipe/local/eventbus"
	"github.com/imagepipe/imagepipe/local/lambdart"
	"github.com/imagepipe/imagepipe/local/opensearch"
	"github.com/imagepipe/imagepipe/local/quota"
	"github.com/imagepipe/imagepipe/local/rekognition"
	"github.com/imagepipe/imagepipe/local/s3edge"
	"github.com/imagepipe/imagepipe/local/sfn"
	"github.com/imagepipe/imagepipe/local/sqs"
	"github.com/imagepipe/imagepipe/local/webapi"
)

// The twin's account and region: every ARN and URL it hands out uses them.
const (
	Region    = awsid.Region
	Account   = awsid.Account
	StackName = "ImagePipe"
)

// The names the twin gives the stack's resources it deploys from the template
// (<StackName>-<construct id>), for commands that reach a twin without reading the
// template; TestSnapshotDeploysTheNamedResources holds them to the snapshot.
const (
	PipelineName     = StackName + "-Pipeline"
	RemoveName       = StackName + "-Remove"
	RedriveJobName   = StackName + "-Redrive"
	FailureQueueName = StackName + "-FailureQueue"
)

// DefaultTemplate is the committed template snapshot `imagepipe serve` deploys when
// given no --template (relative to the repository root, where `make run` starts it).
const DefaultTemplate = "infra/snapshot/ImagePipe.template.json"

// FunctionARN is a function's ARN in the twin's account.
func FunctionARN(name string) string {
	return "arn:aws:lambda:" + Region + ":" + Account + ":function:" + name
}

// Config is what `imagepipe serve` takes.
type Config struct {
	DataDir            string
	EdgeAddr, HTTPAddr string
	WebDir             string
	// Template is a synthesized template file or a cdk.out folder (default
	// DefaultTemplate); FunctionsDir holds the bootstraps built for this machine
	// (default build/twin).
	Template, FunctionsDir string
	Workers                int            // executions open at once (0: 64)
	Invocations            int            // function invocations at once, twin-wide (0: four per CPU)
	Limits                 imaging.Limits // zero: imaging.DefaultLimits (Rekognition's own limits apply on top)
	// Quotas are the AWS service quotas the twin enforces (quota.Scaled(1): AWS's
	// defaults; the zero value: none). `imagepipe serve --quota-scale F` sets them.
	Quotas quota.Limits
	// ExpressDeliveries is how many times each asynchronous start of an EXPRESS
	// state machine runs (0: once): AWS runs Express workflows at least once, and
	// 2 makes the duplicate happen every time (`imagepipe serve --express-deliveries 2`).
	ExpressDeliveries int
	// AllowRemote permits non-loopback addresses; then AccessKeyID and SecretAccessKey
	// are required and checked on both listeners.
	AllowRemote                  bool
	AccessKeyID, SecretAccessKey string
	// Hosts are names besides loopback that requests may give as their Host (a
	// name the twin is reached by with --allow-remote); any other is refused.
	Hosts  []string
	Logger *slog.Logger
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
	lambda           *lambdart.Service
	search           map[string]*opensearch.Domain // by path prefix
	faults           *FaultTable
	auth             *auth
	cognito          *cognito.Service
	operator         *operatorAccount // the web app's sign-in on the twin (nil: none)
	names            stackNames
	quotas           quotaBuckets
	serveErr         chan error
	closeOnce        sync.Once
	// runCtx lives as long as the twin: work a request starts (a load test) uses it.
	runCtx    context.Context
	cancelRun context.CancelFunc
}

// Start deploys the template onto the twin: it opens the stores under cfg.DataDir,
// creates what the template declares, starts both listeners and resumes the
// executions a crash left running. It reads as the list of the twin's parts.
func Start(ctx context.Context, cfg Config) (_ *Twin, err error) {
	cfg = withDefaults(cfg)
	if err := checkAddrs(cfg); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	t := &Twin{cfg: cfg, log: cfg.Logger, faults: NewFaultTable(), quotas: newQuotaBuckets(cfg.Quotas), serveErr: make(chan error, 2)}
	t.runCtx, t.cancelRun = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			t.cancelRun()
			t.closeStores()
		}
	}()
	// Listen first: the template's URLs and the functions' endpoint name the edge.
	if err := t.listen(); err != nil {
		return nil, err
	}
	d, err := t.readTemplate()
	if err != nil {
		return nil, err
	}
	if t.names, err = namesFrom(d); err != nil {
		return nil, err
	}
	if t.auth, err = newAuth(d.template, t.accessKey(), t.secretKey(), t.log); err != nil {
		return nil, err
	}
	if err := t.startQueues(ctx, d); err != nil {
		return nil, err
	}
	if err := t.startSearch(d); err != nil {
		return nil, err
	}
	if err := t.startCognito(d); err != nil {
		return nil, err
	}
	if err := t.ensureOperator(ctx, d); err != nil {
		return nil, err
	}
	if err := t.startFunctions(d); err != nil {
		return nil, err
	}
	if err := t.startStateMachines(d); err != nil {
		return nil, err
	}
	router, err := t.rules(d)
	if err != nil {
		return nil, err
	}
	if t.objects, err = s3edge.New(filepath.Join(cfg.DataDir, "objects"), s3edge.Options{
		Buckets: d.buckets, Events: func(b string) bool { return d.events[b] }, Emit: router.Dispatch, Logger: t.log, Rates: t.quotas.s3,
		ExpirationRules: func(b string) []s3edge.ExpirationRule { return d.expiration[b] },
		PostAuth:        t.auth,
		UploadExpiryDays: func(b, k string) int {
			if f := d.uploadExpiry[b]; f != nil {
				return f(k)
			}
			return 0
		},
	}); err != nil {
		return nil, err
	}
	api, err := apigw.New(d.api, apigw.Options{Region: Region, Account: Account, Invoker: t.lambda, Logger: t.log, BasePath: "/api",
		Authorize: t.auth.apiAuthorizer})
	if err != nil {
		return nil, fmt.Errorf("API Gateway: %w", err)
	}
	edge := t.edge(d, rekognition.New(rekognition.Options{Objects: t.objects, Logger: t.log, Limits: cfg.Limits,
		TPS: t.quotas.rekognition}))
	t.edgeSrv = &http.Server{Handler: t.hostGuard(t.serviceCORS(d.cors, t.auth.edgeAuth(edge))), ReadHeaderTimeout: 10 * time.Second}
	t.httpSrv = &http.Server{Handler: t.hostGuard(t.webGuard(t.web(api.Handler(), d))), ReadHeaderTimeout: 10 * time.Second}
	go func() { t.serveErr <- serve(t.edgeSrv, t.edgeLn) }()
	go func() { t.serveErr <- serve(t.httpSrv, t.httpLn) }()
	t.executions.Resume(ctx) // executions a crash left running run again now that S3 answers
	d.logStandIns(t.log)
	t.log.Info("twin started", "edge", t.EdgeURL(), "http", t.HTTPURL(), "data", cfg.DataDir,
		"template", cfg.Template, "functions", len(d.functions), "stateMachines", len(d.machines))
	return t, nil
}

func withDefaults(cfg Config) Config {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// Executions mostly wait (retry back-off, S3 round trips), so many may be open at
	// once; the CPU-heavy part, function invocations, is bounded separately.
	if cfg.Workers <= 0 {
		cfg.Workers = 64
	}
	if cfg.Invocations <= 0 {
		cfg.Invocations = 4 * runtime.GOMAXPROCS(0)
	}
	if cfg.Limits == (imaging.Limits{}) {
		cfg.Limits = imaging.DefaultLimits
	}
	if cfg.Template == "" {
		cfg.Template = DefaultTemplate
	}
	if cfg.FunctionsDir == "" {
		cfg.FunctionsDir = filepath.Join("build", "twin")
	}
	return cfg
}

func (t *Twin) listen() (err error) {
	if t.edgeLn, err = net.Listen("tcp", t.cfg.EdgeAddr); err != nil {
		return fmt.Errorf("edge listener: %w", err)
	}
	if t.httpLn, err = net.Listen("tcp", t.cfg.HTTPAddr); err != nil {
		return fmt.Errorf("web listener: %w", err)
	}
	return nil
}

// readTemplate loads and resolves the template with the twin's own addresses for
// what AWS would host elsewhere, and sorts its resources into the twin's services.
func (t *Twin) readTemplate() (*deployment, error) {
	raw, err := cfn.Load(t.cfg.Template)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	tmpl, err := cfn.Resolve(raw, cfn.Options{
		StackName: StackName, Region: Region, Account: Account, Partition: awsid.Partition, URLSuffix: "amazonaws.com",
		Attr: t.attr,
	})
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", t.cfg.Template, err)
	}
	return readDeployment(tmpl, t.cfg.FunctionsDir)
}

// attr gives the attributes whose values are the twin's own URLs.
func (t *Twin) attr(r *cfn.Resource, attr string) (any, bool) {
	return t.attrAt(t.EdgeURL(), t.httpLn.Addr().String(), r, attr)
}

func (*Twin) attrAt(edgeURL, webHost string, r *cfn.Resource, attr string) (any, bool) {
	switch {
	case r.Type == "AWS::SQS::Queue" && (attr == "Ref" || attr == "QueueUrl"):
		return edgeURL + "/" + Account + "/" + r.Name, true
	case r.Type == "AWS::CloudFront::Distribution" && attr == "DomainName":
		// The web listener stands in for the distribution (bucket CORS rules,
		// ALLOWED_ORIGIN): its host, which the template prefixes with https://.
		return webHost, true
	case r.Type == "AWS::OpenSearchService::Domain" && attr == "DomainEndpoint":
		// AWS gives a bare host (the functions add https://); the twin's domain is a
		// path on the plain-HTTP edge, so it gives a whole URL.
		return edgeURL + opensearch.PathPrefix(Region, r.Name), true
	}
	return nil, false
}

// startSearch opens one OpenSearch domain per template domain, each on its own path
// of the edge and in its own folder.
func (t *Twin) startSearch(d *deployment) error {
	t.search = map[string]*opensearch.Domain{}
	for _, name := range d.domains {
		prefix := opensearch.PathPrefix(Region, name)
		dom, err := opensearch.Open(prefix, filepath.Join(t.cfg.DataDir, "opensearch", name), t.log)
		if err != nil {
			return fmt.Errorf("OpenSearch domain %s: %w", name, err)
		}
		// Replicas the domain's nodes cannot hold stay unassigned: a yellow cluster,
		// as in AWS.
		dom.SetDataNodes(d.dataNodes[name])
		t.search[prefix] = dom
	}
	return nil
}

// startCognito serves the template's user and identity pools; the credentials an
// identity gets act, on the edge, as the role the pool's role attachment gives it.
func (t *Twin) startCognito(d *deployment) (err error) {
	if len(d.cognito) == 0 {
		return nil
	}
	var active []*cfn.Resource
	for _, id := range d.template.Order {
		if r := d.template.Resources[id]; r.Active {
			active = append(active, r)
		}
	}
	t.cognito, err = cognito.New(active, cognito.Options{Region: Region, Account: Account, DataDir: filepath.Join(t.cfg.DataDir, "cognito"), Logger: t.log,
		AssumeRole: func(role string, ctx map[string][]string) error {
			if dec := t.auth.policies.CanAssume(role, "cognito-identity.amazonaws.com", "sts:AssumeRoleWithWebIdentity", ctx); !dec.Allowed {
				return errors.New(dec.Reason)
			}
			return nil
		}})
	if err != nil {
		return fmt.Errorf("cognito: %w", err)
	}
	t.auth.identities = t.cognito
	return nil
}

func (t *Twin) startQueues(ctx context.Context, d *deployment) (err error) {
	if t.queue, err = sqs.Open(filepath.Join(t.cfg.DataDir, "queue.db"), sqs.Options{BaseURL: t.EdgeURL(), Logger: t.log}); err != nil {
		return err
	}
	for _, q := range d.queues {
		if _, err := t.queue.CreateQueue(ctx, q.name, q.attrs); err != nil {
			return fmt.Errorf("queue %s: %w", q.name, err)
		}
	}
	return nil
}

// startFunctions registers the template's functions with the Lambda service; their
// processes start on first use. Each calls AWS through the edge (AWS_ENDPOINT_URL,
// the SDK's standard variable) with credentials for a session of its own role.
func (t *Twin) startFunctions(d *deployment) error {
	if err := t.auth.checkFunctionRoles(d.functions); err != nil {
		return err
	}
	t.lambda = lambdart.New(lambdart.Options{Logger: t.log, MaxConcurrency: t.cfg.Invocations, Region: Region,
		Credentials: t.auth.functionCredentials, AccountConcurrency: t.cfg.Quotas.LambdaConcurrency})
	fns := make([]lambdart.Function, len(d.functions))
	for i, fn := range d.functions {
		fn.Env = maps.Clone(fn.Env)
		fn.Env["AWS_ENDPOINT_URL"] = t.EdgeURL()
		fns[i] = fn
	}
	return t.lambda.Deploy(fns)
}

func (t *Twin) startStateMachines(d *deployment) (err error) {
	tasks := newTaskAuth(t.auth, faultInvoker{next: t.lambda, table: t.faults, commands: d.commands}, t.queue)
	if t.executions, err = sfn.Open(filepath.Join(t.cfg.DataDir, "executions.db"), sfn.Options{
		Workers: t.cfg.Workers, Invoker: tasks, Queue: tasks, Clock: asl.RealClock{}, Logger: t.log,
		StartExecutions: t.quotas.starts, Transitions: t.quotas.transitions,
		ExpressDeliveries: t.cfg.ExpressDeliveries,
	}); err != nil {
		return err
	}
	for _, m := range d.machines {
		if _, err := t.executions.CreateStateMachineOfType(m.name, m.kind, m.definition, m.role); err != nil {
			return fmt.Errorf("state machine %s (%s): %w", m.logicalID, m.name, err)
		}
	}
	return nil
}

// rules routes S3's events to the state machines through the template's rules,
// within the account's EventBridge invocation rate.
func (t *Twin) rules(d *deployment) (*eventbus.Router, error) {
	var rules []eventbus.Rule
	for _, r := range d.rules {
		for _, target := range r.targets {
			rules = append(rules, eventbus.Rule{Name: r.name, Pattern: r.pattern,
				Target: eventbus.Throttled(r.name, t.ruleTarget(r.name, target), t.quotas.invocations, t.log)})
		}
	}
	return eventbus.NewRouter(rules...)
}

// web is the browser-facing server: the web app with its config.json, the API stage
// under /api/, and the fault switches for the developer identity.
func (t *Twin) web(api http.Handler, d *deployment) http.Handler {
	faultNames := slices.Sorted(maps.Values(d.commands))
	faults := t.auth.developerOnly(t.faults.Handler(faultNames))
	return webapi.New(webapi.Config{
		API:       api,
		AppConfig: t.appConfig,
		WebDir:    t.cfg.WebDir,
		Controls: map[string]http.Handler{"GET " + FaultsPath: faults, "PUT " + FaultsPath + "/{function}": faults,
			"GET " + QuotasPath: t.auth.developerOnly(t.quotas.handler(t.objects))},
		Logger: t.log,
	})
}

func serve(srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// starter starts an execution of the state machine for an event; it returns once the
// execution is durable, so the S3 write that raised the event can be acknowledged.
// A start StartExecution's quota throttles is retried with backoff and jitter, as
// EventBridge retries a throttled target (up to 24 hours and 185 attempts by
// default); past startRetryFor the error goes back to the S3 edge, whose outbox
// delivers the event again. (AWS answers the upload at once and retries in the
// background; the twin holds the upload's answer while it retries.)
func (t *Twin) starter(smARN string) func(ctx context.Context, event []byte) error {
	return func(ctx context.Context, event []byte) error {
		wait := 50 * time.Millisecond
		deadline := time.Now().Add(startRetryFor)
		for {
			_, err := t.executions.Start(ctx, smARN, "", string(event))
			if !sfn.IsErrorType(err, sfn.ErrThrottled.Type) || time.Now().After(deadline) {
				return err
			}
			t.log.Info("EventBridge target throttled; retrying", "target", smARN, "error", sfn.ErrThrottled.Type)
			timer := time.NewTimer(time.Duration(rand.Int64N(int64(wait))) + time.Millisecond)
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				return err
			}
			wait = min(2*wait, 2*time.Second)
		}
	}
}

// startRetryFor bounds how long one delivery retries a throttled start.
const startRetryFor = 30 * time.Second

// EdgeURL is the AWS-compatible endpoint.
func (t *Twin) EdgeURL() string { return "http://" + t.edgeLn.Addr().String() }

// HTTPURL is the web app and API.
func (t *Twin) HTTPURL() string { return "http://" + t.httpLn.Addr().String() }

// PipelineARN is the pipeline state machine's ARN.
func (t *Twin) PipelineARN() string { return t.names.pipelineARN }

// Bucket is the images bucket.
func (t *Twin) Bucket() string { return t.names.bucket }

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
	if t.lambda != nil { // first: a function process may still be calling the stores
		errs = append(errs, t.lambda.Close(context.Background()))
	}
	if t.cognito != nil {
		errs = append(errs, t.cognito.Close())
	}
	if t.objects != nil {
		errs = append(errs, t.objects.Close())
	}
	if t.queue != nil {
		errs = append(errs, t.queue.Close())
	}
	for _, dom := range t.search {
		errs = append(errs, dom.Close())
	}
	if t.edgeLn != nil {
		t.edgeLn.Close()
	}
	if t.httpLn != nil {
		t.httpLn.Close()
	}
	return errors.Join(errs...)
}
