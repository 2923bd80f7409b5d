package cfn

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// snapshotPath is the committed synthesized template (make snapshot);
// IMAGEPIPE_CFN_TEMPLATE points the tests at another one.
const snapshotPath = "../../infra/snapshot/ImagePipe.template.json"

func loadSnapshot(t *testing.T) []byte {
	t.Helper()
	p := os.Getenv("IMAGEPIPE_CFN_TEMPLATE")
	if p == "" {
		p = snapshotPath
	}
	raw, err := Load(p)
	if os.IsNotExist(err) || (err != nil && strings.Contains(err.Error(), "no such file")) {
		t.Skipf("no synthesized template at %s (run `make snapshot`, or set IMAGEPIPE_CFN_TEMPLATE)", p)
	}
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// twinAttr is what the integrator's Attr gives: the twin's queue URLs and
// OpenSearch endpoint.
func twinAttr(r *Resource, attr string) (any, bool) {
	switch {
	case r.Type == "AWS::SQS::Queue" && attr == "Ref":
		return "http://127.0.0.1:4566/000000000000/" + r.Name, true
	case r.Type == "AWS::OpenSearchService::Domain" && attr == "DomainEndpoint":
		return "http://127.0.0.1:4566/opensearch/us-east-1/" + r.Name, true
	}
	return nil, false
}

func TestSnapshotResolves(t *testing.T) {
	raw := loadSnapshot(t)
	for _, opts := range []Options{{StackName: "ImagePipe"}, {StackName: "ImagePipe", Attr: twinAttr}} {
		tp, err := Resolve(raw, opts)
		if err != nil {
			t.Fatalf("Resolve (Attr set: %v): %v", opts.Attr != nil, err)
		}
		checkOrder(t, tp)
		for _, id := range tp.Order {
			r := tp.Resources[id]
			if !r.Active || r.PhysicalID == "" {
				t.Errorf("%s: active %v, PhysicalID %q", id, r.Active, r.PhysicalID)
			}
			if ti := types[r.Type]; ti != nil && ti.nameProp != nil && r.Name == "" {
				t.Errorf("%s (%s) has no Name", id, r.Type)
			}
			if p := leftoverIntrinsic(r.Properties, "Properties"); p != "" {
				t.Errorf("%s: unresolved intrinsic at %s", id, p)
			}
		}
		if p := leftoverIntrinsic(tp.Outputs, "Outputs"); p != "" {
			t.Errorf("unresolved intrinsic at %s", p)
		}
	}
}

// TestSnapshotReferencesKnown lists, all at once, every Ref and Fn::GetAtt target
// (type and attribute) in the template that the package does not model. It reads
// the type table directly, so it reports them all even where Resolve stops at the first.
func TestSnapshotReferencesKnown(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(loadSnapshot(t), &doc); err != nil {
		t.Fatal(err)
	}
	resources, _ := doc["Resources"].(map[string]any)
	params, _ := doc["Parameters"].(map[string]any)
	unknown := map[string]bool{}
	check := func(target, attr string) {
		if _, ok := (&resolver{}).pseudo(target); ok && attr == "" {
			return
		}
		if _, ok := params[target]; ok && attr == "" {
			return
		}
		res, _ := resources[target].(map[string]any)
		typ, _ := res["Type"].(string)
		ti := types[typ]
		switch {
		case res == nil:
			unknown["nothing is named "+target] = true
		case attr == "" && (ti == nil || ti.ref == nil):
			unknown["Ref to "+typ] = true
		case attr != "" && (ti == nil || ti.attrs[attr] == nil):
			unknown["Fn::GetAtt "+typ+"."+attr] = true
		}
	}
	walkReferences(doc["Resources"], check)
	walkReferences(doc["Outputs"], check)
	if len(unknown) > 0 {
		keys := make([]string, 0, len(unknown))
		for k := range unknown {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		t.Errorf("the template refers to what the package does not model:\n  %s", strings.Join(keys, "\n  "))
	}
}

// walkReferences calls check(target, attr) for every Ref (attr "") and Fn::GetAtt
// in v, including the variables of Fn::Sub templates.
func walkReferences(v any, check func(target, attr string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			switch {
			case k == "Ref":
				if s, ok := x.(string); ok {
					check(s, "")
				}
			case k == "Fn::GetAtt":
				switch a := x.(type) {
				case string:
					res, attr, _ := strings.Cut(a, ".")
					check(res, attr)
				case []any:
					if len(a) == 2 {
						res, _ := a[0].(string)
						attr, _ := a[1].(string)
						check(res, attr)
					}
				}
			case k == "Fn::Sub":
				tmpl, vars := subArgs(x)
				for _, p := range parseSub(tmpl) {
					if _, own := vars[p.text]; p.isVar && !own {
						res, attr, _ := strings.Cut(p.text, ".")
						check(res, attr)
					}
				}
			}
			walkReferences(x, check)
		}
	case []any:
		for _, x := range v {
			walkReferences(x, check)
		}
	}
}

func TestSnapshotContracts(t *testing.T) {
	raw := loadSnapshot(t)
	tp, err := Resolve(raw, Options{StackName: "ImagePipe", Attr: twinAttr})
	if err != nil {
		t.Fatal(err)
	}
	var images *Resource
	for _, b := range tp.OfType("AWS::S3::Bucket") {
		if b.Path == "ImagePipe/Images/Resource" {
			images = b
		}
	}
	if images == nil || images.Name != "images" || images.PhysicalID != "images" {
		t.Fatalf("images bucket = %+v, want named images", images)
	}
	if tp.Outputs["BucketName"] != "images" {
		t.Errorf("Outputs.BucketName = %v", tp.Outputs["BucketName"])
	}

	fns := tp.OfType("AWS::Lambda::Function")
	if len(fns) == 0 {
		t.Fatal("no Lambda functions")
	}
	withEnv := 0
	for _, fn := range fns {
		env, err := StrMap(fn.Properties, "Environment", "Variables")
		if err != nil {
			t.Errorf("%s: %v", fn.LogicalID, err)
		}
		if env != nil {
			withEnv++
		}
		if ep, ok := env["OPENSEARCH_ENDPOINT"]; ok && ep != "http://127.0.0.1:4566/opensearch/us-east-1/imagepipe" {
			t.Errorf("%s: OPENSEARCH_ENDPOINT = %q", fn.LogicalID, ep)
		}
		if b, ok := env["IMAGES_BUCKET"]; ok && b != "images" {
			t.Errorf("%s: IMAGES_BUCKET = %q", fn.LogicalID, b)
		}
	}
	if withEnv == 0 {
		t.Error("no function has Environment.Variables: the check checked nothing")
	}

	machines := tp.OfType("AWS::StepFunctions::StateMachine")
	if len(machines) == 0 {
		t.Fatal("no state machines")
	}
	for _, sm := range machines {
		checkStateMachine(t, sm)
	}
}

var (
	thisAccountARN = regexp.MustCompile(`^arn:aws:[a-z0-9-]+:us-east-1:000000000000:\S+$`)
	thisAccountURL = regexp.MustCompile(`^(https://sqs\.us-east-1\.amazonaws\.com|http://127\.0\.0\.1:4566)/000000000000/[A-Za-z0-9_-]+$`)
	substitution   = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)
)

