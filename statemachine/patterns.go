package statemachine

import "github.com/imagepipe/imagepipe/functions/pipeline"

// Pattern is an EventBridge event pattern, as JSON-ready maps and slices.
type Pattern = map[string]any

// ObjectCreatedPattern matches the "Object Created" events of bucket under upload/.
// The CDK app writes it into the template's rule, which the twin deploys.
func ObjectCreatedPattern(bucket string) Pattern {
	return objectPattern(bucket, pipeline.DetailTypeCreated)
}

// ObjectDeletedPattern matches the "Object Deleted" events of bucket under upload/.
func ObjectDeletedPattern(bucket string) Pattern {
	return objectPattern(bucket, pipeline.DetailTypeDeleted)
}

func objectPattern(bucket, detailType string) Pattern {
	return Pattern{
		"source":      []any{pipeline.SourceS3},
		"detail-type": []any{detailType},
		"detail": Pattern{
			"bucket": Pattern{"name": []any{bucket}},
			"object": Pattern{"key": []any{Pattern{"prefix": pipeline.UploadPrefix}}},
		},
	}
}
