package iam

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Env is the account the twin stands for: ARNs are built in it.
type Env struct{ Partition, Region, Account string }

// ARN is arn:<partition>:<service>:<region>:<account>:<resource>.
func (e Env) ARN(service, region, account, resource string) string {
	p := e.Partition
	if p == "" {
		p = "aws"
	}
	return "arn:" + p + ":" + service + ":" + region + ":" + account + ":" + resource
}

// Need is one permission a call needs: Authorize(principal, Action, Resource,
// ctx) with Context added to the request context.
type Need struct {
	Action, Resource string
	// Context holds the service-specific condition keys the call gives
	// (s3:if-none-match, s3:prefix...); nil when none.
	Context map[string][]string
}

// Row is one line of Table: a call needs Action on Resource (when When holds).
type Row struct {
	Service   string // the SigV4 signing name: s3, states, sqs, lambda, rekognition, es
	Operation string
	Action    string
	Resource  string // which ARN: one of the On* kinds
	When      string // "" always; else the request feature that adds (or swaps in) it
}

// The resources a Row's action applies to.
const (
	OnAll             = "*"
	OnBucket          = "bucket"                   // arn:aws:s3:::<bucket>
	OnObject          = "object"                   // arn:aws:s3:::<bucket>/<key>
	OnEachKey         = "each key of the body"     // DeleteObjects: one Need per key
	OnCopySource      = "x-amz-copy-source object" // CopyObject, UploadPartCopy
	OnStateMachine    = "stateMachineArn"
	OnNewStateMachine = "stateMachine:<name>"
	OnExecution       = "executionArn"
	OnRole            = "roleArn" // iam:PassRole
	OnQueue           = "QueueUrl"
	OnQueueName       = "QueueName"
	OnFunction        = "function" // from the path, with its qualifier
	OnImageObject     = "Image.S3Object"
	OnDomainPath      = "domain/<domain>/<path>"
)

// The request features a Row's When names.
const (
	WhenVersion   = "versionId"
	WhenNoVersion = "no versionId"
	WhenTagging   = "x-amz-tagging"
	WhenACL       = "x-amz-acl or x-amz-grant-*"
	WhenRoleArn   = "roleArn in the body"
	WhenS3Object  = "Image.S3Object in the body"
)

// Table is what each AWS API call the twin serves needs, from the Service
// Authorization Reference ("Actions, resources, and condition keys") and each
// API's "Permissions" section; ActionFor reads it.
var Table = append(append(append(s3Rows, sfnRows...), sqsRows...), append(lambdaRows, otherRows...)...)

