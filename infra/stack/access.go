package stack

import (
	"fmt"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsopensearchservice"
	"github.com/aws/jsii-runtime-go"

	"github.com/imagepipe/imagepipe/statemachine"
)

// functionSettings is what the pipeline and API functions' environment depends on.
type functionSettings struct {
	webOrigin     *string
	faults        map[string]string
	privateFields string
	replicas      int
}

// apiSearchAccess is every request the API functions send to the index
// (functions/searchindex/opensearch.go: Search POSTs /images/_search, Get GETs
// /images/_doc/{id} for GET /images/{id}, Count GETs /images/_count); each may also
// use the other read verb on its search path. The steps' access is in
// statemachine.Steps.
var apiSearchAccess = map[string][]statemachine.IndexAccess{
	FnSearch: {{Actions: []string{"es:ESHttpGet", "es:ESHttpPost"}, Paths: []string{"_search"}}, {Actions: []string{"es:ESHttpGet"}, Paths: []string{"_doc/*"}}},
	FnPing:   {{Actions: []string{"es:ESHttpGet", "es:ESHttpPost"}, Paths: []string{"_count"}}},
}

// indexUser is a function that calls the OpenSearch domain, and what it sends.
type indexUser struct {
	name   string
	access []statemachine.IndexAccess
}

// indexUsers are the functions that call the OpenSearch domain; no other role may.
func indexUsers() []indexUser {
	var out []indexUser
	for _, st := range statemachine.Steps() {
		if len(st.Index) > 0 {
			out = append(out, indexUser{st.Function, st.Index})
		}
	}
	for _, name := range []string{FnSearch, FnPing} {
		out = append(out, indexUser{name, apiSearchAccess[name]})
	}
	return out
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
	steps := map[string]statemachine.Step{}
	for _, st := range statemachine.Steps() {
		steps[st.Function] = st
	}
	s.Functions = map[string]awslambda.Function{}
	for _, spec := range specs {
		if spec.Name == FnRedrive || spec.Name == FnLoadTester || spec.Name == FnOperations { // own env and grants: newRedrive, newLoadTester, newOperationsFunction
			continue
		}
		env := map[string]*string{"IMAGES_BUCKET": s.Bucket.BucketName()}
		st := steps[spec.Name]
		_, api := apiSearchAccess[spec.Name]
		// Either index creator may create the index (OpenSearch.ensure): with as many
		// replicas as the domain's nodes can hold, so that one node is green, not yellow.
		if st.CreatesIndex() {
			env["OPENSEARCH_REPLICAS"] = jsii.String(fmt.Sprint(set.replicas))
		}
		if spec.Name == FnSearch {
			env["PRIVATE_FIELDS"] = jsii.String(set.privateFields)
		}
		if api || len(st.Index) > 0 {
			env["OPENSEARCH_ENDPOINT"] = endpoint
			env["OPENSEARCH_INDEX"] = jsii.String(SearchIndex)
		}
		if api || spec.Name == FnPresignUpload {
			env["ALLOWED_ORIGIN"] = set.webOrigin // the API functions answer the web app
		}
		// Only the named functions get FAULT_MODE; a deploy without the context heals.
		if mode, ok := set.faults[spec.Name]; ok {
			env["FAULT_MODE"] = jsii.String(mode)
		}
		s.Functions[spec.Name] = NewGoFunction(s.Stack, constructID(spec.Name)+"Function", dir, spec, env)
	}
	for _, st := range statemachine.Steps() {
		s.grantStep(st)
	}
	// The POST policies presign-upload signs act as its role: S3 lets the browser's
	// form write only what the role may, and the policy narrows it to one new key
	// under the caller's own upload/<identity id>/ prefix, of at most 50 MiB.
	s.Functions[FnPresignUpload].AddToRolePolicy(s.objectsStatement([]string{"s3:PutObject"}, statemachine.PrefixUpload))
	// search presigns GETs of thumbnails and previews.
	s.Functions[FnSearch].AddToRolePolicy(s.objectsStatement([]string{"s3:GetObject"}, statemachine.PrefixThumbnail, statemachine.PrefixPreview))
	for _, name := range []string{FnSearch, FnPing} {
		s.grantIndex(s.Functions[name], apiSearchAccess[name])
	}
}

// objectsStatement allows actions on the images bucket's keys under prefixes: the
// exact actions the code calls, never action groups (s3:GetObject*, s3:List*).
func (s *ImagePipe) objectsStatement(actions []string, prefixes ...string) awsiam.PolicyStatement {
	var res []*string
	for _, p := range prefixes {
		res = append(res, s.Bucket.ArnForObjects(jsii.String(p+"*")))
	}
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Actions: jsii.Strings(actions...), Resources: &res})
}

// grantStep gives a step's role what its row of statemachine.Steps says: its S3
// requests (with s3:ListBucket for a reader, so that a missing key answers 404, not
// 403), its actions without resource-level permissions, and its index requests.
func (s *ImagePipe) grantStep(st statemachine.Step) {
	fn := s.Functions[st.Function]
	for _, o := range st.Objects {
		fn.AddToRolePolicy(s.objectsStatement(o.Actions, o.Prefixes...))
		if slices.Contains(o.Actions, "s3:GetObject") {
			fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions: jsii.Strings("s3:ListBucket"), Resources: jsii.Strings(*s.Bucket.BucketArn()),
			}))
		}
	}
	if len(st.Actions) > 0 {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions: jsii.Strings(st.Actions...), Resources: jsii.Strings("*"),
		}))
	}
	s.grantIndex(fn, st.Index)
}

// grantIndex allows a function's role the index requests it sends.
func (s *ImagePipe) grantIndex(fn awslambda.Function, access []statemachine.IndexAccess) {
	for _, g := range access {
		var res []*string
		for _, p := range g.Paths {
			res = append(res, jsii.String(*s.Search.DomainArn()+"/"+indexPath(p)))
		}
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions: jsii.Strings(g.Actions...), Resources: &res,
		}))
	}
}

// restrictDomainToFunctions writes the domain's resource policy straight onto the
// CfnDomain: each index user's role, with the actions it needs on the paths it
// calls (indexUsers), and no one else. (Domain's accessPolicies prop would add a
// custom-resource Lambda for the same result.) Same-account access is allowed when
// either this policy or the role's own policy allows it, so both say the same.
func (s *ImagePipe) restrictDomainToFunctions(domainName string) {
	// The domain's own ARN cannot be a Ref here (a self-reference), so it is built
	// from the fixed domain name.
	arn := fmt.Sprintf("arn:%s:es:%s:%s:domain/%s/",
		*awscdk.Aws_PARTITION(), *awscdk.Aws_REGION(), *awscdk.Aws_ACCOUNT_ID(), domainName)
	var statements []awsiam.PolicyStatement
	for _, u := range indexUsers() {
		principal := awsiam.NewArnPrincipal(s.Functions[u.name].Role().RoleArn())
		for _, g := range u.access {
			var res []*string
			for _, p := range g.Paths {
				res = append(res, jsii.String(arn+indexPath(p)))
			}
			statements = append(statements, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Principals: &[]awsiam.IPrincipal{principal},
				Actions:    jsii.Strings(g.Actions...),
				Resources:  &res,
			}))
		}
	}
	policy := awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &statements})
	s.Search.Node().DefaultChild().(awsopensearchservice.CfnDomain).SetAccessPolicies(policy)
}
