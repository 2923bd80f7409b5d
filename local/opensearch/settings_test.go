package opensearch_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/imagepipe/imagepipe/functions/searchindex"
)

func health(t *testing.T, tw *twin, path string) (status string, active, unassigned json.Number) {
	t.Helper()
	st, out := tw.call("GET", path, "")
	if st != 200 {
		t.Fatalf("GET %s: %d %v", path, st, out)
	}
	status, _ = out["status"].(string)
	active, _ = out["active_shards"].(json.Number)
	unassigned, _ = out["unassigned_shards"].(json.Number)
	return status, active, unassigned
}

func replicas(t *testing.T, tw *twin) string {
	t.Helper()
	st, out := tw.call("GET", "/images/_settings", "")
	if st != 200 {
		t.Fatalf("GET _settings: %d %v", st, out)
	}
	s, _ := out["images"].(map[string]any)["settings"].(map[string]any)["index"].(map[string]any)["number_of_replicas"].(string)
	return s
}

// A replica lives on another node than its primary: one node holds none, so an
// index with OpenSearch's default of one replica is yellow there and green once
// _settings sets what the nodes allow, as on a domain in AWS.
func TestReplicasAndClusterHealthFollowTheNodeCount(t *testing.T) {
	tw := newIndex(t) // smallIndex: the default, one replica
	if got := replicas(t, tw); got != "1" {
		t.Fatalf("number_of_replicas %q, want the default 1", got)
	}
	for _, path := range []string{"/_cluster/health", "/_cluster/health/images"} {
		if st, active, un := health(t, tw, path); st != "yellow" || active != "1" || un != "1" {
			t.Errorf("one node, one replica, %s: %s active %s unassigned %s; want yellow 1 1", path, st, active, un)
		}
	}
	if st, out := tw.call("PUT", "/images/_doc/a", `{"key":"a"}`); st != 201 || out["_shards"].(map[string]any)["successful"] != json.Number("1") || out["_shards"].(map[string]any)["total"] != json.Number("2") {
		t.Errorf("write on one node: %d %v", st, out["_shards"])
	}
	if st, out := tw.call("PUT", "/images/_settings", `{"index":{"number_of_replicas":0}}`); st != 200 || out["acknowledged"] != true {
		t.Fatalf("PUT _settings: %d %v", st, out)
	}
	if st, _, un := health(t, tw, "/_cluster/health"); st != "green" || un != "0" {
		t.Errorf("no replicas on one node: %s unassigned %s, want green", st, un)
	}
	tw.restart()
	if got := replicas(t, tw); got != "0" {
		t.Errorf("after a restart number_of_replicas %q, want 0 (kept)", got)
	}
	tw.domain.SetDataNodes(2)
	if st, out := tw.call("PUT", "/images/_settings", `{"index.number_of_replicas": "1"}`); st != 200 {
		t.Fatalf("PUT _settings dotted: %d %v", st, out)
	}
	if st, active, _ := health(t, tw, "/_cluster/health"); st != "green" || active != "2" {
		t.Errorf("two nodes, one replica: %s active %s, want green 2", st, active)
	}
	tw.call("PUT", "/images/_settings", `{"settings":{"index":{"number_of_replicas":2}}}`)
	if st, _, un := health(t, tw, "/_cluster/health"); st != "yellow" || un != "1" {
		t.Errorf("two nodes, two replicas: %s unassigned %s, want yellow 1", st, un)
	}
	st, out := tw.call("PUT", "/images/_settings", `{"index":{"number_of_shards":2}}`)
	expectError(t, "number_of_shards", st, out, 400, "illegal_argument_exception", "illegal_argument_exception", "final images setting [index.number_of_shards], not updateable")
	st, out = tw.call("PUT", "/images/_settings", `{"index":{"number_of_replicas":-1}}`)
	expectError(t, "negative replicas", st, out, 400, "illegal_argument_exception", "illegal_argument_exception", "must be >= 0")
	st, out = tw.call("GET", "/_cluster/health/nope", "")
	expectError(t, "health of a missing index", st, out, 404, "index_not_found_exception", "index_not_found_exception", "no such index [nope]")
}

// index-document's adapter sets the replicas the CDK app computed
// (OPENSEARCH_REPLICAS) on an index that exists already, so an old one-node index
// created with the default turns green.
func TestAdapterSetsReplicasOnAnExistingIndex(t *testing.T) {
	tw := newIndex(t)
	zero := 0
	ix := &searchindex.OpenSearch{Client: tw.ix.Client, Name: "images", Replicas: &zero}
	if _, err := ix.Upsert(context.Background(), doc("upload/a.jpg", "01", t0, "Cat")); err != nil {
		t.Fatal(err)
	}
	if got := replicas(t, tw); got != "0" {
		t.Errorf("number_of_replicas %q after the adapter's first write, want 0", got)
	}
	if st, _, _ := health(t, tw, "/_cluster/health"); st != "green" {
		t.Errorf("health %s, want green", st)
	}
}