var s3Rows = []Row{
	{"s3", "ListBuckets", "s3:ListAllMyBuckets", OnAll, ""},
	{"s3", "HeadBucket", "s3:ListBucket", OnBucket, ""},
	{"s3", "ListObjects", "s3:ListBucket", OnBucket, ""},
	{"s3", "ListObjectsV2", "s3:ListBucket", OnBucket, ""},
	{"s3", "ListObjectVersions", "s3:ListBucketVersions", OnBucket, ""},
	{"s3", "ListMultipartUploads", "s3:ListBucketMultipartUploads", OnBucket, ""},
	{"s3", "GetBucketLocation", "s3:GetBucketLocation", OnBucket, ""},
	{"s3", "GetBucketCors", "s3:GetBucketCORS", OnBucket, ""},
	{"s3", "PutBucketCors", "s3:PutBucketCORS", OnBucket, ""},
	{"s3", "DeleteBucketCors", "s3:PutBucketCORS", OnBucket, ""},
	{"s3", "GetBucketNotificationConfiguration", "s3:GetBucketNotification", OnBucket, ""},
	{"s3", "PutBucketNotificationConfiguration", "s3:PutBucketNotification", OnBucket, ""},
	{"s3", "GetBucketPolicy", "s3:GetBucketPolicy", OnBucket, ""},
	{"s3", "PutBucketPolicy", "s3:PutBucketPolicy", OnBucket, ""},
	{"s3", "DeleteBucketPolicy", "s3:DeleteBucketPolicy", OnBucket, ""},
	{"s3", "GetBucketVersioning", "s3:GetBucketVersioning", OnBucket, ""},
	{"s3", "GetBucketTagging", "s3:GetBucketTagging", OnBucket, ""},
	{"s3", "CreateBucket", "s3:CreateBucket", OnBucket, ""},
	{"s3", "DeleteBucket", "s3:DeleteBucket", OnBucket, ""},
	{"s3", "GetObject", "s3:GetObject", OnObject, WhenNoVersion},
	{"s3", "GetObject", "s3:GetObjectVersion", OnObject, WhenVersion},
	{"s3", "HeadObject", "s3:GetObject", OnObject, WhenNoVersion},
	{"s3", "HeadObject", "s3:GetObjectVersion", OnObject, WhenVersion},
	{"s3", "GetObjectTagging", "s3:GetObjectTagging", OnObject, ""},
	{"s3", "PutObjectTagging", "s3:PutObjectTagging", OnObject, ""},
	{"s3", "DeleteObjectTagging", "s3:DeleteObjectTagging", OnObject, ""},
	{"s3", "GetObjectAcl", "s3:GetObjectAcl", OnObject, ""},
	{"s3", "PutObjectAcl", "s3:PutObjectAcl", OnObject, ""},
	{"s3", "PutObject", "s3:PutObject", OnObject, ""},
	{"s3", "PutObject", "s3:PutObjectTagging", OnObject, WhenTagging},
	{"s3", "PutObject", "s3:PutObjectAcl", OnObject, WhenACL},
	{"s3", "CopyObject", "s3:PutObject", OnObject, ""},
	{"s3", "CopyObject", "s3:GetObject", OnCopySource, WhenNoVersion},
	{"s3", "CopyObject", "s3:GetObjectVersion", OnCopySource, WhenVersion},
	{"s3", "CopyObject", "s3:PutObjectTagging", OnObject, WhenTagging},
	{"s3", "CopyObject", "s3:PutObjectAcl", OnObject, WhenACL},
	{"s3", "DeleteObject", "s3:DeleteObject", OnObject, WhenNoVersion},
	{"s3", "DeleteObject", "s3:DeleteObjectVersion", OnObject, WhenVersion},
	{"s3", "DeleteObjects", "s3:DeleteObject", OnEachKey, ""},
	{"s3", "CreateMultipartUpload", "s3:PutObject", OnObject, ""},
	{"s3", "CreateMultipartUpload", "s3:PutObjectTagging", OnObject, WhenTagging},
	{"s3", "CreateMultipartUpload", "s3:PutObjectAcl", OnObject, WhenACL},
	{"s3", "UploadPart", "s3:PutObject", OnObject, ""},
	{"s3", "UploadPartCopy", "s3:PutObject", OnObject, ""},
	{"s3", "UploadPartCopy", "s3:GetObject", OnCopySource, WhenNoVersion},
	{"s3", "UploadPartCopy", "s3:GetObjectVersion", OnCopySource, WhenVersion},
	{"s3", "CompleteMultipartUpload", "s3:PutObject", OnObject, ""},
	{"s3", "AbortMultipartUpload", "s3:AbortMultipartUpload", OnObject, ""},
	{"s3", "ListParts", "s3:ListMultipartUploadParts", OnObject, ""},
}

