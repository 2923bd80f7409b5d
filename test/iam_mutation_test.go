package test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Least privilege, proved: each statement an upload's success path needs is removed,
// one at a time, from its role in a copy of the template; the twin then fails that
// upload where AWS would — at the state whose call IAM now denies, with AWS's error.
// (Statements outside the success path are not in the table: X-Ray's, which the twin
// does not emulate; s3:ListBucket, which only turns a missing object's 403 into a 404;
// s3:PutObjectTagging, used for rejected uploads; sqs:SendMessage, used by the Catch;
// and es:ESHttp*, which the OpenSearch domain's access policy also grants each role —
// in one account a resource-based policy's Allow suffices alone, so removing either
// copy fails nothing, in AWS as on the twin.)
func TestRemovingAStatementFailsTheUploadAsAWSWould(t *testing.T) {
	cases := []struct {
		policy, action string // the statement granting action in the policy with this logical-id prefix
		state          string // where the execution fails
		cause          string // a word the failure's error or cause carries
	}{
		{"ExtractMetadataFunctionServiceRoleDefaultPolicy", "s3:GetObject", "ExtractMetadata", "AccessDenied"},
		{"DetectLabelsFunctionServiceRoleDefaultPolicy", "rekognition:DetectLabels", "DetectLabels", "AccessDenied"},
		{"MakeThumbnailFunctionServiceRoleDefaultPolicy", "s3:GetObject", "MakeThumbnail", "AccessDenied"},
		{"MakeThumbnailFunctionServiceRoleDefaultPolicy", "s3:PutObject", "MakeThumbnail", "AccessDenied"},
		{"PipelineRoleDefaultPolicy", "lambda:InvokeFunction", "", "Lambda.AWSLambdaException"},
	}
	for _, c := range cases {
		t.Run(strings.Split(c.policy, "Function")[0]+"-"+strings.ReplaceAll(c.action, ":", "-"), func(t *testing.T) {
			t.Parallel()
			tmpl := snapshotTemplate(t)
			removeStatement(t, tmpl, c.policy, c.action)
			tw := startTwin(t, "--template", writeTemplate(t, tmpl))
			putPhoto(t, tw, "upload/least-privilege.jpg")
			f := queueMessage(t, tw)
			t.Logf("without %s: %s at %s: %.300s", c.action, f.Error, f.State, f.Cause)
			if c.state != "" && f.State != c.state {
				t.Errorf("failed at %q, want %q", f.State, c.state)
			}
			if !strings.Contains(f.Error+" "+f.Cause, c.cause) {
				t.Errorf("failure %q %q does not say %q", f.Error, f.Cause, c.cause)
			}
		})
	}
	// Without states:StartExecution for the rule's role, no execution starts at all:
	// EventBridge cannot deliver, and S3 still stores the object.
	t.Run("PipelineEventsRole-states-StartExecution", func(t *testing.T) {
		t.Parallel()
		tmpl := snapshotTemplate(t)
		removeStatement(t, tmpl, "PipelineEventsRoleDefaultPolicy", "states:StartExecution")
		tw := startTwin(t, "--template", writeTemplate(t, tmpl))
		putPhoto(t, tw, "upload/never-started.jpg")
		if n := len(tw.executions(t, "")); n != 0 {
			t.Errorf("%d executions without states:StartExecution on the rule's role, want 0", n)
		}
	})
}

// removeStatement deletes from the policy the one statement whose actions include action.
func removeStatement(t *testing.T, tmpl map[string]any, policyPrefix, action string) {
	t.Helper()
	doc := resource(t, tmpl, "AWS::IAM::Policy", policyPrefix)["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)
	stmts := doc["Statement"].([]any)
	var kept []any
	removed := 0
	for _, s := range stmts {
		var actions []string
		switch a := s.(map[string]any)["Action"].(type) {
		case string:
			actions = []string{a}
		case []any:
			for _, x := range a {
				actions = append(actions, fmt.Sprint(x))
			}
		}
		if slices.Contains(actions, action) {
			removed++
			continue
		}
		kept = append(kept, s)
	}
	if removed == 0 {
		t.Fatalf("%s has no statement granting %s", policyPrefix, action)
	}
	if len(kept) == 0 {
		// IAM refuses a policy without statements (so does the twin): keep one that
		// grants nothing the pipeline uses.
		kept = []any{map[string]any{"Effect": "Allow", "Action": "xray:PutTraceSegments", "Resource": "*"}}
	}
	doc["Statement"] = kept
}

// queueMessage waits for the failure-queue message the pipeline's Catch writes, read
// from the queue itself (visibility 0: it stays for others).
func queueMessage(t *testing.T, tw *Twin) failureBody {
	t.Helper()
	url := tw.EdgeURL + "/000000000000/ImagePipe-FailureQueue"
	var f failureBody
	waitFor(t, 90*time.Second, "the failure-queue message", func() (bool, error) {
		out, err := tw.SQS().ReceiveMessage(ctxT(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), VisibilityTimeout: 0, MaxNumberOfMessages: 1})
		if err != nil || len(out.Messages) == 0 {
			return false, err
		}
		return true, json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &f)
	})
	return f
}
