package cfn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const tinyTemplate = `{"Resources": {"Images2D38C313": {"Type": "AWS::S3::Bucket", "Metadata": {"aws:cdk:path": "ImagePipe/Images/Resource"}}}}`

// stackArtifact is a manifest.json artifact as cdk synth writes it.
func stackArtifact(template string) string {
	return `{"type": "aws:cloudformation:stack", "environment": "aws://unknown-account/unknown-region",
		"properties": {"templateFile": "` + template + `", "validateOnSynth": false}, "displayName": "` + strings.TrimSuffix(template, ".template.json") + `"}`
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	one := filepath.Join(dir, "one.out")
	writeFile(t, filepath.Join(one, "manifest.json"), `{"version": "48.0.0", "artifacts": {
		"ImagePipe.assets": {"type": "cdk:asset-manifest", "properties": {"file": "ImagePipe.assets.json"}},
		"ImagePipe": `+stackArtifact("ImagePipe.template.json")+`,
		"Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}}}}`)
	writeFile(t, filepath.Join(one, "ImagePipe.template.json"), tinyTemplate)
	file := filepath.Join(dir, "file.json")
	writeFile(t, file, tinyTemplate)

	for _, p := range []string{one, file} {
		raw, err := Load(p)
		if err != nil {
			t.Fatalf("Load(%s): %v", p, err)
		}
		tp, err := Resolve(raw, Options{StackName: "ImagePipe"})
		if err != nil || tp.Resources["Images2D38C313"].Name != "images" {
			t.Errorf("Load(%s) then Resolve: %v", p, err)
		}
	}
}

func TestLoadNestedStage(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "manifest.json"), `{"artifacts": {"assembly-Dev": {"type": "cdk:cloud-assembly", "properties": {"directoryName": "assembly-Dev"}}}}`)
	writeFile(t, filepath.Join(dir, "assembly-Dev", "manifest.json"), `{"artifacts": {"DevImagePipe": `+stackArtifact("DevImagePipe.template.json")+`}}`)
	writeFile(t, filepath.Join(dir, "assembly-Dev", "DevImagePipe.template.json"), tinyTemplate)
	raw, err := Load(dir)
	if err != nil || string(raw) != tinyTemplate {
		t.Errorf("Load = %q, %v", raw, err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	two := filepath.Join(dir, "two")
	writeFile(t, filepath.Join(two, "manifest.json"), `{"artifacts": {"ImagePipe": `+stackArtifact("ImagePipe.template.json")+`, "Other": `+stackArtifact("Other.template.json")+`}}`)
	none := filepath.Join(dir, "none")
	writeFile(t, filepath.Join(none, "manifest.json"), `{"artifacts": {"Tree": {"type": "cdk:tree"}}}`)
	plain := filepath.Join(dir, "plain")
	writeFile(t, filepath.Join(plain, "x.json"), "{}")
	broken := filepath.Join(dir, "broken")
	writeFile(t, filepath.Join(broken, "manifest.json"), "{")
	missing := filepath.Join(dir, "missing")
	writeFile(t, filepath.Join(missing, "manifest.json"), `{"artifacts": {"ImagePipe": `+stackArtifact("ImagePipe.template.json")+`}}`)

	cases := map[string]string{
		two:                           "holds 2 stacks (ImagePipe, Other): name one template file instead",
		none:                          "holds no CloudFormation stack",
		plain:                         "without manifest.json: not a cdk.out cloud assembly",
		broken:                        "manifest.json: unexpected end of JSON input",
		missing:                       "ImagePipe.template.json: no such file",
		filepath.Join(dir, "nothing"): "no such file or directory",
	}
	for p, want := range cases {
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%s) = %v, want %q", filepath.Base(p), err, want)
		}
	}
}