var sfnRows = []Row{
	{"states", "StartExecution", "states:StartExecution", OnStateMachine, ""},
	{"states", "StartSyncExecution", "states:StartSyncExecution", OnStateMachine, ""},
	{"states", "ListExecutions", "states:ListExecutions", OnStateMachine, ""},
	{"states", "DescribeStateMachine", "states:DescribeStateMachine", OnStateMachine, ""},
	{"states", "DeleteStateMachine", "states:DeleteStateMachine", OnStateMachine, ""},
	{"states", "UpdateStateMachine", "states:UpdateStateMachine", OnStateMachine, ""},
	{"states", "UpdateStateMachine", "iam:PassRole", OnRole, WhenRoleArn},
	{"states", "CreateStateMachine", "states:CreateStateMachine", OnNewStateMachine, ""},
	{"states", "CreateStateMachine", "iam:PassRole", OnRole, WhenRoleArn},
	{"states", "DescribeExecution", "states:DescribeExecution", OnExecution, ""},
	{"states", "DescribeStateMachineForExecution", "states:DescribeStateMachineForExecution", OnExecution, ""},
	{"states", "GetExecutionHistory", "states:GetExecutionHistory", OnExecution, ""},
	{"states", "StopExecution", "states:StopExecution", OnExecution, ""},
	{"states", "RedriveExecution", "states:RedriveExecution", OnExecution, ""},
	{"states", "ListStateMachines", "states:ListStateMachines", OnAll, ""},
	{"states", "ValidateStateMachineDefinition", "states:ValidateStateMachineDefinition", OnAll, ""},
	{"states", "TestState", "states:TestState", OnAll, ""},
	{"states", "TestState", "iam:PassRole", OnRole, WhenRoleArn},
	{"states", "SendTaskSuccess", "states:SendTaskSuccess", OnAll, ""},
	{"states", "SendTaskFailure", "states:SendTaskFailure", OnAll, ""},
	{"states", "SendTaskHeartbeat", "states:SendTaskHeartbeat", OnAll, ""},
}

var sqsRows = []Row{
	{"sqs", "SendMessage", "sqs:SendMessage", OnQueue, ""},
	{"sqs", "SendMessageBatch", "sqs:SendMessage", OnQueue, ""},
	{"sqs", "ReceiveMessage", "sqs:ReceiveMessage", OnQueue, ""},
	{"sqs", "DeleteMessage", "sqs:DeleteMessage", OnQueue, ""},
	{"sqs", "DeleteMessageBatch", "sqs:DeleteMessage", OnQueue, ""},
	{"sqs", "ChangeMessageVisibility", "sqs:ChangeMessageVisibility", OnQueue, ""},
	{"sqs", "ChangeMessageVisibilityBatch", "sqs:ChangeMessageVisibility", OnQueue, ""},
	{"sqs", "GetQueueAttributes", "sqs:GetQueueAttributes", OnQueue, ""},
	{"sqs", "SetQueueAttributes", "sqs:SetQueueAttributes", OnQueue, ""},
	{"sqs", "PurgeQueue", "sqs:PurgeQueue", OnQueue, ""},
	{"sqs", "DeleteQueue", "sqs:DeleteQueue", OnQueue, ""},
	{"sqs", "ListQueueTags", "sqs:ListQueueTags", OnQueue, ""},
	{"sqs", "ListDeadLetterSourceQueues", "sqs:ListDeadLetterSourceQueues", OnQueue, ""},
	{"sqs", "GetQueueUrl", "sqs:GetQueueUrl", OnQueueName, ""},
	{"sqs", "CreateQueue", "sqs:CreateQueue", OnQueueName, ""},
	{"sqs", "ListQueues", "sqs:ListQueues", OnAll, ""},
}

var lambdaRows = []Row{
	{"lambda", "Invoke", "lambda:InvokeFunction", OnFunction, ""},
	{"lambda", "InvokeAsync", "lambda:InvokeFunction", OnFunction, ""},
	{"lambda", "InvokeWithResponseStream", "lambda:InvokeFunction", OnFunction, ""},
	{"lambda", "ListFunctions", "lambda:ListFunctions", OnAll, ""},
	{"lambda", "GetFunction", "lambda:GetFunction", OnFunction, ""},
	{"lambda", "GetFunctionConfiguration", "lambda:GetFunctionConfiguration", OnFunction, ""},
	{"lambda", "GetFunctionConcurrency", "lambda:GetFunctionConcurrency", OnFunction, ""},
	{"lambda", "GetPolicy", "lambda:GetPolicy", OnFunction, ""},
}

