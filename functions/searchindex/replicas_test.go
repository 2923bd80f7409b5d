package searchindex

import (
	"encoding/json"
	"testing"
)

// The index is created with the replicas the domain's nodes allow, or OpenSearch's
// default when none is set; either way the definition stays valid JSON.
func TestIndexDefinitionReplicas(t *testing.T) {
	zero := 0
	for _, c := range []struct {
		replicas *int
		want     any
	}{{nil, nil}, {&zero, 0.0}} {
		var def struct {
			Settings struct {
				Index map[string]any `json:"index"`
			} `json:"settings"`
		}
		if err := json.Unmarshal((&OpenSearch{Replicas: c.replicas}).indexDefinition(), &def); err != nil {
			t.Fatal(err)
		}
		if got := def.Settings.Index["number_of_replicas"]; got != c.want {
			t.Errorf("replicas %v: number_of_replicas %v, want %v", c.replicas, got, c.want)
		}
	}
}
