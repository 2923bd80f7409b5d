package s3edge

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/local/sigv4"
)

// POST Object: a browser-based upload, multipart/form-data, authorized by a policy
// document signed with SigV4 instead of a signed request
// (https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html,
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html,
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTForms.html).

// PostAuth verifies who signed a POST Object's policy and whether they may write
// the object: the twin's keys and its IAM policies. Without one, every POST Object
// is refused (AccessDenied), as a bucket that blocks public access refuses an
// anonymous one.
type PostAuth interface {
	sigv4.Credentials
	// AuthorizePost reports why p may not write bucket/key by POST (s3:PutObject,
	// and s3:PutObjectTagging when the form tags it), or nil.
	AuthorizePost(r *http.Request, p sigv4.Principal, bucket, key string, tagged bool) error
}

// maxFormFields bounds the form fields before the file (the policy, a session
// token, metadata): they are read into memory, the file never is.
const maxFormFields = 1 << 20

// form is a POST Object's fields before the file, by lower-cased name.
type form struct {
	fields   map[string]string
	names    map[string]string // lower-cased → as sent
	file     *multipart.Part
	filename string
}

func (f *form) get(name string) string { return f.fields[strings.ToLower(name)] }

// readForm reads the fields up to the file part, which it leaves unread. S3 ignores
// fields after the file.
func readForm(r *http.Request) (*form, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		e := newError(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
		e.Condition = "Bucket POST must be of the enclosure-type multipart/form-data"
		return nil, e
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	f := &form{fields: map[string]string{}, names: map[string]string{}}
	budget := int64(maxFormFields)
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, errInvalidArgument("file", "", "POST requires exactly one file upload per request.")
		}
		if err != nil {
			return nil, formError(err)
		}
		name := p.FormName()
		lower := strings.ToLower(name)
		if lower == "file" {
			f.file, f.filename = p, p.FileName()
			return f, nil
		}
		v, err := io.ReadAll(io.LimitReader(p, budget+1))
		if err != nil {
			return nil, formError(err)
		}
		if budget -= int64(len(v)); budget < 0 {
			return nil, errMaxPostPreDataLength()
		}
		if _, dup := f.fields[lower]; dup {
			return nil, errInvalidArgument(name, string(v), "POST requires exactly one value for each form field; "+name+" was given twice.")
		}
		f.fields[lower], f.names[lower] = string(v), name
	}
}

func formError(err error) error {
	var se *s3Error
	if errors.As(err, &se) {
		return se // a read timeout
	}
	return newError(400, "MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data.")
}

func errMaxPostPreDataLength() *s3Error {
	e := newError(400, "MaxPostPreDataLengthExceeded", "Your POST request fields preceding the upload file were too large.")
	e.MaxSizeAllowed = strconv.Itoa(maxFormFields)
	return e
}

func errPolicy(msg string) *s3Error {
	return newError(403, "AccessDenied", "Invalid according to Policy: "+msg)
}

// postPolicy is a decoded policy document.
type postPolicy struct {
	expiration time.Time
	conditions []condition
	covered    map[string]bool // lower-cased field names the conditions name
	minSize    int64
	maxSize    int64 // -1: no content-length-range
}

// condition is one policy condition: op is "eq", "starts-with" or
// "content-length-range"; raw is how the policy wrote it, for the error message.
type condition struct {
	op, field, value string
	raw              string
}

