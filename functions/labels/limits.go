package labels

import "github.com/imagepipe/imagepipe/functions/imaging"

// Amazon Rekognition's fixed image limits for DetectLabels ("Guidelines and quotas in
// Amazon Rekognition", set quotas, and the Image shape of its API model). The twin's
// Rekognition refuses what they refuse; detect-labels sends a rendering of any
// original outside them.
const (
	// MaxInlineBytes is the largest Image.Bytes, decoded: "5 MB", 5242880 in the
	// model's ImageBlob.
	MaxInlineBytes = 5 << 20
	// MaxS3Bytes is the largest image Rekognition reads from S3: "15 MB", taken as
	// MiB as the 5 MB above is.
	MaxS3Bytes = 15 << 20
	// MinSide and MaxSide bound both width and height, in pixels ("80 pixels";
	// "10K pixels", which Rekognition's own message spells 10000).
	MinSide = 80
	MaxSide = 10_000
)

// RekognitionReads reports whether Rekognition reads images of format (imaging's
// names, recognised by content): JPEG and PNG only.
func RekognitionReads(format string) bool { return format == imaging.JPEG || format == imaging.PNG }
