package lambdart

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"
)

// listPageMax is how many functions one ListFunctions page holds at most (Lambda
// returns at most 50 whatever MaxItems says).
const listPageMax = 50

// Handler serves the Lambda REST API subset (restJson1) the AWS CLI and SDKs use:
// Invoke, ListFunctions, GetFunction, GetFunctionConfiguration and
// GetFunctionConcurrency. Requests are not authenticated here (the edge verifies
// SigV4 before dispatching to it).
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", s.apiInvoke)
	mux.HandleFunc("GET /2015-03-31/functions/{$}", s.apiListFunctions)
	mux.HandleFunc("GET /2015-03-31/functions", s.apiListFunctions)
	mux.HandleFunc("GET /2015-03-31/functions/{name}", s.apiGetFunction)
	mux.HandleFunc("GET /2015-03-31/functions/{name}/configuration", s.apiGetFunctionConfiguration)
	mux.HandleFunc("GET /2019-09-30/functions/{name}/concurrency", s.apiGetFunctionConcurrency)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeAPIError(w, &serviceError{Status: http.StatusNotFound, Code: "UnknownOperationException",
			Message: "The twin's Lambda does not serve " + r.Method + " " + r.URL.Path, Type: "User"})
	})
	return mux
}

// apiInvoke is Invoke: POST /2015-03-31/functions/{name}/invocations.
func (s *Service) apiInvoke(w http.ResponseWriter, r *http.Request) {
	invType := r.Header.Get("X-Amz-Invocation-Type")
	if invType == "" {
		invType = "RequestResponse"
	}
	if invType != "RequestResponse" && invType != "Event" && invType != "DryRun" {
		writeAPIError(w, enumError(invType, "invocationType", "[RequestResponse, Event, DryRun]"))
		return
	}
	logType := r.Header.Get("X-Amz-Log-Type")
	if logType != "" && logType != "None" && logType != "Tail" {
		writeAPIError(w, enumError(logType, "logType", "[None, Tail]"))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxSyncPayload+1))
	if err != nil {
		writeAPIError(w, invalidContent(err))
		return
	}
	fn, serr := s.lookup(r.PathValue("name"), r.URL.Query().Get("Qualifier"), true)
	if serr != nil {
		writeAPIError(w, serr)
		return
	}
	switch invType {
	case "DryRun":
		if _, serr := checkPayload(body, false); serr != nil {
			writeAPIError(w, serr)
			return
		}
		w.Header().Set("X-Amzn-RequestId", newRequestID())
		w.WriteHeader(http.StatusNoContent)
	case "Event":
		id, serr := s.enqueue(fn, body)
		if serr != nil {
			writeAPIError(w, serr)
			return
		}
		w.Header().Set("X-Amzn-RequestId", id)
		w.WriteHeader(http.StatusAccepted)
	default:
		s.apiInvokeSync(w, r, fn, body, logType == "Tail")
	}
}

func (s *Service) apiInvokeSync(w http.ResponseWriter, r *http.Request, fn *function, body []byte, wantTail bool) {
	clientContext := ""
	if cc := r.Header.Get("X-Amz-Client-Context"); cc != "" {
		b, err := base64.StdEncoding.DecodeString(cc)
		if err != nil {
			writeAPIError(w, invalidParameter("Client context must be a valid Base64-encoded JSON object."))
			return
		}
		clientContext = string(b)
	}
	o, err := s.invokeSync(r.Context(), fn, body, clientContext)
	if err != nil {
		var se *serviceError
		if errors.As(err, &se) {
			writeAPIError(w, se)
		}
		return // the caller went away
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amz-Executed-Version", "$LATEST")
	h.Set("X-Amzn-RequestId", o.requestID)
	if wantTail {
		h.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString(o.logTail))
	}
	payload := o.payload
	if o.err != nil {
		h.Set("X-Amz-Function-Error", "Unhandled")
		payload = o.err.Body
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(payload)
}

// apiListFunctions is ListFunctions: GET /2015-03-31/functions/?Marker=&MaxItems=.
// The marker is the name the next page starts at.
func (s *Service) apiListFunctions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := listPageMax
	if v := q.Get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			writeAPIError(w, &serviceError{Status: http.StatusBadRequest, Code: "ValidationException", Type: "User",
				Message: "1 validation error detected: Value '" + v + "' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 10000"})
			return
		}
		limit = min(n, listPageMax)
	}
	start := ""
	if m := q.Get("Marker"); m != "" {
		b, err := base64.RawURLEncoding.DecodeString(m)
		if err != nil {
			writeAPIError(w, invalidParameter("Invalid marker: %s", m))
			return
		}
		start = string(b)
	}
	s.mu.RLock()
	fns := make([]*function, 0, len(s.fns))
	for _, fn := range s.fns {
		if fn.cfg.Name >= start {
			fns = append(fns, fn)
		}
	}
	s.mu.RUnlock()
	sort.Slice(fns, func(i, j int) bool { return fns[i].cfg.Name < fns[j].cfg.Name })
	out := struct {
		Functions  []apiConfiguration
		NextMarker string `json:",omitempty"`
	}{Functions: []apiConfiguration{}}
	for i, fn := range fns {
		if i == limit {
			out.NextMarker = base64.RawURLEncoding.EncodeToString([]byte(fn.cfg.Name))
			break
		}
		out.Functions = append(out.Functions, fn.configuration())
	}
	writeJSON(w, out)
}