// parsePolicy decodes and reads a base64 policy document.
func parsePolicy(b64 string) (*postPolicy, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, newError(400, "InvalidPolicyDocument", "Invalid Policy: Invalid Base64 Encoding.")
	}
	var doc struct {
		Expiration *string           `json:"expiration"`
		Conditions []json.RawMessage `json:"conditions"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, newError(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.")
	}
	if doc.Expiration == nil {
		return nil, newError(400, "InvalidPolicyDocument", "Invalid Policy: Policy missing expiration.")
	}
	if doc.Conditions == nil {
		return nil, newError(400, "InvalidPolicyDocument", "Invalid Policy: Policy missing conditions.")
	}
	exp, err := time.Parse(time.RFC3339, *doc.Expiration)
	if err != nil {
		return nil, newError(400, "InvalidPolicyDocument", "Invalid Policy: Invalid 'expiration' value: '"+*doc.Expiration+"'")
	}
	p := &postPolicy{expiration: exp, covered: map[string]bool{}, maxSize: -1}
	for _, c := range doc.Conditions {
		if err := p.add(c); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// add reads one condition: {"field": "value"} (exact match), ["eq", "$field",
// "value"], ["starts-with", "$field", "prefix"] or ["content-length-range", min, max].
func (p *postPolicy) add(raw json.RawMessage) error {
	invalid := newError(400, "InvalidPolicyDocument", "Invalid Policy: Invalid Condition: "+string(raw))
	var obj map[string]string
	if json.Unmarshal(raw, &obj) == nil {
		if len(obj) != 1 {
			return invalid
		}
		for k, v := range obj {
			p.conditions = append(p.conditions, condition{"eq", strings.ToLower(k), v, string(raw)})
			p.covered[strings.ToLower(k)] = true
		}
		return nil
	}
	var arr []json.RawMessage
	if json.Unmarshal(raw, &arr) != nil || len(arr) != 3 {
		return invalid
	}
	var op string
	if json.Unmarshal(arr[0], &op) != nil {
		return invalid
	}
	switch strings.ToLower(op) {
	case "content-length-range":
		var lo, hi int64
		if json.Unmarshal(arr[1], &lo) != nil || json.Unmarshal(arr[2], &hi) != nil || lo < 0 || hi < lo {
			return invalid
		}
		p.minSize, p.maxSize = lo, hi
		return nil
	case "eq", "starts-with":
		var field, value string
		if json.Unmarshal(arr[1], &field) != nil || json.Unmarshal(arr[2], &value) != nil || !strings.HasPrefix(field, "$") {
			return invalid
		}
		name := strings.ToLower(field[1:])
		p.conditions = append(p.conditions, condition{strings.ToLower(op), name, value, string(raw)})
		p.covered[name] = true
		return nil
	}
	return newError(400, "InvalidPolicyDocument", "Invalid Policy: Invalid Condition Type: "+op)
}

// check applies the conditions to the form (with the URL's bucket as "bucket" and
// the key after ${filename}), and S3's rule that every field is named by one.
func (p *postPolicy) check(f *form, bucket, key string) error {
	value := func(name string) string {
		switch name {
		case "bucket":
			return bucket
		case "key":
			return key
		}
		return f.fields[name]
	}
	for _, c := range p.conditions {
		v := value(c.field)
		ok := v == c.value
		if c.op == "starts-with" {
			ok = strings.HasPrefix(v, c.value)
			if c.field == "content-type" { // a list: each must start with the prefix
				for _, part := range strings.Split(v, ",") {
					ok = ok && strings.HasPrefix(strings.TrimSpace(part), c.value)
				}
			}
		}
		if !ok {
			return errPolicy("Policy Condition failed: " + c.raw)
		}
	}
	for lower, name := range f.names {
		switch {
		case lower == "policy", lower == "x-amz-signature", strings.HasPrefix(lower, "x-ignore-"):
		case !p.covered[lower]:
			return errPolicy("Extra input fields: " + name)
		}
	}
	return nil
}

// postObject answers POST Object: the fields are read and the policy checked before
// the file is read; the file streams to disk, bounded by the policy's
// content-length-range and S3's 5 GiB; the object and its event commit together, as
// a PUT's do.
func (s *Server) postObject(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := s.checkBucket(rq.bucket); err != nil {
		return err
	}
	f, err := readForm(r)
	if err != nil {
		return err
	}
	key, policy, id, err := s.authorizePost(r, rq, f)
	if err != nil {
		return err
	}
	now := s.opts.Now()
	h := http.Header{}
	for _, name := range []string{"Content-Type", "Content-Disposition", "Content-Encoding", "Cache-Control", "Expires"} {
		if v := f.get(name); v != "" {
			h.Set(name, v)
		}
	}
	for lower, v := range f.fields {
		if strings.HasPrefix(lower, "x-amz-meta-") {
			h.Set(lower, v)
		}
	}
	meta, err := objectMeta(h, now)
	if err != nil {
		return err
	}
	var tags []Tag
	if v := f.get("tagging"); v != "" {
		if tags, err = xmlTags([]byte(v)); err != nil {
			return err
		}
	}
	limit := int64(maxPutSize)
	if policy.maxSize >= 0 && policy.maxSize < limit {
		limit = policy.maxSize
	}
	sum := md5.New()
	blob, n, err := s.store.writeFile(s.store.blobs, io.LimitReader(f.file, limit+1), sum)
	if err != nil {
		return formError(bodyError(err))
	}
	if n > limit || n < policy.minSize {
		_ = os.Remove(filepath.Join(s.store.blobs, blob))
		if n > limit {
			return errEntityTooLarge(n, limit)
		}
		e := newError(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
		e.ProposedSize, e.MinSizeAllowed = strconv.FormatInt(n, 10), strconv.FormatInt(policy.minSize, 10)
		return e
	}
	rq.key = key
	ev := s.eventBase(r, rq, pipeline.DetailTypeCreated, ReasonPost)
	if ev != nil {
		ev.requester = id
	}
	op := putOp{
		bucket: rq.bucket, key: key,
		rec:   record{Blob: blob, Size: n, MD5: sum.Sum(nil), Meta: meta, Tags: tags, LastModified: now.UTC()},
		event: ev,
	}
	if _, err := s.commitPut(r.Context(), op); err != nil {
		return err
	}
	postAnswer(w, r, f, rq.bucket, key, hex.EncodeToString(op.rec.MD5))
	return nil
}

// authorizePost checks the form's signature, the policy's expiration and conditions
// and the signer's permission, and returns the object key (${filename} replaced),
// the policy and the requester (the signer's account).
func (s *Server) authorizePost(r *http.Request, rq *request, f *form) (string, *postPolicy, string, error) {
	key, ok := f.fields["key"]
	if !ok {
		return "", nil, "", errInvalidArgument("key", "", "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.")
	}
	key = strings.ReplaceAll(key, "${filename}", f.filename)
	if key == "" {
		return "", nil, "", errInvalidArgument("key", "", "User key must have a length greater than 0.")
	}
	if err := checkKeyEncoding(key); err != nil {
		return "", nil, "", err
	}
	if err := checkKeyLength(key); err != nil {
		return "", nil, "", err
	}
	if f.get("policy") == "" || s.opts.PostAuth == nil {
		return "", nil, "", newError(403, "AccessDenied", "Access Denied") // anonymous: the bucket is not public
	}
	id, err := sigv4.VerifyPost(sigv4.PostFields{
		Policy: f.get("policy"), Algorithm: f.get("x-amz-algorithm"), Credential: f.get("x-amz-credential"),
		Date: f.get("x-amz-date"), Signature: f.get("x-amz-signature"), SecurityToken: f.get("x-amz-security-token"),
	}, s.opts.PostAuth, s.opts.Now(), sigv4.Options{Region: Region})
	if err != nil {
		return "", nil, "", postSigError(err)
	}
	policy, err := parsePolicy(f.get("policy"))
	if err != nil {
		return "", nil, "", err
	}
	if !s.opts.Now().Before(policy.expiration) {
		return "", nil, "", errPolicy("Policy expired.")
	}
	if err := policy.check(f, rq.bucket, key); err != nil {
		return "", nil, "", err
	}
	if err := s.opts.PostAuth.AuthorizePost(r, id.Principal, rq.bucket, key, f.get("tagging") != ""); err != nil {
		return "", nil, "", newError(403, "AccessDenied", err.Error())
	}
	return key, policy, id.Principal.Account, nil
}

// postSigError answers a refused signature in S3's shape.
func postSigError(err error) error {
	var e *sigv4.Error
	if !errors.As(err, &e) {
		return err
	}
	sh := sigv4.S3.Shape(e)
	return newError(sh.Status, sh.Code, sh.Message)
}

// postAnswer is S3's answer to a stored POST: a 303 to success_action_redirect
// (or redirect) with bucket, key and etag added to its query; else
// success_action_status 200 or 201 (with a PostResponse document), any other value
// 204.
func postAnswer(w http.ResponseWriter, r *http.Request, f *form, bucket, key, etag string) {
	loc := location(r, &request{bucket: bucket, key: key})
	w.Header().Set("ETag", `"`+etag+`"`)
	w.Header().Set("Location", loc)
	redirect := f.get("success_action_redirect")
	if redirect == "" {
		redirect = f.get("redirect")
	}
	if u, err := url.Parse(redirect); redirect != "" && err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		q := u.Query()
		q.Set("bucket", bucket)
		q.Set("key", key)
		q.Set("etag", `"`+etag+`"`)
		u.RawQuery = q.Encode()
		w.Header().Set("Location", u.String())
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	switch f.get("success_action_status") {
	case "200":
		w.WriteHeader(http.StatusOK)
	case "201":
		writeXML(w, http.StatusCreated, struct {
			XMLName  xml.Name `xml:"PostResponse"`
			Location string
			Bucket   string
			Key      string
			ETag     string
		}{Location: loc, Bucket: bucket, Key: key, ETag: `"` + etag + `"`})
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// isPostObject tells a POST Object (a form to the bucket itself) from the other
// POSTs on a bucket (DeleteObjects) and on objects.
func isPostObject(r *http.Request, rq *request) bool {
	return r.Method == http.MethodPost && rq.key == "" && len(rq.q) == 0
}

// IsFormUpload reports whether r is a POST Object by its shape alone (a
// multipart/form-data POST to a bucket, without SigV4 in the header or query), so
// that the edge lets it reach the S3 handler, which verifies the form's signature.
func IsFormUpload(r *http.Request) bool {
	if r.Method != http.MethodPost || r.URL.RawQuery != "" || r.Header.Get("Authorization") != "" {
		return false
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return bucket != "" && key == "" && mt == "multipart/form-data"
}
