package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsopensearchservice"
	"github.com/aws/jsii-runtime-go"
)

// functionSettings is what the pipeline and API functions' environment depends on.
type functionSettings struct {
	webOrigin     *string
	faults        map[string]string
	privateFields string
	replicas      int
}

// indexUsers are the functions that call the OpenSearch domain; no other role may.
var indexUsers = []string{FnDetectLabels, FnIndexDocument, FnRemoveDocument, FnSearch, FnPing}

// searchGrant is one kind of request a function sends to the index: the es:ESHttp*
// actions on paths below /<index>/ ("" is the index itself).
type searchGrant struct {
	actions []string
	paths   []string
}

// searchAccess is, per function, every request functions/searchindex/opensearch.go
// sends (the client's health checks and node discovery are off):
//   - OpenSearch.ensure: PUT /images (create), PUT /images/_mapping (on an old
//     index), PUT /images/_settings (number_of_replicas from OPENSEARCH_REPLICAS on
//     an index created before it)
//   - Get and upsertOnce: GET /images/_doc/{id}; PUT /images/_doc/{id}
//   - Delete: DELETE /images/_doc/{id}
//   - Search, FindByContentHash, FindByObject: POST /images/_search
//   - Count: GET /images/_count
//
// detect-labels runs FindByObject only (labels already paid for the same bytes;
// POST is the only verb the client sends there); index-document runs Get,
// FindByContentHash and Upsert; remove-document runs Get, Reconcile
// (FindByContentHash, Upsert) and Delete; search runs Search and Get
// (GET /images/{id}); ping Count.
// The API functions may also use the other read verb on their one path.
var searchAccess = map[string][]searchGrant{
	FnDetectLabels: {{[]string{"es:ESHttpPost"}, []string{"_search"}}},
	FnIndexDocument: {
		{[]string{"es:ESHttpPut"}, []string{"", "_mapping", "_settings", "_doc/*"}},
		{[]string{"es:ESHttpGet"}, []string{"_doc/*"}},
		{[]string{"es:ESHttpPost"}, []string{"_search"}},
	},
	FnRemoveDocument: {
		{[]string{"es:ESHttpPut"}, []string{"", "_mapping", "_settings", "_doc/*"}},
		{[]string{"es:ESHttpGet", "es:ESHttpDelete"}, []string{"_doc/*"}},
		{[]string{"es:ESHttpPost"}, []string{"_search"}},
	},
	FnSearch: {{[]string{"es:ESHttpGet", "es:ESHttpPost"}, []string{"_search"}}, {[]string{"es:ESHttpGet"}, []string{"_doc/*"}}},
	FnPing:   {{[]string{"es:ESHttpGet", "es:ESHttpPost"}, []string{"_count"}}},
}

// indexPath is "<index>" or "<index>/<path>".
func indexPath(path string) string {
	if path == "" {
		return SearchIndex
	}
	return SearchIndex + "/" + path
}

func (s *ImagePipe) newFunctions(dir string, specs []FunctionSpec, set functionSettings) {
	// A bare host name, as the domain reports it; the functions add https://. (The
	// twin resolves the same attribute to its own http:// URL.)
	endpoint := s.Search.DomainEndpoint()
	s.Functions = map[string]awslambda.Function{}
	for _, spec := range specs {
		if spec.Name == FnRedrive || spec.Name == FnLoadTester || spec.Name == FnOperations { // own env and grants: newRedrive, newLoadTester, newOperationsFunction
			continue
		}
		env := map[string]*string{"IMAGES_BUCKET": s.Bucket.BucketName()}
		switch spec.Name {
		case FnIndexDocument, FnRemoveDocument:
			// Either may create the index (OpenSearch.ensure): with as many replicas
			// as the domain's nodes can hold, so that one node is green, not yellow.
			env["OPENSEARCH_REPLICAS"] = jsii.String(fmt.Sprint(set.replicas))
		case FnSearch:
			env["PRIVATE_FIELDS"] = jsii.String(set.privateFields)
		}
		if _, ok := searchAccess[spec.Name]; ok {
			env["OPENSEARCH_ENDPOINT"] = endpoint
			env["OPENSEARCH_INDEX"] = jsii.String(SearchIndex)
		}
		if spec.Name == FnSearch || spec.Name == FnPing || spec.Name == FnPresignUpload {
			env["ALLOWED_ORIGIN"] = set.webOrigin
		}
		// Only the named functions get FAULT_MODE; a deploy without the context heals.
		if mode, ok := set.faults[spec.Name]; ok {
			env["FAULT_MODE"] = jsii.String(mode)
		}
		s.Functions[spec.Name] = NewGoFunction(s.Stack, constructID(spec.Name)+"Function", dir, spec, env)
	}
	s.grantObjects()
	// DetectLabels has no resource-level permissions: "*" is the only resource.
	s.Functions[FnDetectLabels].AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("rekognition:DetectLabels"),
		Resources: jsii.Strings("*"),
	}))
	for _, name := range indexUsers {
		for _, g := range searchAccess[name] {
			var res []*string
			for _, p := range g.paths {
				res = append(res, jsii.String(*s.Search.DomainArn()+"/"+indexPath(p)))
			}
			s.Functions[name].AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions: jsii.Strings(g.actions...), Resources: &res,
			}))
		}
	}
}

