package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
)

// loadPrefix is where the load tester writes: under upload/, so the pipeline runs on
// every upload, and apart from users' photos.
const loadPrefix = "upload/load/*"

// newLoadTester is the load-tester Lambda (functions/cmd/load-tester): it may put
// objects under upload/load/ of the images bucket and nothing else (no reads, no
// index, no state machines), and only the operators group's role may invoke it
// (grantOperators): nobody who merely signed up can make the stack spend money at a
// chosen rate.
func (s *ImagePipe) newLoadTester(dir string, specs []FunctionSpec) {
	var spec FunctionSpec
	for _, sp := range specs {
		if sp.Name == FnLoadTester {
			spec = sp
		}
	}
	fn := NewGoFunction(s.Stack, constructID(FnLoadTester)+"Function", dir, spec, map[string]*string{
		"IMAGES_BUCKET": s.Bucket.BucketName(),
	})
	s.Functions[FnLoadTester] = fn
	// s3:PutObject alone: Bucket.GrantPut would add the legal-hold, retention and
	// tagging puts too.
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:PutObject"),
		Resources: jsii.Strings(*s.Bucket.ArnForObjects(jsii.String(loadPrefix))),
	}))
}
