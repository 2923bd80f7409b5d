package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/searchindex"
	"github.com/imagepipe/imagepipe/functions/searchindex/searchindextest"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type pathURLs struct{}

func (pathURLs) URL(_ context.Context, bucket, key string) (string, error) {
	return "http://127.0.0.1:8080/objects/" + bucket + "/" + key, nil
}

var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

func seeded(t *testing.T) *searchindextest.Memory {
	t.Helper()
	ix := searchindextest.New()
	for i, l := range []string{"Lighthouse", "Cat"} {
		key := "upload/" + strings.ToLower(l) + ".jpg"
		_, err := ix.Upsert(context.Background(), pipeline.Document{
			ID: pipeline.DocumentID("images", key), Bucket: "images", Key: key, Format: "jpeg",
			Thumbnail: pipeline.ThumbnailKey(key), Preview: pipeline.PreviewKey(key),
			Labels: []pipeline.Label{{Name: l, Confidence: 90}}, UploadedAt: time.Unix(int64(i), 0),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return ix
}

func invoke(t *testing.T, h any, payload []byte) events.APIGatewayProxyResponse {
	t.Helper()
	out, err := lambda.NewHandler(h).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("handler returned an error (API Gateway would answer 502): %v", err)
	}
	var r events.APIGatewayProxyResponse
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	if r.Headers["Access-Control-Allow-Origin"] != "*" {
		t.Errorf("no CORS header: %v", r.Headers)
	}
	if r.Body != "" && !json.Valid([]byte(r.Body)) {
		t.Errorf("body is not JSON: %q", r.Body)
	}
	return r
}

func TestSearchContract(t *testing.T) {
	s := Search{Index: seeded(t), URLs: pathURLs{}, Logger: quiet}
	r := invoke(t, s.Handle, fixture(t, "search-request.json"))
	if r.StatusCode != 200 {
		t.Fatalf("status %d: %s", r.StatusCode, r.Body)
	}
	var body struct {
		Total  int64 `json:"total"`
		Images []struct {
			Key          string `json:"key"`
			ThumbnailURL string `json:"thumbnailUrl"`
			PreviewURL   string `json:"previewUrl"`
		} `json:"images"`
	}
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		t.Fatal(err)
	}
	if body.Total != 1 || len(body.Images) != 1 || body.Images[0].Key != "upload/lighthouse.jpg" ||
		body.Images[0].ThumbnailURL != "http://127.0.0.1:8080/objects/images/thumbnail/lighthouse.jpg" ||
		body.Images[0].PreviewURL != "http://127.0.0.1:8080/objects/images/preview/lighthouse.jpg" {
		t.Errorf("body: %s", r.Body)
	}
}

func request(params map[string]string) []byte {
	mv := map[string][]string{}
	for k, v := range params {
		mv[k] = []string{v}
	}
	b, _ := json.Marshal(events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/images", QueryStringParameters: params, MultiValueQueryStringParameters: mv})
	return b
}

// No search term, or an empty one, lists every image, newest first: the gallery.
func TestSearchWithoutATermListsEverything(t *testing.T) {
	s := Search{Index: seeded(t), URLs: pathURLs{}, Logger: quiet}
	for name, params := range map[string]map[string]string{"absent": {}, "empty": {"search": ""}} {
		r := invoke(t, s.Handle, request(params))
		var ans SearchResponse
		if err := json.Unmarshal([]byte(r.Body), &ans); err != nil || r.StatusCode != 200 || ans.Total != 2 || len(ans.Images) != 2 {
			t.Errorf("%s: %d %s", name, r.StatusCode, r.Body)
		}
	}
}

func TestSearchBadParameters(t *testing.T) {
	s := Search{Index: seeded(t), URLs: pathURLs{}, Logger: quiet}
	for name, params := range map[string]map[string]string{
		"too long":        {"search": strings.Repeat("a", MaxSearchLength+1)},
		"control":         {"search": "a\x00b"},
		"size zero":       {"search": "a", "size": "0"},
		"size big":        {"search": "a", "size": "101"},
		"size text":       {"search": "a", "size": "ten"},
		"from neg":        {"search": "a", "from": "-1"},
		"from big":        {"search": "a", "from": "10001"},
		"window":          {"search": "a", "from": "9950", "size": "100"},
		"from float":      {"search": "a", "from": "1.5"},
		"huge integer":    {"search": "a", "from": "99999999999999999999"},
		"sort":            {"sort": "size"},
		"load":            {"load": "hide"},
		"hasLocation":     {"hasLocation": "yes"},
		"label long":      {"label": strings.Repeat("a", MaxSearchLength+1)},
		"camera ctrl":     {"camera": "EOS\n40D"},
		"takenFrom":       {"takenFrom": "14/07/2021"},
		"takenTo day":     {"takenTo": "2021-02-30"},
		"takenTo time":    {"takenTo": "2021-07-14T10:00:00Z"},
		"takenFrom empty": {"takenFrom": ""},
		"range order":     {"takenFrom": "2021-07-15", "takenTo": "2021-07-14"},
	} {
		r := invoke(t, s.Handle, request(params))
		var e map[string]string
		_ = json.Unmarshal([]byte(r.Body), &e)
		if r.StatusCode != 400 || e["error"] == "" {
			t.Errorf("%s: %d %s", name, r.StatusCode, r.Body)
		}
	}
	// The reason is in the answer.
	r := invoke(t, s.Handle, request(map[string]string{"takenFrom": "2021-07-14", "takenTo": "2021-7-15"}))
	if r.StatusCode != 400 || !strings.Contains(r.Body, "takenTo") || !strings.Contains(r.Body, "YYYY-MM-DD") {
		t.Errorf("bad takenTo: %d %s", r.StatusCode, r.Body)
	}
	// Repeated parameter.
	b, _ := json.Marshal(events.APIGatewayProxyRequest{HTTPMethod: "GET", QueryStringParameters: map[string]string{"search": "b"},
		MultiValueQueryStringParameters: map[string][]string{"search": {"a", "b"}}})
	if r := invoke(t, s.Handle, b); r.StatusCode != 400 {
		t.Errorf("repeated: %d", r.StatusCode)
	}
	// Empty search lists everything; at the limit is fine.
	for _, q := range []string{"", "*", strings.Repeat("é", MaxSearchLength)} {
		if r := invoke(t, s.Handle, request(map[string]string{"search": q})); r.StatusCode != 200 {
			t.Errorf("%q: %d %s", q, r.StatusCode, r.Body)
		}
	}
	b, _ = json.Marshal(events.APIGatewayProxyRequest{HTTPMethod: "OPTIONS"})
	if r := invoke(t, s.Handle, b); r.StatusCode != 204 {
		t.Errorf("preflight: %d", r.StatusCode)
	}
	b, _ = json.Marshal(events.APIGatewayProxyRequest{HTTPMethod: "POST"})
	if r := invoke(t, s.Handle, b); r.StatusCode != 405 {
		t.Errorf("POST: %d", r.StatusCode)
	}
}

func TestSearchFiltersAndSorts(t *testing.T) {
	ix := searchindextest.New()
	docs := []pipeline.Document{
		{Key: "upload/a/harbour.jpg", TakenAt: "2020-05-01T10:00:00Z", Camera: &pipeline.Camera{Make: "Canon", Model: "Canon EOS 40D"},
			Location: &pipeline.Location{Lat: 43.4, Lon: 11.8}, Labels: []pipeline.Label{{Name: "Boat", Confidence: 90}}},
		{Key: "upload/a/meadow.jpg", TakenAt: "2022-05-01T06:00:00+10:00", Labels: []pipeline.Label{{Name: "Grass", Confidence: 90}}},
		{Key: "upload/load/run1/0001.jpg", Labels: []pipeline.Label{{Name: "Boat", Confidence: 90}}},
	}
	for i, d := range docs {
		d.ID, d.Bucket, d.Format, d.UploadedAt = pipeline.DocumentID("images", d.Key), "images", "jpeg", time.Unix(int64(i), 0)
		if _, err := ix.Upsert(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	s := Search{Index: ix, URLs: pathURLs{}, Logger: quiet}
	keys := func(params map[string]string) []string {
		r := invoke(t, s.Handle, request(params))
		var ans SearchResponse
		if err := json.Unmarshal([]byte(r.Body), &ans); err != nil || r.StatusCode != 200 {
			t.Fatalf("%v: %d %s", params, r.StatusCode, r.Body)
		}
		var out []string
		for _, d := range ans.Images {
			out = append(out, d.Key[strings.LastIndexByte(d.Key, '/')+1:])
		}
		return out
	}
	for _, c := range []struct {
		params map[string]string
		want   string
	}{
		{map[string]string{}, "0001.jpg meadow.jpg harbour.jpg"},
		{map[string]string{"load": "exclude"}, "meadow.jpg harbour.jpg"},
		{map[string]string{"load": "only"}, "0001.jpg"},
		{map[string]string{"sort": "taken", "load": "exclude"}, "meadow.jpg harbour.jpg"},
		{map[string]string{"sort": "taken"}, "meadow.jpg harbour.jpg 0001.jpg"},
		{map[string]string{"label": "Boat"}, "0001.jpg harbour.jpg"},
		{map[string]string{"label": "boat"}, ""},
		{map[string]string{"camera": "Canon EOS 40D"}, "harbour.jpg"},
		{map[string]string{"hasLocation": "true"}, "harbour.jpg"},
		{map[string]string{"search": "boat", "load": "exclude"}, "harbour.jpg"},
		{map[string]string{"takenFrom": "2020-05-01", "takenTo": "2020-05-01"}, "harbour.jpg"}, // one day, inclusive
		{map[string]string{"takenFrom": "2020-05-02"}, "meadow.jpg"},
		{map[string]string{"takenTo": "2020-04-30"}, ""},
		{map[string]string{"takenFrom": "2019-01-01", "takenTo": "2022-05-01", "label": "Boat"}, "harbour.jpg"}, // undated 0001.jpg left out
		{map[string]string{"takenFrom": "2022-05-01", "takenTo": "2022-05-01"}, ""},                             // 20:00 the day before, in UTC
		{map[string]string{"takenFrom": "2022-04-30", "takenTo": "2022-04-30"}, "meadow.jpg"},
	} {
		if got := strings.Join(keys(c.params), " "); got != c.want {
			t.Errorf("%v: %q, want %q", c.params, got, c.want)
		}
	}
}

type brokenIndex struct {
	searchindex.Index
	err error
}

func (b brokenIndex) Search(context.Context, searchindex.Query) (searchindex.Result, error) {
	return searchindex.Result{}, b.err
}
func (b brokenIndex) Count(context.Context) (int64, error) { return 0, b.err }

func TestIndexFailures(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{&pipeline.ThrottledError{Service: "opensearch", Err: errors.New("429")}, 503},
		{&pipeline.TransientError{Op: "x", Err: errors.New("502")}, 503},
		{errors.New("mapping broken: secret detail"), 500},
	} {
		s := Search{Index: brokenIndex{err: tc.err}, URLs: pathURLs{}, Logger: quiet}
		r := invoke(t, s.Handle, request(map[string]string{"search": "a"}))
		if r.StatusCode != tc.want || strings.Contains(r.Body, "secret") {
			t.Errorf("%v: %d %s", tc.err, r.StatusCode, r.Body)
		}
		p := Ping{Index: brokenIndex{err: tc.err}, Logger: quiet}
		if r := invoke(t, p.Handle, fixture(t, "search-ping-request.json")); r.StatusCode != tc.want {
			t.Errorf("ping %v: %d", tc.err, r.StatusCode)
		}
	}
}

func TestPing(t *testing.T) {
	r := invoke(t, Ping{Index: seeded(t), Logger: quiet}.Handle, fixture(t, "search-ping-request.json"))
	if r.StatusCode != 200 || r.Body != `{"count":2}` {
		t.Errorf("ping: %d %s", r.StatusCode, r.Body)
	}
}

func TestPresigner(t *testing.T) {
	c := s3.NewFromConfig(aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	u, err := Presigner{Client: s3.NewPresignClient(c)}.URL(context.Background(), "images", "thumbnail/a b.jpg")
	if err != nil {
		t.Fatal(err)
	}
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := pu.Query()
	if pu.Scheme != "https" || !strings.HasSuffix(pu.Path, "/thumbnail/a%20b.jpg") && !strings.HasSuffix(pu.EscapedPath(), "/thumbnail/a%20b.jpg") ||
		q.Get("X-Amz-Expires") != "900" || q.Get("X-Amz-Signature") == "" || !strings.Contains(q.Get("X-Amz-Credential"), "/eu-west-1/s3/") {
		t.Errorf("presigned URL: %s", u)
	}
}

func FuzzParseSearch(f *testing.F) {
	f.Add("ligthouse", "0", "10")
	f.Add("", "-1", "x")
	f.Add("\xff", "10000", "1")
	f.Fuzz(func(t *testing.T, q, from, size string) {
		got, err := ParseSearch(events.APIGatewayProxyRequest{QueryStringParameters: map[string]string{"search": q, "from": from, "size": size}})
		if err != nil {
			var ip *pipeline.InvalidParameterError
			if !errors.As(err, &ip) {
				t.Fatalf("untyped error %T", err)
			}
			return
		}
		if got.From < 0 || got.Size < 1 || got.Size > MaxSize || got.From+got.Size > searchindex.MaxWindow || len([]rune(got.Text)) > MaxSearchLength {
			t.Fatalf("accepted out-of-range %+v", got)
		}
	})
}

// Duplicates (same bytes under other keys) come back once, as their original with
// alsoKeys; the total counts originals.
func TestSearchFoldsDuplicates(t *testing.T) {
	ix := seeded(t)
	ctx := context.Background()
	orig := pipeline.DocumentID("images", "upload/lighthouse.jpg")
	d, _, _ := ix.Get(ctx, orig)
	d.ContentHash = "feed"
	if _, err := ix.Upsert(ctx, d); err != nil {
		t.Fatal(err)
	}
	for i, key := range []string{"upload/copies/lighthouse (1).jpg", "upload/copies/lighthouse (2).jpg"} {
		c := d
		c.ID, c.Key, c.DuplicateOf = pipeline.DocumentID("images", key), key, orig
		c.Thumbnail, c.Preview = pipeline.ThumbnailKey(key), pipeline.PreviewKey(key)
		c.UploadedAt = d.UploadedAt.Add(time.Duration(i+1) * time.Hour)
		if _, err := ix.Upsert(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	s := Search{Index: ix, URLs: pathURLs{}, Logger: quiet}
	for q, wantTotal := range map[string]int64{"lighthouse": 1, "*": 2} {
		r := invoke(t, s.Handle, request(map[string]string{"search": q}))
		var body struct {
			Total  int64 `json:"total"`
			Images []struct {
				Key          string   `json:"key"`
				DuplicateOf  string   `json:"duplicateOf"`
				AlsoKeys     []string `json:"alsoKeys"`
				ThumbnailURL string   `json:"thumbnailUrl"`
			} `json:"images"`
		}
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil || r.StatusCode != 200 {
			t.Fatalf("%q: %d %s", q, r.StatusCode, r.Body)
		}
		if body.Total != wantTotal || len(body.Images) != int(wantTotal) {
			t.Errorf("%q: total %d, %d images, want %d: %s", q, body.Total, len(body.Images), wantTotal, r.Body)
			continue
		}
		var seen []string
		for _, im := range body.Images {
			seen = append(seen, im.Key)
			if im.DuplicateOf != "" {
				t.Errorf("%q: a duplicate is listed: %s", q, im.Key)
			}
			if im.Key == "upload/lighthouse.jpg" {
				if strings.Join(im.AlsoKeys, "|") != "upload/copies/lighthouse (1).jpg|upload/copies/lighthouse (2).jpg" {
					t.Errorf("%q: alsoKeys %v", q, im.AlsoKeys)
				}
				if im.ThumbnailURL != "http://127.0.0.1:8080/objects/images/thumbnail/lighthouse.jpg" {
					t.Errorf("%q: thumbnail %s", q, im.ThumbnailURL)
				}
			}
		}
		if !slices.Contains(seen, "upload/lighthouse.jpg") {
			t.Errorf("%q: original missing: %v", q, seen)
		}
	}
	// Ping counts documents, copies included.
	if r := invoke(t, Ping{Index: ix, Logger: quiet}.Handle, fixture(t, "search-ping-request.json")); r.Body != `{"count":4}` {
		t.Errorf("ping: %s", r.Body)
	}
}
