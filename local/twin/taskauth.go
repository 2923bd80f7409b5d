package twin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/imagepipe/imagepipe/local/asl"
	"github.com/imagepipe/imagepipe/local/iam"
	"github.com/imagepipe/imagepipe/local/sfn"
)

// taskAuth checks a state machine's role before each Task integration, as Step
// Functions calls the service as that role: a role that may not invoke a function
// or send to a queue fails the Task with the service's AccessDenied, in the history
// as AWS writes it. A recorded execution (awslabs/aws-deployment-framework#460):
// error Lambda.AWSLambdaException, cause "User: arn:aws:sts::…:assumed-role/<role>/
// <session> is not authorized to perform: lambda:InvokeFunction on resource: … because
// no identity-based policy allows the lambda:InvokeFunction action (Service:
// AWSLambda; Status Code: 403; Error Code: AccessDeniedException; Request ID: …;
// Proxy: null)".
//
// State machines created through the API with a role the template does not declare
// are not checked: the twin has no policies for such a role (in AWS it must exist).
type taskAuth struct {
	auth    *auth
	roles   map[string]bool // the template's roles: the ones with policies to check
	invoker asl.Invoker
	queue   asl.MessageSender
}

func newTaskAuth(a *auth, invoker asl.Invoker, queue asl.MessageSender) taskAuth {
	roles := map[string]bool{}
	for _, r := range a.policies.Roles() {
		roles[r] = true
	}
	return taskAuth{auth: a, roles: roles, invoker: invoker, queue: queue}
}

func (c taskAuth) Invoke(ctx context.Context, functionARN string, payload []byte) ([]byte, error) {
	if err := c.check(ctx, "arn:aws:states:::lambda:invoke", map[string]any{"FunctionName": functionARN},
		"Lambda.AWSLambdaException", "AWSLambda", "AccessDeniedException"); err != nil {
		return nil, err
	}
	return c.invoker.Invoke(ctx, functionARN, payload)
}

func (c taskAuth) SendMessage(ctx context.Context, queueURL, body string) (string, error) {
	if err := c.check(ctx, "arn:aws:states:::sqs:sendMessage", map[string]any{"QueueUrl": queueURL},
		"SQS.AmazonSQSException", "AmazonSQS", "AccessDenied"); err != nil {
		return "", err
	}
	return c.queue.SendMessage(ctx, queueURL, body)
}

func (c taskAuth) check(ctx context.Context, resource string, params map[string]any, errName, service, code string) error {
	role := sfn.RoleFrom(ctx)
	if !c.roles[role] {
		return nil
	}
	needs, err := iam.TaskNeeds(c.auth.env, resource, params)
	if err != nil {
		return &asl.TaskError{Name: "States.Runtime", Cause: err.Error()}
	}
	session := sessionOf(role, randomSession())
	// Step Functions calls the services over TLS.
	ctxKeys := map[string][]string{"aws:SecureTransport": {"true"}}
	for _, n := range needs {
		if d := c.auth.policies.Authorize(session, n.Action, n.Resource, iam.Merge(ctxKeys, n.Context)); !d.Allowed {
			c.auth.log.Info("task access denied", "decision", d.String())
			return &asl.TaskError{Name: errName, Cause: fmt.Sprintf("%s (Service: %s; Status Code: 403; Error Code: %s; Request ID: %s; Proxy: null)",
				d.Message(), service, code, requestID())}
		}
	}
	return nil
}

// randomSession is a session name like the 32 letters Step Functions gives its own.
func randomSession() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
