package pipeline

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestNewDocumentLabelledFrom(t *testing.T) {
	in := IndexInput{Labels: Labels{Labels: []Label{{Name: "Red", Confidence: 90}}, LabelledFrom: LabelledRendering}}
	d := NewDocument(in, time.Unix(0, 0))
	b, err := json.Marshal(d)
	if err != nil || d.LabelledFrom != LabelledRendering || !strings.Contains(string(b), `"labelledFrom":"rendering"`) {
		t.Errorf("document %s, %v", b, err)
	}
	// Documents indexed before the field existed, and labels without it, omit it.
	if b, _ := json.Marshal(NewDocument(IndexInput{}, time.Unix(0, 0))); strings.Contains(string(b), "labelledFrom") {
		t.Errorf("empty labelledFrom written: %s", b)
	}
}