// apiGetFunction is GetFunction: GET /2015-03-31/functions/{name}.
func (s *Service) apiGetFunction(w http.ResponseWriter, r *http.Request) {
	fn, serr := s.lookup(r.PathValue("name"), r.URL.Query().Get("Qualifier"), false)
	if serr != nil {
		writeAPIError(w, serr)
		return
	}
	type concurrency struct{ ReservedConcurrentExecutions int }
	out := struct {
		Configuration apiConfiguration
		Code          struct{ RepositoryType, Location string }
		Concurrency   *concurrency `json:",omitempty"`
	}{Configuration: fn.configuration()}
	// Lambda's Location is a presigned URL to the package; the twin's package is the
	// bootstrap on this machine.
	out.Code.RepositoryType = "S3"
	out.Code.Location = (&url.URL{Scheme: "file", Path: fn.cfg.Bootstrap}).String()
	if fn.cfg.ReservedConcurrency > 0 {
		out.Concurrency = &concurrency{fn.cfg.ReservedConcurrency}
	}
	writeJSON(w, out)
}

// apiGetFunctionConfiguration is GetFunctionConfiguration: GET
// /2015-03-31/functions/{name}/configuration.
func (s *Service) apiGetFunctionConfiguration(w http.ResponseWriter, r *http.Request) {
	fn, serr := s.lookup(r.PathValue("name"), r.URL.Query().Get("Qualifier"), false)
	if serr != nil {
		writeAPIError(w, serr)
		return
	}
	writeJSON(w, fn.configuration())
}

// apiGetFunctionConcurrency is GetFunctionConcurrency: GET
// /2019-09-30/functions/{name}/concurrency.
func (s *Service) apiGetFunctionConcurrency(w http.ResponseWriter, r *http.Request) {
	fn, serr := s.lookup(r.PathValue("name"), "", false)
	if serr != nil {
		writeAPIError(w, serr)
		return
	}
	out := struct {
		ReservedConcurrentExecutions *int `json:",omitempty"`
	}{}
	if n := fn.cfg.ReservedConcurrency; n > 0 {
		out.ReservedConcurrentExecutions = &n
	}
	writeJSON(w, out)
}

// apiConfiguration is FunctionConfiguration as GetFunction and ListFunctions return
// it. Environment holds the function's own variables, never those Lambda defines.
type apiConfiguration struct {
	FunctionName     string
	FunctionArn      string
	Runtime          string
	Role             string
	Handler          string
	CodeSize         int64
	Description      string
	Timeout          int
	MemorySize       int
	LastModified     string
	CodeSha256       string
	Version          string
	Environment      *struct{ Variables map[string]string } `json:",omitempty"`
	TracingConfig    struct{ Mode string }
	RevisionId       string
	State            string
	LastUpdateStatus string
	PackageType      string
	Architectures    []string
	EphemeralStorage struct{ Size int }
	SnapStart        struct{ ApplyOn, OptimizationStatus string }
	LoggingConfig    struct{ LogFormat, LogGroup string }
}

func (fn *function) configuration() apiConfiguration {
	f := fn.cfg
	c := apiConfiguration{
		FunctionName: f.Name, FunctionArn: f.ARN, Runtime: f.Runtime, Role: f.Role, Handler: f.Handler,
		CodeSize: fn.codeSize, Description: f.Description, Timeout: int(f.Timeout / time.Second),
		MemorySize: f.MemoryMB, LastModified: fn.lastModified.UTC().Format("2006-01-02T15:04:05.000-0700"),
		CodeSha256: fn.codeSHA, Version: "$LATEST", RevisionId: fn.revisionID,
		State: "Active", LastUpdateStatus: "Successful", PackageType: "Zip",
		Architectures: []string{f.Architecture},
	}
	if len(f.Env) > 0 {
		c.Environment = &struct{ Variables map[string]string }{cloneMap(f.Env)}
	}
	c.TracingConfig.Mode = "PassThrough"
	c.EphemeralStorage.Size = 512
	c.SnapStart.ApplyOn, c.SnapStart.OptimizationStatus = "None", "Off"
	c.LoggingConfig.LogFormat, c.LoggingConfig.LogGroup = "Text", f.LogGroup
	return c
}

func enumError(value, member, set string) *serviceError {
	return &serviceError{Status: http.StatusBadRequest, Code: "ValidationException", Type: "User",
		Message: "1 validation error detected: Value '" + value + "' at '" + member + "' failed to satisfy constraint: Member must satisfy enum value set: " + set}
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeAPIError(w, &serviceError{Status: http.StatusInternalServerError, Code: "ServiceException", Message: err.Error(), Type: "Service"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-RequestId", newRequestID())
	_, _ = w.Write(b)
}

// writeAPIError writes Lambda's error shape: the exception in X-Amzn-ErrorType and
// a {"Type","message"} body (with Reason for throttling).
func writeAPIError(w http.ResponseWriter, e *serviceError) {
	body := map[string]string{"Type": e.Type, "message": e.Message}
	if e.Reason != "" {
		body["Reason"] = e.Reason
	}
	b, _ := json.Marshal(body)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-ErrorType", e.Code)
	h.Set("X-Amzn-RequestId", newRequestID())
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}
