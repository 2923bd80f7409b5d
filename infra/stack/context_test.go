package stack_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/imagepipe/imagepipe/infra/stack"
)

// TestContextOptions synthesizes with the faults and redriveSchedule context keys:
// FAULT_MODE on the named functions only, and a schedule that invokes the redrive
// Lambda; cdk-nag stays clean.
func TestContextOptions(t *testing.T) {
	defer jsii.Close()
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{
		"faults":          "index-document=always, detect-labels=rate=0.3,make-thumbnail=off",
		"redriveSchedule": "rate(1 hour)",
	}})
	s, err := stack.New(app, "ImagePipe", stack.Props{LambdaDir: lambdaDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	stack.ApplyNag(app)
	tpl := assertions.Template_FromStack(s.Stack, nil)
	raw, _ := json.Marshal(tpl.ToJSON())
	var template obj
	if err := json.Unmarshal(raw, &template); err != nil {
		t.Fatal(err)
	}
	resources := template["Resources"].(obj)

	got := map[string]any{}
	for id, r := range resources {
		m := r.(obj)
		if m["Type"] != "AWS::Lambda::Function" {
			continue
		}
		env, _ := m["Properties"].(obj)["Environment"].(obj)
		vars, _ := env["Variables"].(obj)
		if v, ok := vars["FAULT_MODE"]; ok {
			got[id[:strings.Index(id, "Function")]] = v
		}
	}
	if want := map[string]any{"IndexDocument": "always", "DetectLabels": "rate=0.3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("FAULT_MODE = %v, want %v", got, want)
	}

	// The schedule starts the redrive job, with the input it takes ({}), not the
	// scheduled event; nothing lets EventBridge invoke the Lambda itself.
	var job string
	for id, r := range resources {
		if r.(obj)["Type"] == "AWS::StepFunctions::StateMachine" && strings.HasPrefix(id, "Redrive") {
			job = id
		}
	}
	tpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), &map[string]any{
		"ScheduleExpression": "rate(1 hour)",
		"State":              "ENABLED",
		"Targets": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
			"Arn":   map[string]any{"Ref": job},
			"Input": `{}`,
		})}),
	})
	tpl.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Permission"), &map[string]any{"Principal": "events.amazonaws.com"}, jsii.Number(0))
	errs := assertions.Annotations_FromStack(s.Stack).FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
	for _, e := range *errs {
		t.Errorf("cdk-nag: %s: %v", *e.Id, e.Entry.Data)
	}
}

func TestContextErrors(t *testing.T) {
	for name, ctx := range map[string]map[string]any{
		"unknown function": {"faults": "search=always"},
		"bad mode":         {"faults": "index-document=sometimes"},
		"bad schedule":     {"redriveSchedule": "every hour"},
	} {
		app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
		if _, err := stack.New(app, "ImagePipe", stack.Props{LambdaDir: lambdaDir(t)}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParseFaults(t *testing.T) {
	got, err := stack.ParseFaults(" index-document=always,detect-labels=RATE=0.3 ,make-thumbnail=latency=2s,remove-document=throttle,extract-metadata=off")
	want := map[string]string{"index-document": "always", "detect-labels": "rate=0.3", "make-thumbnail": "latency=2s", "remove-document": "throttle"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %v %v", got, err)
	}
	if got, err := stack.ParseFaults(""); err != nil || len(got) != 0 {
		t.Errorf("empty: %v %v", got, err)
	}
	for _, bad := range []string{"index-document", "=always", "index-document=", "index-document=rate=0", "index-document=rate=1.5",
		"index-document=latency=-1s", "index-document=latency=1h", "index-document=always,index-document=off", "ping=always", "index-document=rate=NaN"} {
		if _, err := stack.ParseFaults(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, ok := range []string{"rate(1 hour)", "rate(5 minutes)", "cron(0 3 * * ? *)"} {
		if err := stack.CheckSchedule(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"1 hour", "rate()", "rate(1 hour", "at(2024-01-01T00:00:00)"} {
		if stack.CheckSchedule(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseFaults(f *testing.F) {
	for _, s := range []string{"index-document=always", "detect-labels=rate=0.3,make-thumbnail=latency=2s", ",,", "a=b=c", "index-document=rate=1e-9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := stack.ParseFaults(s)
		if err != nil {
			return
		}
		for name, mode := range got {
			if !strings.Contains(strings.Join(stack.FaultFunctions, " "), name) || mode == "" || mode == "off" {
				t.Fatalf("%q: accepted %s=%q", s, name, mode)
			}
		}
	})
}
