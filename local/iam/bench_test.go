package iam

import (
	"testing"
)

// BenchmarkFromTemplateSnapshot: resolving the snapshot (cfn) and reading its
// policies, as `imagepipe serve` does once at start.
func BenchmarkFromTemplateSnapshot(b *testing.B) {
	raw := loadSnapshot(b)
	for b.Loop() {
		readStack(b, raw)
	}
}

func BenchmarkAuthorize(b *testing.B) {
	s := readStack(b, loadSnapshot(b))
	c := check{"make-thumbnail", "s3:PutObject", "arn:aws:s3:::images/thumbnail/2024/IMG_0200.jpg", nil, true}
	b.ReportAllocs()
	for b.Loop() {
		if !s.authorize(c).Allowed {
			b.Fatal("denied")
		}
	}
}

// BenchmarkFromTemplate: reading the policies of the resolved snapshot alone.
func BenchmarkFromTemplate(b *testing.B) {
	s := readStack(b, loadSnapshot(b))
	for b.Loop() {
		if _, err := FromTemplate(s.tmpl, twinEnv); err != nil {
			b.Fatal(err)
		}
	}
}
