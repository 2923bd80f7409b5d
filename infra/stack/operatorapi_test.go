package stack_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/imagepipe/imagepipe/infra/stack"
)

// render writes a template value (a string, a Ref, an Fn::Join, an Fn::GetAtt) as
// the string it resolves to in account 000000000000 of us-east-1; other logical ids
// stand as <id>.
func render(t *testing.T, v any) string {
	t.Helper()
	switch x := v.(type) {
	case string:
		return x
	case obj:
		if ref, ok := x["Ref"].(string); ok {
			switch ref {
			case "AWS::Partition":
				return "aws"
			case "AWS::Region":
				return "us-east-1"
			case "AWS::AccountId":
				return "000000000000"
			}
			return "<" + ref + ">"
		}
		if j, ok := x["Fn::Join"].([]any); ok {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, render(t, p))
			}
			return strings.Join(parts, j[0].(string))
		}
		if g, ok := x["Fn::GetAtt"].([]any); ok {
			return fmt.Sprintf("<%s.%s>", g[0], g[1])
		}
	}
	t.Fatalf("cannot render %v", v)
	return ""
}

// allows reports whether role's policies allow action on resource, with IAM's
// wildcards (* any run of characters, ? one) in the statements' resources.
func allows(t *testing.T, sy *synthesized, role, action, resource string) bool {
	t.Helper()
	for _, p := range sy.byType("AWS::IAM::Policy") {
		pp := props(p)
		if !slicesContain(pp["Roles"].([]any), obj{"Ref": role}) {
			continue
		}
		for _, st := range pp["PolicyDocument"].(obj)["Statement"].([]any) {
			m := st.(obj)
			if m["Effect"] != "Allow" || !slicesContain(asSlice(m["Action"]), any(action)) && m["Action"] != action {
				continue
			}
			res := asSlice(m["Resource"])
			if res == nil {
				res = []any{m["Resource"]}
			}
			for _, r := range res {
				pattern := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(render(t, r))) + "$"
				if regexp.MustCompile(pattern).MatchString(resource) {
					return true
				}
			}
		}
	}
	return false
}

func slicesContain(xs []any, x any) bool {
	for _, y := range xs {
		if reflect.DeepEqual(x, y) {
			return true
		}
	}
	return false
}

// checkOperationsAPI: every operators' route is an IAM-authorized method on the
// operations function, and only the operators' role may invoke it; every role may
// read a document by id.
func checkOperationsAPI(t *testing.T, sy *synthesized) {
	api := sy.logicalID("Api", "AWS::ApiGateway::RestApi")
	fn := sy.logicalID("OperationsFunction", "AWS::Lambda::Function")
	methodArn := func(method, path string) string {
		return "arn:aws:execute-api:us-east-1:000000000000:<" + api + ">/prod/" + method + path
	}
	execution := url.PathEscape("arn:aws:states:us-east-1:000000000000:execution:ImagePipe-Pipeline:x")
	requests := map[string]string{ // route → a request path for it
		"/executions": "/executions", "/executions/{arn}": "/executions/" + execution,
		"/executions/{arn}/redrive": "/executions/" + execution + "/redrive", "/executions/{arn}/stop": "/executions/" + execution + "/stop",
		"/failures": "/failures", "/failures/redrive": "/failures/redrive", "/failures/discard": "/failures/discard",
		"/images/delete": "/images/delete",
	}
	roles := map[string]string{}
	for _, r := range []string{"GuestRole", "UserRole", "OperatorRole"} {
		roles[r] = sy.logicalID(r, "AWS::IAM::Role")
	}
	for _, rt := range stack.OperationsRoutes {
		path, ok := requests[rt.Path]
		if !ok {
			t.Fatalf("no request for route %s", rt.Path)
		}
		for name, role := range roles {
			if got := allows(t, sy, role, "execute-api:Invoke", methodArn(rt.Method, path)); got != (name == "OperatorRole") {
				t.Errorf("%s may invoke %s %s: %v", name, rt.Method, path, got)
			}
		}
		// A method the API does not have is nobody's. (GET /executions/* also
		// covers GET /executions/x/redrive, which API Gateway answers 403: the
		// wildcard of an execute-api ARN spans "/".)
		if allows(t, sy, roles["OperatorRole"], "execute-api:Invoke", methodArn("DELETE", path)) {
			t.Errorf("operators may invoke DELETE %s", path)
		}
	}
	for name, role := range roles {
		if !allows(t, sy, role, "execute-api:Invoke", methodArn("GET", "/images/0123abcd")) {
			t.Errorf("%s may not GET /images/{id}", name)
		}
		if got := allows(t, sy, role, "lambda:InvokeFunction", "<"+sy.logicalID("LoadTesterFunction", "AWS::Lambda::Function")+".Arn>"); got != (name == "OperatorRole") {
			t.Errorf("%s may invoke the load tester: %v", name, got)
		}
	}
	// Each route is a method on the operations function, IAM-authorized.
	n := 0
	for id, m := range sy.byType("AWS::ApiGateway::Method") {
		p := props(m)
		uri, _ := json.Marshal(p["Integration"].(obj)["Uri"])
		if !strings.Contains(string(uri), `"`+fn+`"`) {
			continue
		}
		n++
		if p["AuthorizationType"] != "AWS_IAM" {
			t.Errorf("%s: AuthorizationType %v", id, p["AuthorizationType"])
		}
	}
	if n != len(stack.OperationsRoutes) {
		t.Errorf("%d methods on the operations function, want %d", n, len(stack.OperationsRoutes))
	}
	// POST needs the preflight to allow it.
	preflight, _ := json.Marshal(sy.byType("AWS::ApiGateway::Method"))
	if !strings.Contains(string(preflight), `'GET,POST,OPTIONS'`) {
		t.Errorf("no CORS preflight allows POST")
	}
}

