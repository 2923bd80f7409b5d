// Command snapshot normalizes a synthesized CloudFormation template for the committed
// snapshot (infra/snapshot/ImagePipe.template.json): `make snapshot` writes it and
// `make test` compares a fresh synth against it.
//
// Asset hashes are replaced by a fixed token, because they change with every build of
// a Lambda bootstrap or of the web app while the infrastructure stays the same; the
// twin finds a function's code by its imagepipe:function metadata, not by its asset.
// Keys are sorted and indented so that a review reads the diff of an infra change.
//
//	go run ./infra/cmd/snapshot < cdk.out/ImagePipe.template.json > infra/snapshot/ImagePipe.template.json
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
)

// assetHash is a CDK asset's content hash (SHA-256, hex), wherever it stands in a string.
var assetHash = regexp.MustCompile(`[0-9a-f]{64}`)

// HashToken stands for every asset hash in the snapshot.
const HashToken = "ASSET-HASH"

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err == nil {
		var out []byte
		if out, err = normalize(in); err == nil {
			_, err = os.Stdout.Write(out)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "snapshot:", err)
		os.Exit(1)
	}
}

func normalize(template []byte) ([]byte, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(template))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("template is not JSON: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(scrub(v)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// scrub replaces asset hashes in every string, map key included.
func scrub(v any) any {
	switch x := v.(type) {
	case string:
		return assetHash.ReplaceAllString(x, HashToken)
	case []any:
		for i := range x {
			x[i] = scrub(x[i])
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[assetHash.ReplaceAllString(k, HashToken)] = scrub(e)
		}
		return out
	default:
		return v
	}
}
