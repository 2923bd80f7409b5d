package eventbus

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/statemachine"
)

func s3Event(detailType, bucket, key string) pipeline.ObjectEvent {
	return pipeline.ObjectEvent{
		Version: "0", ID: "17793124-05d4-b198-2fde-7ededc63b103", DetailType: detailType,
		Source: pipeline.SourceS3, Account: "000000000000", Time: time.Date(2024, 6, 1, 10, 0, 0, 0, time.UTC),
		Region: "us-east-1", Resources: []string{"arn:aws:s3:::" + bucket},
		Detail: pipeline.ObjectDetail{
			Version: "0", Bucket: pipeline.BucketRef{Name: bucket},
			Object:    pipeline.ObjectRef{Key: key, Size: 10, ETag: "abc", Sequencer: "0062E99A88DC407460"},
			RequestID: "R", Requester: "000000000000", Reason: "PutObject",
		},
	}
}

func TestPipelinePatterns(t *testing.T) {
	created, deleted := statemachine.ObjectCreatedPattern("images"), statemachine.ObjectDeletedPattern("images")
	for _, tc := range []struct {
		name    string
		pattern statemachine.Pattern
		ev      pipeline.ObjectEvent
		want    bool
	}{
		{"upload created", created, s3Event("Object Created", "images", "upload/a.jpg"), true},
		{"nested upload", created, s3Event("Object Created", "images", "upload/2024/x/IMG.jpg"), true},
		{"thumbnail write", created, s3Event("Object Created", "images", "thumbnail/a.jpg"), false},
		{"preview write", created, s3Event("Object Created", "images", "preview/a.jpg"), false},
		{"prefix is case-sensitive", created, s3Event("Object Created", "images", "Upload/a.jpg"), false},
		{"no slash", created, s3Event("Object Created", "images", "upload"), false},
		{"other bucket", created, s3Event("Object Created", "other", "upload/a.jpg"), false},
		{"delete on created rule", created, s3Event("Object Deleted", "images", "upload/a.jpg"), false},
		{"delete", deleted, s3Event("Object Deleted", "images", "upload/a.jpg"), true},
		{"thumbnail delete", deleted, s3Event("Object Deleted", "images", "thumbnail/a.jpg"), false},
	} {
		if got := Match(tc.pattern, tc.ev); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	// Another source never matches.
	ev := s3Event("Object Created", "images", "upload/a.jpg")
	ev.Source = "aws.s3x"
	if Match(created, ev) {
		t.Error("other source matched")
	}
}

func TestMatchSemantics(t *testing.T) {
	for _, tc := range []struct {
		pattern, event string
		want           bool
	}{
		{`{"a":["x","y"]}`, `{"a":"y"}`, true},
		{`{"a":["x"]}`, `{"a":"X"}`, false},
		{`{"a":["x"]}`, `{}`, false},
		{`{"a":["x"]}`, `{"a":["q","x"]}`, true}, // array values: any element
		{`{"a":["x"]}`, `{"a":{"x":1}}`, false},
		{`{"a":[5]}`, `{"a":5.0}`, true},
		{`{"a":[5]}`, `{"a":"5"}`, false},
		{`{"a":[true]}`, `{"a":true}`, true},
		{`{"a":[null]}`, `{"a":null}`, true},
		{`{"a":[null]}`, `{}`, false},
		{`{"a":{"b":["x"]}}`, `{"a":{"b":"x","c":1}}`, true},
		{`{"a":{"b":["x"]}}`, `{"a":"b"}`, false},
		{`{"a":{"b":["x"]}}`, `{}`, false},
		{`{"a":[{"prefix":"up/"}]}`, `{"a":"up/x"}`, true},
		{`{"a":[{"prefix":"up/"}]}`, `{"a":7}`, false},
		{`{"a":[{"suffix":".jpg"}]}`, `{"a":"b.jpg"}`, true},
		{`{"a":[{"equals-ignore-case":"JPG"}]}`, `{"a":"jpg"}`, true},
		{`{"a":[{"exists":true}]}`, `{"a":{"b":1}}`, true},
		{`{"a":[{"exists":true}]}`, `{}`, false},
		{`{"a":[{"exists":false}]}`, `{}`, true},
		{`{"a":[{"exists":false}]}`, `{"a":1}`, false},
		{`{"a":{"b":[{"exists":false}]}}`, `{}`, true},
		{`{"a":[{"anything-but":["x","y"]}]}`, `{"a":"z"}`, true},
		{`{"a":[{"anything-but":"x"}]}`, `{"a":"x"}`, false},
		{`{"a":[{"anything-but":"x"}]}`, `{}`, false},
		{`{"a":["x"],"b":["y"]}`, `{"a":"x"}`, false}, // all fields must match
		{`{"a":["x"]}`, `[1]`, false},
		{`{"a":["x"]}`, `not json`, false},
	} {
		p, err := CompileJSON([]byte(tc.pattern))
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		if got := p.Match([]byte(tc.event)); got != tc.want {
			t.Errorf("%s on %s: got %v, want %v", tc.pattern, tc.event, got, tc.want)
		}
	}
}

func TestCompileRejects(t *testing.T) {
	for _, p := range []string{
		`[]`, `"x"`, `{}`, `{"a":"x"}`, `{"a":[]}`, `{"a":{}}`, `{"a":[[1]]}`,
		`{"a":[{"numeric":[">",1]}]}`, `{"a":[{"wildcard":"*.jpg"}]}`, `{"a":[{"cidr":"10.0.0.0/8"}]}`,
		`{"a":[{"prefix":1}]}`, `{"a":[{"prefix":"x","suffix":"y"}]}`, `{"a":[{"exists":"yes"}]}`,
		`{"a":[{"anything-but":{"prefix":"x"}}]}`, `{"a":["x"]} trailing`,
	} {
		if _, err := CompileJSON([]byte(p)); err == nil {
			t.Errorf("%s compiled", p)
		}
	}
	if Match(map[string]any{"a": []any{map[string]any{"numeric": []any{">", 1}}}}, []byte(`{"a":2}`)) {
		t.Error("unsupported operator matched")
	}
}

func TestRouterDispatch(t *testing.T) {
	var mu sync.Mutex
	started := map[string][]string{}
	start := func(ctx context.Context, arn string, input []byte) error {
		var ev pipeline.ObjectEvent
		if err := json.Unmarshal(input, &ev); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		started[arn] = append(started[arn], ev.Detail.Object.Key)
		return nil
	}
	rules := func(start func(context.Context, string, []byte) error) []Rule {
		target := func(arn string) Target {
			return func(ctx context.Context, ev []byte) error { return start(ctx, arn, ev) }
		}
		return []Rule{
			{Name: "object-created", Pattern: statemachine.ObjectCreatedPattern("images"), Target: target("pipe")},
			{Name: "object-deleted", Pattern: statemachine.ObjectDeletedPattern("images"), Target: target("remove")},
		}
	}
	r, err := NewRouter(rules(start)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, ev := range []pipeline.ObjectEvent{
		s3Event("Object Created", "images", "upload/a.jpg"),
		s3Event("Object Created", "images", "thumbnail/a.jpg"),
		s3Event("Object Deleted", "images", "upload/b.jpg"),
		s3Event("Object Deleted", "images", "thumbnail/b.jpg"),
	} {
		if err := r.Dispatch(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if got := started["pipe"]; len(got) != 1 || got[0] != "upload/a.jpg" {
		t.Errorf("pipeline started for %v", got)
	}
	if got := started["remove"]; len(got) != 1 || got[0] != "upload/b.jpg" {
		t.Errorf("remove started for %v", got)
	}

	boom := errors.New("store full")
	failing, err := NewRouter(rules(func(context.Context, string, []byte) error { return boom })...)
	if err != nil {
		t.Fatal(err)
	}
	if err := failing.Dispatch(ctx, s3Event("Object Created", "images", "upload/a.jpg")); !errors.Is(err, boom) {
		t.Fatalf("target error not returned: %v", err)
	}
	if _, err := NewRouter(Rule{Name: "bad", Pattern: statemachine.Pattern{"a": []any{map[string]any{"numeric": []any{">", 1}}}}, Target: func(context.Context, []byte) error { return nil }}); err == nil || !strings.Contains(err.Error(), "numeric") {
		t.Fatalf("bad pattern accepted: %v", err)
	}
}

// FuzzMatch: the matcher never panics, and the pipeline pattern agrees with the rule
// it encodes for any bucket and key.
func FuzzMatch(f *testing.F) {
	f.Add([]byte(`{"a":["x"]}`), []byte(`{"a":"x"}`), "images", "upload/a.jpg")
	f.Add([]byte(`{"a":{"b":[{"prefix":"p"}]}}`), []byte(`{"a":{"b":["px",1]}}`), "images", "thumbnail/a")
	f.Add([]byte(`{"a":[{"exists":false}]}`), []byte(`{}`), "other", "upload/")
	created := statemachine.ObjectCreatedPattern("images")
	cp, err := Compile(created)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, pattern, event []byte, bucket, key string) {
		if p, err := CompileJSON(pattern); err == nil {
			p.Match(event)
		}
		b, err := json.Marshal(s3Event("Object Created", bucket, key))
		if err != nil {
			return
		}
		want := bucket == "images" && strings.HasPrefix(key, "upload/")
		if got := cp.Match(b); got != want {
			t.Fatalf("bucket %q key %q: got %v, want %v", bucket, key, got, want)
		}
	})
}
