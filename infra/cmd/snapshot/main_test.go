package main

import (
	"strings"
	"testing"
)

func TestNormalizeReplacesAssetHashesAndSortsKeys(t *testing.T) {
	h := strings.Repeat("ab", 32)
	in := `{"b": {"S3Key": "` + h + `.zip"}, "a": {"asset.` + h + `": 1.50}}`
	out, err := normalize([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n \"a\": {\n  \"asset.ASSET-HASH\": 1.50\n },\n \"b\": {\n  \"S3Key\": \"ASSET-HASH.zip\"\n }\n}\n"
	if string(out) != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	if _, err := normalize([]byte("{")); err == nil {
		t.Fatal("broken JSON: want an error")
	}
}