// checkOperationsFunction: its environment names what it reads, and its role may do
// exactly what its routes need, on this stack's resources.
func checkOperationsFunction(t *testing.T, sy *synthesized) {
	env := sy.env("OperationsFunction")
	for _, k := range []string{"PIPELINE_STATE_MACHINE_ARN", "REMOVE_STATE_MACHINE_ARN", "FAILURE_QUEUE_URL", "REDRIVE_FUNCTION_NAME", "ALLOWED_ORIGIN", "IMAGES_BUCKET"} {
		if env[k] == nil {
			t.Errorf("operations environment lacks %s: %v", k, env)
		}
	}
	got := sy.actions(sy.functionRole("OperationsFunction"))
	want := []string{"lambda:InvokeFunction", "s3:DeleteObject", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:ReceiveMessage",
		"states:DescribeExecution", "states:DescribeStateMachineForExecution", "states:GetExecutionHistory",
		"states:ListExecutions", "states:RedriveExecution", "states:StartExecution", "states:StopExecution",
		"xray:PutTelemetryRecords", "xray:PutTraceSegments"}
	if a := sortedKeys(got); !reflect.DeepEqual(a, want) {
		t.Errorf("operations actions %v, want %v", a, want)
	}
	redrive := `{"Fn::GetAtt":["` + sy.logicalID("RedriveFunction", "AWS::Lambda::Function") + `","Arn"]}`
	queue := `{"Fn::GetAtt":["` + sy.logicalID("FailureQueue", "AWS::SQS::Queue") + `","Arn"]}`
	for a, res := range got {
		switch {
		case a == "lambda:InvokeFunction":
			if !reflect.DeepEqual(res, []string{redrive}) {
				t.Errorf("%s on %v, want the redrive function only", a, res)
			}
		case a == "s3:DeleteObject": // POST /images/delete: uploads, nothing else
			if len(res) != 1 || !strings.HasSuffix(res[0], `"/upload/*"]]}`) || !strings.Contains(res[0], `"`+sy.logicalID("Images", "AWS::S3::Bucket")+`"`) {
				t.Errorf("%s on %v, want upload/* of the images bucket only", a, res)
			}
		case strings.HasPrefix(a, "sqs:"):
			if !reflect.DeepEqual(res, []string{queue}) {
				t.Errorf("%s on %v, want the failure queue", a, res)
			}
		case a == "states:ListExecutions":
			if j := strings.Join(res, " "); len(res) != 2 || !strings.Contains(j, `"Ref":"Pipeline`) || !strings.Contains(j, `"Ref":"Remove`) {
				t.Errorf("%s on %v, want both state machines", a, res)
			}
		case a == "states:StartExecution": // POST /failures/redrive starts the redrive job
			if j := strings.Join(res, " "); len(res) != 1 || !strings.Contains(j, `"Ref":"Redrive`) {
				t.Errorf("%s on %v, want the redrive job only", a, res)
			}
		case a == "states:DescribeExecution", a == "states:GetExecutionHistory", a == "states:DescribeStateMachineForExecution":
			// and follows it, as it reads the pipeline's executions
			if j := strings.Join(res, " "); len(res) != 3 || strings.Count(j, `:execution:",{"Fn::GetAtt":[`) != 3 || !strings.Contains(j, `["Redrive`) {
				t.Errorf("%s on %v, want the two state machines' and the redrive job's executions", a, res)
			}
		case strings.HasPrefix(a, "states:"):
			if j := strings.Join(res, " "); len(res) != 2 || strings.Count(j, `:execution:",{"Fn::GetAtt":[`) != 2 {
				t.Errorf("%s on %v, want both state machines' executions", a, res)
			}
		}
	}
}
