package opensearch

import (
	"encoding/json"
	"testing"
)

func TestDateMillis(t *testing.T) {
	for in, want := range map[string]int64{
		`"2024-05-01T12:00:00Z"`:           1714564800000,
		`"2024-05-01T12:00:00.123456789Z"`: 1714564800123,
		`"2024-05-01T14:00:00+02:00"`:      1714564800000,
		`"2024-05-01T12:00:00"`:            1714564800000, // no zone: UTC
		`"2024-05-01"`:                     1714521600000,
		`"2024"`:                           1704067200000,
		`1714564800000`:                    1714564800000, // epoch_millis
		`"1714564800000"`:                  1714564800000,
		`"0001-01-01T00:00:00Z"`:           -62135596800000, // Go's zero time, as JSON writes it
	} {
		if got, ok := dateMillis(json.RawMessage(in)); !ok || got != want {
			t.Errorf("dateMillis(%s) = %d %v, want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{`"yesterday"`, `"2024-13-01"`, `true`, `{"a":1}`, `"01/05/2024"`} {
		if got, ok := dateMillis(json.RawMessage(in)); ok {
			t.Errorf("dateMillis(%s) = %d, want an error", in, got)
		}
	}
}

func TestNumber(t *testing.T) {
	for _, tc := range []struct {
		typ, in string
		want    float64
		ok      bool
	}{
		{"long", `12`, 12, true}, {"long", `"12"`, 12, true}, {"long", `12.9`, 12, true}, {"long", `-12.9`, -12, true},
		{"integer", `3000000000`, 0, false}, {"byte", `128`, 0, false}, {"float", `1.5`, 1.5, true},
		{"long", `"x"`, 0, false}, {"long", `true`, 0, false}, {"double", `"NaN"`, 0, false},
	} {
		if got, ok := number(tc.typ, json.RawMessage(tc.in)); ok != tc.ok || got != tc.want {
			t.Errorf("number(%s, %s) = %v %v, want %v %v", tc.typ, tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestAnalyzeAsStandard(t *testing.T) {
	// The standard tokenizer's word boundaries (UAX #29), lower-cased.
	got, _ := json.Marshal(analyze("upload/2024/IMG_0200.jpg cat.png Nokia 8.3 5G l'été 日本"))
	if string(got) != `["upload","2024","img_0200","jpg","cat.png","nokia","8.3","5g","l'été","日","本"]` {
		t.Errorf("analyze: %s", got)
	}
}

func TestValidIndexName(t *testing.T) {
	for _, ok := range []string{"images", "images-2024", "a.b", "日本"} {
		if err := validIndexName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "Images", "_x", "-x", "+x", "a b", "a/b", "a*", "a:b", "a,b", "a#b", string(make([]byte, 256))} {
		if validIndexName(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
