package api

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/searchindex/searchindextest"
)

func getRequest(id, caller string) []byte {
	req := events.APIGatewayProxyRequest{
		HTTPMethod: "GET", Resource: "/images/{id}", Path: "/images/" + id,
		PathParameters: map[string]string{"id": id},
	}
	req.RequestContext.Identity.CognitoAuthenticationType = caller
	b, _ := json.Marshal(req)
	return b
}

// GET /images/{id} answers the stored document, with what a search hides from the
// caller hidden, and no presigned URLs.
func TestGetDocumentByID(t *testing.T) {
	ix := privateIndex(t)
	id := pipeline.DocumentID("images", "upload/us-east-1:0f0e/lighthouse.jpg")
	s := Search{Index: ix, URLs: pathURLs{}, Logger: quiet}
	for _, c := range []struct {
		caller   string
		wantEXIF map[string]string
	}{{"unauthenticated", publicEXIF}, {"authenticated", privateEXIF}, {"", privateEXIF}} {
		r := invoke(t, s.Handle, getRequest(id, c.caller))
		if r.StatusCode != 200 {
			t.Fatalf("%q: status %d: %s", c.caller, r.StatusCode, r.Body)
		}
		var d pipeline.Document
		if err := json.Unmarshal([]byte(r.Body), &d); err != nil {
			t.Fatal(err)
		}
		if d.ID != id || d.Key != "upload/us-east-1:0f0e/lighthouse.jpg" || d.Camera == nil {
			t.Errorf("%q: document %+v", c.caller, d)
		}
		if !reflect.DeepEqual(d.EXIF, c.wantEXIF) || (d.Location != nil) != (c.caller != "unauthenticated") {
			t.Errorf("%q: exif %v location %v", c.caller, d.EXIF, d.Location)
		}
		if strings.Contains(r.Body, "thumbnailUrl") || strings.Contains(r.Body, "previewUrl") {
			t.Errorf("%q: presigned URLs in %s", c.caller, r.Body)
		}
	}
}

func TestGetDocumentMissingOrMalformed(t *testing.T) {
	s := Search{Index: searchindextest.New(), URLs: pathURLs{}, Logger: quiet}
	for id, want := range map[string]int{
		pipeline.DocumentID("images", "upload/none.jpg"): 404,
		"abc":                   400,
		strings.Repeat("G", 64): 400,
		strings.ToUpper(pipeline.DocumentID("images", "upload/x.jpg")): 400,
		"": 400,
	} {
		r := invoke(t, s.Handle, getRequest(id, "unauthenticated"))
		var e map[string]string
		if r.StatusCode != want || json.Unmarshal([]byte(r.Body), &e) != nil || e["error"] == "" {
			t.Errorf("id %q: %d %s, want %d with an error", id, r.StatusCode, r.Body, want)
		}
	}
}

func (b brokenIndex) Get(context.Context, string) (pipeline.Document, bool, error) {
	return pipeline.Document{}, false, b.err
}

func TestGetDocumentIndexDown(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{&pipeline.TransientError{Op: "get", Err: errors.New("connection reset")}, 503},
		{errors.New("mapping broken: secret detail"), 500},
	} {
		s := Search{Index: brokenIndex{err: tc.err}, URLs: pathURLs{}, Logger: quiet}
		r := invoke(t, s.Handle, getRequest(pipeline.DocumentID("images", "upload/a.jpg"), ""))
		if r.StatusCode != tc.want || strings.Contains(r.Body, "secret") {
			t.Errorf("%v: %d %s", tc.err, r.StatusCode, r.Body)
		}
	}
}
