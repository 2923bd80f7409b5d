package statemachine

// Pattern is an EventBridge event pattern, as JSON-ready maps and slices.
type Pattern = map[string]any

// ObjectCreatedPattern matches the "Object Created" events of bucket under upload/.
// The CDK rule and the twin's event router both use it, so they cannot drift.
func ObjectCreatedPattern(bucket string) Pattern {
	return objectPattern(bucket, "Object Created")
}

// ObjectDeletedPattern matches the "Object Deleted" events of bucket under upload/.
func ObjectDeletedPattern(bucket string) Pattern {
	return objectPattern(bucket, "Object Deleted")
}

func objectPattern(bucket, detailType string) Pattern {
	return Pattern{
		"source":      []any{"aws.s3"},
		"detail-type": []any{detailType},
		"detail": Pattern{
			"bucket": Pattern{"name": []any{bucket}},
			"object": Pattern{"key": []any{Pattern{"prefix": "upload/"}}},
		},
	}
}
