package twin

import (
	"github.com/imagepipe/imagepipe/local/awsid"

	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imagepipe/imagepipe/local/cfn"
)

const snapshotPath = "../../infra/snapshot/ImagePipe.template.json"

// fakeFunctions lays out an empty bootstrap for every functions/cmd/<name>, so that
// readDeployment finds them.
func fakeFunctions(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmds, err := os.ReadDir("../../functions/cmd")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cmds {
		if err := os.MkdirAll(filepath.Join(dir, c.Name()), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, c.Name(), "bootstrap"), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readSnapshot(t *testing.T, raw []byte, fnDir string) (*deployment, error) {
	t.Helper()
	tw := &Twin{}
	tmpl, err := cfn.Resolve(raw, cfn.Options{StackName: StackName, Region: Region, Account: Account, Partition: awsid.Partition, URLSuffix: "amazonaws.com",
		Attr: func(r *cfn.Resource, attr string) (any, bool) {
			return tw.attrAt("http://127.0.0.1:4566", "127.0.0.1:8080", r, attr)
		}})
	if err != nil {
		return nil, err
	}
	return readDeployment(tmpl, fnDir)
}

// The committed snapshot deploys every part the pipeline needs, under the names the
// twin's commands use, and lists what it does not run.
func TestSnapshotDeploysTheNamedResources(t *testing.T) {
	raw, err := os.ReadFile(snapshotPath)
	if err != nil {
		t.Fatal(err)
	}
	d, err := readSnapshot(t, raw, fakeFunctions(t))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(d.buckets, "images") || !d.events["images"] {
		t.Errorf("buckets %v, events %v: want images with EventBridge on", d.buckets, d.events)
	}
	var machines []string
	for _, m := range d.machines {
		machines = append(machines, m.name)
		if strings.Contains(m.definition, "${") {
			t.Errorf("%s: unsubstituted variable left in the definition", m.name)
		}
	}
	if !slices.Contains(machines, PipelineName) || !slices.Contains(machines, RemoveName) || !slices.Contains(machines, RedriveJobName) {
		t.Errorf("state machines %v, want %s, %s and %s", machines, PipelineName, RemoveName, RedriveJobName)
	}
	var queues []string
	for _, q := range d.queues {
		queues = append(queues, q.name)
	}
	if !slices.Contains(queues, FailureQueueName) {
		t.Errorf("queues %v, want %s", queues, FailureQueueName)
	}
	cmds := slices.Sorted(func(yield func(string) bool) {
		for _, c := range d.commands {
			if !yield(c) {
				return
			}
		}
	})
	entries, _ := os.ReadDir("../../functions/cmd")
	var want []string
	for _, e := range entries {
		want = append(want, e.Name())
	}
	if !slices.Equal(cmds, want) {
		t.Errorf("functions deployed from %v, want every functions/cmd: %v", cmds, want)
	}
	for _, fn := range d.functions {
		if fn.Env["AWS_ENDPOINT_URL"] != "" {
			t.Errorf("%s: the template's environment already has AWS_ENDPOINT_URL", fn.Name)
		}
		if ep, ok := fn.Env["OPENSEARCH_ENDPOINT"]; ok && ep != "http://127.0.0.1:4566/opensearch/us-east-1/imagepipe" {
			t.Errorf("%s: OPENSEARCH_ENDPOINT %q, want the twin's domain", fn.Name, ep)
		}
	}
	n, err := namesFrom(d)
	if err != nil {
		t.Fatal(err)
	}
	if n.bucket != "images" || !strings.HasSuffix(n.pipelineARN, ":"+PipelineName) || !strings.HasSuffix(n.queueURL, "/"+FailureQueueName) {
		t.Errorf("names %+v", n)
	}
	if d.standIns["AWS::CloudFront::Distribution"] != 1 || d.standIns["AWS::IAM::Role"] == 0 {
		t.Errorf("stand-ins %v: want CloudFront and IAM listed", d.standIns)
	}
}

// A template with a resource type the twin neither runs nor stands in for fails the
// deployment, naming the resource; so does a function whose bootstrap is missing.
func TestDeploymentRefusesWhatItCannotRun(t *testing.T) {
	raw := []byte(`{"Resources": {"Thing": {"Type": "AWS::EC2::Instance", "Properties": {}}}}`)
	if _, err := readSnapshot(t, raw, t.TempDir()); err == nil || !strings.Contains(err.Error(), "Thing (AWS::EC2::Instance)") {
		t.Errorf("unknown type: err %v", err)
	}
	fn := []byte(`{"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Metadata": {"imagepipe:function": "ping"},
		"Properties": {"Role": "arn:aws:iam::000000000000:role/r", "Code": {"ZipFile": "x"}}}}}`)
	if _, err := readSnapshot(t, fn, t.TempDir()); err == nil || !strings.Contains(err.Error(), "make twin-lambdas") {
		t.Errorf("missing bootstrap: err %v", err)
	}
	sm := []byte(`{"Resources": {"SM": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"RoleArn": "arn:aws:iam::000000000000:role/r",
		"DefinitionString": "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Task\",\"Resource\":\"${Missing}\",\"End\":true}}}"}}}}`)
	if _, err := readSnapshot(t, sm, t.TempDir()); err == nil || !strings.Contains(err.Error(), "SM") || !strings.Contains(err.Error(), "Missing") {
		t.Errorf("unsubstituted variable: err %v", err)
	}
}