// grantObjects gives each function the S3 actions its code calls (functions/objects,
// Rekognition's S3Object reads with detect-labels' role, the presigned GETs of
// search) on its prefixes, and no action groups (s3:GetObject*, s3:List*).
func (s *ImagePipe) grantObjects() {
	fn := s.Functions
	objects := func(actions []string, prefixes ...string) awsiam.PolicyStatement {
		var res []*string
		for _, p := range prefixes {
			res = append(res, s.Bucket.ArnForObjects(jsii.String(p+"*")))
		}
		return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Actions: jsii.Strings(actions...), Resources: &res})
	}
	for _, name := range []string{FnExtractMetadata, FnDetectLabels, FnMakeThumbnail} {
		fn[name].AddToRolePolicy(objects([]string{"s3:GetObject"}, "upload/"))
		// Without s3:ListBucket a missing key answers 403, not 404 (NoSuchKey), and
		// the functions could not tell a deleted upload (ObjectNotFoundError) from
		// a refusal.
		fn[name].AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions: jsii.Strings("s3:ListBucket"), Resources: jsii.Strings(*s.Bucket.BucketArn()),
		}))
	}
	// The functions that refuse an upload for good tag it RejectedTag; the bucket's
	// lifecycle rule deletes it after RejectedDays.
	for _, name := range []string{FnExtractMetadata, FnMakeThumbnail} {
		fn[name].AddToRolePolicy(objects([]string{"s3:PutObjectTagging"}, "upload/"))
	}
	fn[FnMakeThumbnail].AddToRolePolicy(objects([]string{"s3:PutObject"}, "thumbnail/", "preview/"))
	fn[FnRemoveDocument].AddToRolePolicy(objects([]string{"s3:DeleteObject"}, "thumbnail/", "preview/"))
	fn[FnSearch].AddToRolePolicy(objects([]string{"s3:GetObject"}, "thumbnail/", "preview/")) // presigned URLs
	// The POST policies presign-upload signs act as its role: S3 lets the browser's
	// form write only what the role may, and the policy narrows it to one new key
	// under the caller's own upload/<identity id>/ prefix, of at most 50 MiB.
	fn[FnPresignUpload].AddToRolePolicy(objects([]string{"s3:PutObject"}, "upload/"))
}

// restrictDomainToFunctions writes the domain's resource policy straight onto the
// CfnDomain: each index user's role, with the actions it needs on the paths it
// calls (searchAccess), and no one else. (Domain's accessPolicies prop would add a
// custom-resource Lambda for the same result.) Same-account access is allowed when
// either this policy or the role's own policy allows it, so both say the same.
func (s *ImagePipe) restrictDomainToFunctions(domainName string) {
	// The domain's own ARN cannot be a Ref here (a self-reference), so it is built
	// from the fixed domain name.
	arn := fmt.Sprintf("arn:%s:es:%s:%s:domain/%s/",
		*awscdk.Aws_PARTITION(), *awscdk.Aws_REGION(), *awscdk.Aws_ACCOUNT_ID(), domainName)
	var statements []awsiam.PolicyStatement
	for _, name := range indexUsers {
		principal := awsiam.NewArnPrincipal(s.Functions[name].Role().RoleArn())
		for _, g := range searchAccess[name] {
			var res []*string
			for _, p := range g.paths {
				res = append(res, jsii.String(arn+indexPath(p)))
			}
			statements = append(statements, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Principals: &[]awsiam.IPrincipal{principal},
				Actions:    jsii.Strings(g.actions...),
				Resources:  &res,
			}))
		}
	}
	policy := awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &statements})
	s.Search.Node().DefaultChild().(awsopensearchservice.CfnDomain).SetAccessPolicies(policy)
}
