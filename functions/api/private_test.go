package api

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/searchindex/searchindextest"
)

// A photo with a position, serial numbers and its owner's name, and what anyone may see of it.
var (
	privateEXIF = map[string]string{
		"Make": "HMD Global", "Model": "Nokia 8.3 5G", "DateTimeOriginal": "2019:06:01 10:22:31",
		"GPSLatitude": "43, 28, 1.2", "GPSLatitudeRef": "N", "GPSLongitude": "11, 53, 6", "GPSAltitude": "312",
		"BodySerialNumber": "A1234567", "LensSerialNumber": "L-99", "SerialNumber": "X1",
		"CameraOwnerName": "Ada Lovelace", "OwnerName": "Ada", "Artist": "Ada Lovelace", "XPAuthor": "Ada",
	}
	publicEXIF = map[string]string{"Make": "HMD Global", "Model": "Nokia 8.3 5G", "DateTimeOriginal": "2019:06:01 10:22:31"}
)

func privateIndex(t *testing.T) *searchindextest.Memory {
	t.Helper()
	ix := searchindextest.New()
	key := "upload/us-east-1:0f0e/lighthouse.jpg"
	exif := map[string]string{}
	for k, v := range privateEXIF {
		exif[k] = v
	}
	if _, err := ix.Upsert(context.Background(), pipeline.Document{
		ID: pipeline.DocumentID("images", key), Bucket: "images", Key: key, Format: "jpeg",
		Camera:   &pipeline.Camera{Make: "HMD Global", Model: "Nokia 8.3 5G"},
		Location: &pipeline.Location{Lat: 43.467, Lon: 11.885}, EXIF: exif, UploadedAt: time.Unix(1, 0),
	}); err != nil {
		t.Fatal(err)
	}
	return ix
}

func TestSearchPrivateFields(t *testing.T) {
	ix := privateIndex(t)
	for _, c := range []struct {
		name, caller, policy string
		private              bool
	}{
		{"guest", "unauthenticated", "", false},
		{"guest, signed-in policy", "unauthenticated", PrivateFieldsSignedIn, false},
		{"signed-in user", "authenticated", "", true},
		{"signed-in user, signed-in policy", "authenticated", PrivateFieldsSignedIn, true},
		{"signed-in user, iam policy", "authenticated", PrivateFieldsIAM, false},
		{"signed-in user, unknown policy", "authenticated", "everyone", false},
		{"IAM principal", "", PrivateFieldsIAM, true},
		{"IAM principal, default", "", "", true},
		{"unknown caller kind", "federated", "", false},
	} {
		s := Search{Index: ix, URLs: pathURLs{}, Logger: quiet, PrivateFields: c.policy}
		req := events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/images"}
		req.RequestContext.Identity.CognitoAuthenticationType = c.caller
		payload, _ := json.Marshal(req)
		r := invoke(t, s.Handle, payload)
		var ans SearchResponse
		if err := json.Unmarshal([]byte(r.Body), &ans); err != nil || r.StatusCode != 200 || len(ans.Images) != 1 {
			t.Fatalf("%s: %d %s", c.name, r.StatusCode, r.Body)
		}
		d := ans.Images[0]
		wantEXIF := publicEXIF
		if c.private {
			wantEXIF = privateEXIF
		}
		if !reflect.DeepEqual(d.EXIF, wantEXIF) {
			t.Errorf("%s: exif %v, want %v", c.name, d.EXIF, wantEXIF)
		}
		if (d.Location != nil) != c.private {
			t.Errorf("%s: location %+v", c.name, d.Location)
		}
		if d.Camera == nil || d.Camera.Make != "HMD Global" || d.Key == "" || d.ThumbnailURL != "" && d.Thumbnail == "" {
			t.Errorf("%s: public fields lost: %+v", c.name, d)
		}
	}
	// Redacting a guest's answer leaves the index as it was.
	d, _, _ := ix.Get(context.Background(), pipeline.DocumentID("images", "upload/us-east-1:0f0e/lighthouse.jpg"))
	if d.Location == nil || len(d.EXIF) != len(privateEXIF) {
		t.Errorf("the stored document changed: %+v", d)
	}
}