// checkStateMachine: the definition is JSON text, every ${Var} in it has a
// substitution, and every substitution is an ARN or queue URL of this account and region.
func checkStateMachine(t *testing.T, sm *Resource) {
	t.Helper()
	def, ok := Str(sm.Properties, "DefinitionString")
	if !ok {
		t.Fatalf("%s: DefinitionString is not a string: %v", sm.LogicalID, sm.Properties["DefinitionString"])
	}
	if !json.Valid([]byte(def)) {
		t.Errorf("%s: DefinitionString is not JSON", sm.LogicalID)
	}
	subs, err := StrMap(sm.Properties, "DefinitionSubstitutions")
	if err != nil || len(subs) == 0 {
		t.Fatalf("%s: DefinitionSubstitutions = %v, %v", sm.LogicalID, subs, err)
	}
	for _, m := range substitution.FindAllStringSubmatch(def, -1) {
		if _, ok := subs[m[1]]; !ok {
			t.Errorf("%s: ${%s} has no substitution", sm.LogicalID, m[1])
		}
	}
	for k, v := range subs {
		if !thisAccountARN.MatchString(v) && !thisAccountURL.MatchString(v) {
			t.Errorf("%s: substitution %s = %q, not an ARN or URL of 000000000000 in us-east-1", sm.LogicalID, k, v)
		}
	}
}

// leftoverIntrinsic is the path of the first Ref or Fn:: object left in v, or "".
func leftoverIntrinsic(v any, path string) string {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if len(v) == 1 && isFunctionName(k) {
				return path
			}
			if p := leftoverIntrinsic(x, keyPath(path, k)); p != "" {
				return p
			}
		}
	case []any:
		for i, x := range v {
			if p := leftoverIntrinsic(x, indexPath(path, i)); p != "" {
				return p
			}
		}
	}
	if v == noValue {
		return path + " (AWS::NoValue)"
	}
	return ""
}

func BenchmarkResolveSnapshot(b *testing.B) {
	raw, err := Load(snapshotPath)
	if err != nil {
		b.Skip(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Resolve(raw, Options{StackName: "ImagePipe", Attr: twinAttr}); err != nil {
			b.Fatal(err)
		}
	}
}