var otherRows = []Row{
	{"rekognition", "DetectLabels", "rekognition:DetectLabels", OnAll, ""},
	// Rekognition reads an S3 image with the caller's permissions (API reference,
	// S3Object: "the user must have permission to access the S3 object").
	{"rekognition", "DetectLabels", "s3:GetObject", OnImageObject, WhenS3Object},
	{"es", "ESHttpGet", "es:ESHttpGet", OnDomainPath, ""},
	{"es", "ESHttpHead", "es:ESHttpHead", OnDomainPath, ""},
	{"es", "ESHttpPut", "es:ESHttpPut", OnDomainPath, ""},
	{"es", "ESHttpPost", "es:ESHttpPost", OnDomainPath, ""},
	{"es", "ESHttpDelete", "es:ESHttpDelete", OnDomainPath, ""},
	{"es", "ESHttpPatch", "es:ESHttpPatch", OnDomainPath, ""},
}

// ErrUnknownOperation: the table has no row for the call. The edge should refuse
// it (AccessDenied) rather than let it through unchecked.
var ErrUnknownOperation = errors.New("iam: operation not in the action table")

// maxBody bounds the JSON and XML bodies ActionFor reads for ARNs; sigv4.Verify has
// already read (and bounded) them, so this is a second fence, not the first.
const maxBody = 16 << 20

