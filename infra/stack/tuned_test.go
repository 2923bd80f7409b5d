package stack

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestMemorySizesAreTheTunedOnes holds functionSpecs to the sizes `imagepipe tune`
// chose (local/cost/tuned.json, which the cost model prices): a new tuning run that
// picks another size fails here until the spec follows it.
func TestMemorySizesAreTheTunedOnes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "local", "cost", "tuned.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tuned struct {
		Functions []struct {
			Name     string `json:"name"`
			ChosenMB int    `json:"chosenMB"`
		} `json:"functions"`
	}
	if err := json.Unmarshal(b, &tuned); err != nil {
		t.Fatal(err)
	}
	if len(tuned.Functions) == 0 {
		t.Fatal("tuned.json names no functions")
	}
	specs := map[string]FunctionSpec{}
	for _, s := range functionSpecs() {
		specs[s.Name] = s
	}
	for _, f := range tuned.Functions {
		s, ok := specs[f.Name]
		if !ok {
			t.Errorf("tuned function %s is not in functionSpecs", f.Name)
			continue
		}
		if int(s.MemoryMiB) != f.ChosenMB {
			t.Errorf("%s: functionSpecs gives %v MB, imagepipe tune chose %d MB", f.Name, s.MemoryMiB, f.ChosenMB)
		}
	}
}
