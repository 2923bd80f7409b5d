package lambdart

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Runtime API (version 2018-06-01) as a provided.al2023 bootstrap sees it at
// http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/...
const runtimeAPIPrefix = "/2018-06-01/runtime/"

// Headers of the Runtime API.
const (
	hdrRequestID     = "Lambda-Runtime-Aws-Request-Id"
	hdrDeadline      = "Lambda-Runtime-Deadline-Ms"
	hdrFunctionARN   = "Lambda-Runtime-Invoked-Function-Arn"
	hdrTraceID       = "Lambda-Runtime-Trace-Id"
	hdrClientContext = "Lambda-Runtime-Client-Context"
	hdrErrorType     = "Lambda-Runtime-Function-Error-Type"
	trlErrorBody     = "Lambda-Runtime-Function-Error-Body"
)

// ServeHTTP serves the sandbox's Runtime API.
func (sb *sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, runtimeAPIPrefix)
	switch {
	case !ok:
	case path == "invocation/next" && r.Method == http.MethodGet:
		sb.serveNext(w, r)
		return
	case path == "init/error" && r.Method == http.MethodPost:
		sb.serveInitError(w, r)
		return
	case strings.HasPrefix(path, "invocation/") && r.Method == http.MethodPost:
		id, action, _ := strings.Cut(strings.TrimPrefix(path, "invocation/"), "/")
		switch action {
		case "response":
			sb.serveResponse(w, r, id)
			return
		case "error":
			sb.serveError(w, r, id)
			return
		}
	}
	writeRuntimeError(w, http.StatusNotFound, "InvalidRequest", "unknown Runtime API path "+r.Method+" "+r.URL.Path)
}

// serveNext blocks until an invocation is dispatched to this sandbox. Its first call
// ends the init phase.
func (sb *sandbox) serveNext(w http.ResponseWriter, r *http.Request) {
	first := false
	sb.readyOnce.Do(func() {
		sb.initDur = time.Since(sb.started)
		close(sb.ready)
		first = true
	})
	if !first {
		// Back for more: the previous invocation is over (see awaitParked).
		select {
		case sb.parked <- struct{}{}:
		default:
		}
	}
	select {
	case inv := <-sb.next:
		sb.mu.Lock()
		sb.active = inv
		sb.mu.Unlock()
		h := w.Header()
		h.Set(hdrRequestID, inv.id)
		h.Set(hdrDeadline, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set(hdrFunctionARN, inv.invokedARN)
		h.Set(hdrTraceID, inv.traceID)
		if inv.clientContext != "" {
			h.Set(hdrClientContext, inv.clientContext)
		}
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(inv.payload)
	case <-r.Context().Done():
	}
}

// serveResponse takes the function's result. A response over Lambda's limit fails
// the invocation with Function.ResponseSizeTooLarge and is refused with 413.
func (sb *sandbox) serveResponse(w http.ResponseWriter, r *http.Request, id string) {
	inv := sb.activeInvocation(id)
	if inv == nil {
		writeRuntimeError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxResponsePayload+1))
	switch {
	case len(body) > MaxResponsePayload:
		sb.finish(inv, outcome{err: responseTooLarge()})
		writeRuntimeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", MaxResponsePayload))
		return
	case err != nil:
		// The body broke off: Lambda reports a truncated response.
		sb.finish(inv, outcome{err: platformError("Runtime.TruncatedResponse",
			fmt.Sprintf("RequestId: %s Error: runtime response was truncated: %v", id, err))})
		writeRuntimeError(w, http.StatusBadRequest, "Runtime.TruncatedResponse", err.Error())
		return
	case r.Trailer.Get(hdrErrorType) != "":
		// A streamed response that failed midway names its error in trailers
		// (aws-lambda-go does this when reading the handler's response fails).
		errBody, _ := base64.StdEncoding.DecodeString(r.Trailer.Get(trlErrorBody))
		sb.finish(inv, outcome{err: postedError(errBody, r.Trailer.Get(hdrErrorType))})
	default:
		sb.finish(inv, outcome{payload: body})
	}
	writeAccepted(w)
}

// serveError takes an error the runtime reports for the invocation.
func (sb *sandbox) serveError(w http.ResponseWriter, r *http.Request, id string) {
	inv := sb.activeInvocation(id)
	if inv == nil {
		writeRuntimeError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, MaxResponsePayload))
	sb.finish(inv, outcome{err: postedError(body, r.Header.Get(hdrErrorType))})
	writeAccepted(w)
}

// serveInitError takes an error the runtime reports before its first /next.
func (sb *sandbox) serveInitError(w http.ResponseWriter, r *http.Request) {
	select {
	case <-sb.ready:
		writeRuntimeError(w, http.StatusForbidden, "InvalidStateTransition",
			"State transition from Ready to InitError failed for runtime. Error: State transition is not allowed")
		return
	default:
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, MaxResponsePayload))
	select {
	case sb.initErr <- postedError(body, r.Header.Get(hdrErrorType)):
	default: // only the first report counts
	}
	writeAccepted(w)
}

func (sb *sandbox) activeInvocation(id string) *invocation {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if sb.active == nil || sb.active.id != id {
		return nil
	}
	return sb.active
}

// finish records an invocation's outcome before the runtime hears back, so that a
// runtime that exits right after posting has still delivered its answer.
func (sb *sandbox) finish(inv *invocation, o outcome) {
	sb.mu.Lock()
	if sb.active == inv {
		sb.active = nil
	}
	sb.mu.Unlock()
	inv.complete(o)
}

func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"OK"}`))
}

func writeRuntimeError(w http.ResponseWriter, status int, typ, msg string) {
	b, _ := json.Marshal(struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}{msg, typ})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