// ActionFor is what a call on the edge needs. service is the SigV4 signing name;
// operation "" is read from the request (OperationOf). It reads the body of JSON
// and XML calls for the ARNs they name, and leaves r.Body readable again.
func ActionFor(env Env, service, operation string, r *http.Request) ([]Need, error) {
	if operation == "" {
		var err error
		if operation, err = OperationOf(service, r); err != nil {
			return nil, err
		}
	}
	c := &call{env: env, service: service, r: r}
	var needs []Need
	found := false
	for _, row := range Table {
		if row.Service != service || row.Operation != operation {
			continue
		}
		found = true
		if ok, err := c.when(row.When); err != nil || !ok {
			if err != nil {
				return nil, err
			}
			continue
		}
		arns, err := c.resources(row.Resource)
		if err != nil {
			return nil, fmt.Errorf("iam: %s %s: %w", service, operation, err)
		}
		for _, a := range arns {
			needs = append(needs, Need{Action: row.Action, Resource: a, Context: c.context()})
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: %s %s", ErrUnknownOperation, service, operation)
	}
	return needs, nil
}

// OperationOf names the API operation of a request to service: from X-Amz-Target
// for the JSON protocols, from the method, path and query for S3 and Lambda, from
// the method for OpenSearch (ESHttpGet...).
func OperationOf(service string, r *http.Request) (string, error) {
	switch service {
	case "states", "sqs", "rekognition":
		target := r.Header.Get("X-Amz-Target")
		if i := strings.LastIndexByte(target, '.'); i >= 0 {
			return target[i+1:], nil
		}
		return "", fmt.Errorf("%w: %s request without X-Amz-Target", ErrUnknownOperation, service)
	case "s3":
		op, _, _ := s3Operation(r)
		return op, nil
	case "lambda":
		op, _, _ := lambdaOperation(r)
		if op == "" {
			return "", fmt.Errorf("%w: lambda %s %s", ErrUnknownOperation, r.Method, r.URL.Path)
		}
		return op, nil
	case "es":
		m := strings.ToUpper(r.Method)
		return "ESHttp" + m[:1] + strings.ToLower(m[1:]), nil
	}
	return "", fmt.Errorf("%w: service %q", ErrUnknownOperation, service)
}

// ExecuteAPIArn is the ARN execute-api:Invoke is checked on for a call to a REST
// API's stage: arn:aws:execute-api:<region>:<account>:<api id>/<stage>/<METHOD>/<path>,
// path being the request's path below the stage ("/" gives a trailing slash).
func ExecuteAPIArn(env Env, apiID, stage, method, path string) string {
	return env.ARN("execute-api", env.Region, env.Account, apiID+"/"+stage+"/"+strings.ToUpper(method)+"/"+strings.TrimPrefix(path, "/"))
}

// call is one request being read for its ARNs.
type call struct {
	env     Env
	service string
	r       *http.Request
	body    map[string]any
	read    bool
}

// json is the request's JSON body, read once.
func (c *call) json() (map[string]any, error) {
	if c.read {
		return c.body, nil
	}
	c.read = true
	raw, err := c.rawBody()
	if err != nil || len(raw) == 0 {
		return nil, err
	}
	if err := json.Unmarshal(raw, &c.body); err != nil {
		return nil, fmt.Errorf("request body is not a JSON object: %w", err)
	}
	return c.body, nil
}

func (c *call) rawBody() ([]byte, error) {
	if c.r.Body == nil || c.r.Body == http.NoBody {
		return nil, nil
	}
	raw, err := io.ReadAll(io.LimitReader(c.r.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxBody {
		return nil, fmt.Errorf("request body over %d bytes", maxBody)
	}
	c.r.Body = struct {
		io.Reader
		io.Closer
	}{bytes.NewReader(raw), c.r.Body}
	return raw, nil
}

// context is the service-specific condition keys of the call (the Service
// Authorization Reference's S3 keys the twin's stack may test).
func (c *call) context() map[string][]string {
	if c.service != "s3" {
		return nil
	}
	ctx := map[string][]string{}
	for header, key := range map[string]string{"If-None-Match": "s3:if-none-match", "If-Match": "s3:if-match"} {
		if v := c.r.Header.Get(header); v != "" {
			ctx[key] = []string{v}
		}
	}
	q := c.r.URL.Query()
	for _, k := range []string{"prefix", "delimiter", "max-keys"} {
		if q.Has(k) {
			ctx["s3:"+k] = []string{q.Get(k)}
		}
	}
	if len(ctx) == 0 {
		return nil
	}
	return ctx
}

func (c *call) field(name string) (string, error) {
	body, err := c.json()
	if err != nil {
		return "", err
	}
	s, _ := body[name].(string)
	if s == "" {
		return "", fmt.Errorf("the request has no %s", name)
	}
	return s, nil
}

func (c *call) when(w string) (bool, error) {
	q := c.r.URL.Query()
	switch w {
	case "":
		return true, nil
	case WhenVersion, WhenNoVersion:
		v := q.Get("versionId")
		if c.r.Header.Get("X-Amz-Copy-Source") != "" {
			_, _, v = copySource(c.r.Header.Get("X-Amz-Copy-Source"))
		}
		return (v != "") == (w == WhenVersion), nil
	case WhenTagging:
		return c.r.Header.Get("X-Amz-Tagging") != "", nil
	case WhenACL:
		for k := range c.r.Header {
			if k == "X-Amz-Acl" || strings.HasPrefix(k, "X-Amz-Grant-") {
				return true, nil
			}
		}
		return false, nil
	case WhenRoleArn:
		body, err := c.json()
		_, ok := body["roleArn"].(string)
		return ok, err
	case WhenS3Object:
		body, err := c.json()
		_, ok := getPath(body, "Image", "S3Object").(map[string]any)
		return ok, err
	}
	return false, fmt.Errorf("iam: unknown When %q", w)
}

func (c *call) resources(kind string) ([]string, error) {
	e := c.env
	switch kind {
	case OnAll:
		return []string{"*"}, nil
	case OnBucket, OnObject:
		_, bucket, key := s3Operation(c.r)
		if kind == OnBucket {
			return []string{e.ARN("s3", "", "", bucket)}, nil
		}
		return []string{e.ARN("s3", "", "", bucket+"/"+key)}, nil
	case OnCopySource:
		bucket, key, _ := copySource(c.r.Header.Get("X-Amz-Copy-Source"))
		return []string{e.ARN("s3", "", "", bucket+"/"+key)}, nil
	case OnEachKey:
		return c.deleteKeys()
	case OnStateMachine, OnExecution, OnRole:
		v, err := c.field(map[string]string{OnStateMachine: "stateMachineArn", OnExecution: "executionArn", OnRole: "roleArn"}[kind])
		return []string{v}, err
	case OnNewStateMachine:
		name, err := c.field("name")
		return []string{e.ARN("states", e.Region, e.Account, "stateMachine:"+name)}, err
	case OnQueue:
		u, err := c.field("QueueUrl")
		if err != nil {
			return nil, err
		}
		return []string{QueueARN(e, u)}, nil
	case OnQueueName:
		name, err := c.field("QueueName")
		account := e.Account
		if body, _ := c.json(); body != nil {
			if owner, _ := body["QueueOwnerAWSAccountId"].(string); owner != "" {
				account = owner
			}
		}
		return []string{e.ARN("sqs", e.Region, account, name)}, err
	case OnFunction:
		_, name, qualifier := lambdaOperation(c.r)
		return []string{FunctionARN(e, name, qualifier)}, nil
	case OnImageObject:
		body, err := c.json()
		bucket, _ := getPath(body, "Image", "S3Object", "Bucket").(string)
		name, _ := getPath(body, "Image", "S3Object", "Name").(string)
		return []string{e.ARN("s3", "", "", bucket+"/"+name)}, err
	case OnDomainPath:
		return c.domainPath()
	}
	return nil, fmt.Errorf("unknown resource kind %q", kind)
}

// deleteKeys are the objects a DeleteObjects body names. AWS checks each key on
// its own and answers AccessDenied per key in the result.
func (c *call) deleteKeys() ([]string, error) {
	raw, err := c.rawBody()
	if err != nil {
		return nil, err
	}
	var del struct {
		Objects []struct{ Key string } `xml:"Object"`
	}
	if err := xml.Unmarshal(raw, &del); err != nil {
		return nil, fmt.Errorf("DeleteObjects body: %w", err)
	}
	_, bucket, _ := s3Operation(c.r)
	out := make([]string, 0, len(del.Objects))
	for _, o := range del.Objects {
		out = append(out, c.env.ARN("s3", "", "", bucket+"/"+o.Key))
	}
	return out, nil
}

// OpenSearchPathRoot is where the edge serves OpenSearch domains
// (opensearch.PathRoot): /opensearch/<region>/<domain>/<path>.
const OpenSearchPathRoot = "/opensearch/"

// domainPath is the es resource of a request to the edge's OpenSearch path:
// arn:aws:es:<region>:<account>:domain/<domain>/<path below the domain>.
func (c *call) domainPath() ([]string, error) {
	rest, ok := strings.CutPrefix(c.r.URL.Path, OpenSearchPathRoot)
	parts := strings.SplitN(rest, "/", 3)
	if !ok || len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return nil, fmt.Errorf("path %s is not under %s<region>/<domain>/", c.r.URL.Path, OpenSearchPathRoot)
	}
	sub := ""
	if len(parts) == 3 {
		sub = parts[2]
	}
	return []string{c.env.ARN("es", parts[0], c.env.Account, "domain/"+parts[1]+"/"+sub)}, nil
}

// QueueARN is the ARN of a queue URL (…/<account>/<name>, on AWS's host or the
// twin's), in env's region.
func QueueARN(env Env, queueURL string) string {
	parts := strings.Split(strings.TrimRight(queueURL, "/"), "/")
	name, account := parts[len(parts)-1], env.Account
	if len(parts) >= 2 {
		account = parts[len(parts)-2]
	}
	return env.ARN("sqs", env.Region, account, name)
}

// FunctionARN reads a FunctionName as Lambda does (a name, name:qualifier, a
// partial ARN <account>:function:<name>, or a full ARN, each with an optional
// qualifier) and gives the ARN IAM checks, qualified when a qualifier is given.
func FunctionARN(env Env, name, qualifier string) string {
	account, region := env.Account, env.Region
	switch {
	case strings.HasPrefix(name, "arn:"):
		p := strings.Split(name, ":") // arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
		if len(p) >= 7 {
			region, account, name = p[3], p[4], strings.Join(p[6:], ":")
		}
	case strings.Contains(name, ":function:"):
		account, name, _ = strings.Cut(name, ":function:")
	}
	if qualifier != "" && !strings.Contains(name, ":") {
		name += ":" + qualifier
	}
	return env.ARN("lambda", region, account, "function:"+name)
}

// s3Operation classifies a path-style S3 request.
func s3Operation(r *http.Request) (op, bucket, key string) {
	bucket, key, _ = strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	has := func(k string) bool { _, ok := q[k]; return ok }
	copying := r.Header.Get("X-Amz-Copy-Source") != ""
	first := func(pairs ...string) string { // pairs of query key, operation; the last one is the default
		for i := 0; i+1 < len(pairs); i += 2 {
			if has(pairs[i]) {
				return pairs[i+1]
			}
		}
		return pairs[len(pairs)-1]
	}
	switch {
	case bucket == "":
		return "ListBuckets", "", ""
	case key == "":
		return map[string]string{
			http.MethodGet: first("location", "GetBucketLocation", "uploads", "ListMultipartUploads", "versions", "ListObjectVersions",
				"cors", "GetBucketCors", "notification", "GetBucketNotificationConfiguration", "policy", "GetBucketPolicy",
				"versioning", "GetBucketVersioning", "tagging", "GetBucketTagging", "list-type", "ListObjectsV2", "ListObjects"),
			http.MethodHead:   "HeadBucket",
			http.MethodPut:    first("cors", "PutBucketCors", "notification", "PutBucketNotificationConfiguration", "policy", "PutBucketPolicy", "CreateBucket"),
			http.MethodDelete: first("cors", "DeleteBucketCors", "policy", "DeleteBucketPolicy", "DeleteBucket"),
			http.MethodPost:   first("delete", "DeleteObjects", ""),
		}[r.Method], bucket, ""
	}
	switch r.Method {
	case http.MethodGet:
		op = first("uploadId", "ListParts", "tagging", "GetObjectTagging", "acl", "GetObjectAcl", "GetObject")
	case http.MethodHead:
		op = "HeadObject"
	case http.MethodPut:
		switch {
		case has("partNumber") && copying:
			op = "UploadPartCopy"
		case has("partNumber"):
			op = "UploadPart"
		case copying:
			op = "CopyObject"
		default:
			op = first("tagging", "PutObjectTagging", "acl", "PutObjectAcl", "PutObject")
		}
	case http.MethodPost:
		op = first("uploads", "CreateMultipartUpload", "uploadId", "CompleteMultipartUpload", "")
	case http.MethodDelete:
		op = first("uploadId", "AbortMultipartUpload", "tagging", "DeleteObjectTagging", "DeleteObject")
	}
	return op, bucket, key
}

// copySource reads x-amz-copy-source: [/]<bucket>/<key>[?versionId=<id>], URL-encoded.
func copySource(v string) (bucket, key, version string) {
	v, query, _ := strings.Cut(strings.TrimPrefix(v, "/"), "?")
	if u, err := url.PathUnescape(v); err == nil {
		v = u
	}
	bucket, key, _ = strings.Cut(v, "/")
	if q, err := url.ParseQuery(query); err == nil {
		version = q.Get("versionId")
	}
	return bucket, key, version
}

// lambdaOperation classifies a Lambda REST request: its operation, the
// FunctionName in its path and the Qualifier in its query.
func lambdaOperation(r *http.Request) (op, function, qualifier string) {
	p := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	qualifier = r.URL.Query().Get("Qualifier")
	if len(p) < 2 || p[1] != "functions" {
		return "", "", ""
	}
	if len(p) == 2 {
		if r.Method == http.MethodGet {
			return "ListFunctions", "", ""
		}
		return "", "", ""
	}
	function = p[2]
	tail := strings.Join(p[3:], "/")
	switch {
	case r.Method == http.MethodPost && p[0] == "2015-03-31" && tail == "invocations":
		op = "Invoke"
	case r.Method == http.MethodPost && p[0] == "2014-11-13" && tail == "invoke-async":
		op = "InvokeAsync"
	case r.Method == http.MethodPost && tail == "response-streaming-invocations":
		op = "InvokeWithResponseStream"
	case r.Method == http.MethodGet && tail == "":
		op = "GetFunction"
	case r.Method == http.MethodGet && tail == "configuration":
		op = "GetFunctionConfiguration"
	case r.Method == http.MethodGet && tail == "concurrency":
		op = "GetFunctionConcurrency"
	case r.Method == http.MethodGet && tail == "policy":
		op = "GetPolicy"
	}
	return op, function, qualifier
}

func getPath(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
