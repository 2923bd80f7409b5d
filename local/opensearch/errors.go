package opensearch

import (
	"fmt"
	"net/http"
)

// apiError is an OpenSearch error answer:
//
//	{"error": {"root_cause": [cause], "type": ..., "reason": ..., <metadata>}, "status": N}
//
// the shape OpenSearch's REST layer writes for every failed request
// (https://docs.opensearch.org/latest/api-reference/ — each API's error examples).
// wrap, when set, is the outer exception (search_phase_execution_exception) and the
// error itself its root cause.
type apiError struct {
	status int
	typ    string
	reason string
	meta   map[string]any // index, index_uuid, shard, resource.type...
	wrap   *apiError
	twin   bool // refused because the twin does not serve it
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.typ, e.reason) }

func (e *apiError) cause() map[string]any {
	m := map[string]any{"type": e.typ, "reason": e.reason}
	for k, v := range e.meta {
		m[k] = v
	}
	return m
}

// body is the JSON answer.
func (e *apiError) body() map[string]any {
	top := e.cause()
	if e.wrap != nil {
		top = e.wrap.cause()
		top["caused_by"] = e.cause()
	}
	top["root_cause"] = []any{e.cause()}
	return map[string]any{"error": top, "status": e.status}
}

// unsupported is the twin's answer to anything searchindex.OpenSearch does not send:
// a 400 in OpenSearch's shape, never a guess at what OpenSearch would have done. The
// handler appends the request: "<what> not supported by the imagepipe twin: PUT /x".
func unsupported(what string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "illegal_argument_exception", twin: true,
		reason: fmt.Sprintf(what, args...) + " not supported by the imagepipe twin"}
}

func illegalArgument(reason string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "illegal_argument_exception", reason: fmt.Sprintf(reason, args...)}
}

// indexNotFound is OpenSearch's 404 for a missing index.
func indexNotFound(name string) *apiError {
	return &apiError{status: http.StatusNotFound, typ: "index_not_found_exception",
		reason: "no such index [" + name + "]",
		meta:   map[string]any{"index": name, "index_uuid": "_na_", "resource.type": "index_or_alias", "resource.id": name}}
}

// alreadyExists is OpenSearch's answer to creating an index that exists (a 400, not
// a 409: https://docs.opensearch.org/latest/api-reference/index-apis/create-index/).
func alreadyExists(name, uuid string) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "resource_already_exists_exception",
		reason: "index [" + name + "/" + uuid + "] already exists",
		meta:   map[string]any{"index": name, "index_uuid": uuid}}
}

// invalidIndexName follows the create index API's naming rules.
func invalidIndexName(name, why string) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "invalid_index_name_exception",
		reason: "Invalid index name [" + name + "], " + why,
		meta:   map[string]any{"index": name, "index_uuid": "_na_"}}
}

// versionConflict is the 409 of a conditional write whose condition does not hold:
// "[<id>]: version conflict, <explanation>", as OpenSearch's
// VersionConflictEngineException words it (opensearch-project/OpenSearch,
// server/src/main/java/org/opensearch/index/engine/VersionConflictEngineException.java;
// https://docs.opensearch.org/latest/api-reference/document-apis/index-document/).
func versionConflict(ix *index, id, explanation string) *apiError {
	return &apiError{status: http.StatusConflict, typ: "version_conflict_engine_exception",
		reason: "[" + id + "]: version conflict, " + explanation,
		meta:   map[string]any{"index": ix.name, "index_uuid": ix.meta.UUID, "shard": "0"}}
}

// mapperParsing is the 400 for a document that does not fit the index's mapping.
func mapperParsing(reason string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "mapper_parsing_exception", reason: fmt.Sprintf(reason, args...)}
}

// validationFailed is OpenSearch's ActionRequestValidationException.
func validationFailed(reason string) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "action_request_validation_exception",
		reason: "Validation Failed: 1: " + reason + ";"}
}

// parsing is the 400 for a request body OpenSearch cannot parse.
func parsing(reason string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "parsing_exception", reason: fmt.Sprintf(reason, args...)}
}

// shardFailure wraps a query-phase failure as OpenSearch reports it: a
// search_phase_execution_exception "all shards failed" caused by e.
func shardFailure(ix *index, e *apiError) *apiError {
	e.wrap = &apiError{status: e.status, typ: "search_phase_execution_exception", reason: "all shards failed",
		meta: map[string]any{"phase": "query", "grouped": true,
			"failed_shards": []any{map[string]any{"shard": 0, "index": ix.name, "node": nodeID, "reason": e.cause()}}}}
	return e
}
