package test

import (
	"bytes"
	"net/http"
	"testing"
	"time"
)

// The web app's load tester on the twin: a short run ends with every upload indexed.
func TestLoadTesterAPI(t *testing.T) {
	tw := startTwin(t)
	resp, err := http.Post(tw.HTTPURL+"/api/load", "application/json", bytes.NewReader([]byte(`{"rate": 5, "duration": "1s"}`)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /api/load: %s", resp.Status)
	}
	bad, _ := http.Post(tw.HTTPURL+"/api/load", "application/json", bytes.NewReader([]byte(`{"rate": 500, "duration": "1h"}`)))
	bad.Body.Close()
	if bad.StatusCode != http.StatusBadRequest && bad.StatusCode != http.StatusConflict {
		t.Errorf("an out-of-range run: %s", bad.Status)
	}
	var st struct {
		Running               bool
		Sent, Indexed, Failed int
		P95Ms                 *float64
	}
	waitFor(t, 2*time.Minute, "the load run to finish", func() (bool, error) {
		tw.getJSON(t, "/api/load", &st)
		return !st.Running && st.Sent > 0, nil
	})
	if st.Sent != 5 || st.Indexed != 5 || st.Failed != 0 || st.P95Ms == nil {
		t.Errorf("load status %+v, want 5 sent and indexed with latency figures", st)
	}
}
