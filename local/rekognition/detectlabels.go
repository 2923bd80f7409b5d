package rekognition

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/labels"
	"github.com/imagepipe/imagepipe/functions/metadata"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// DetectLabels defaults, as documented: "The default and upper limit is 1000 labels",
// "The default is 55%".
const (
	defaultMaxLabels     = 1000
	defaultMinConfidence = 55
)

// labelModelVersion is the label model Rekognition reports today.
const labelModelVersion = "3.0"

// Feature names (DetectLabelsFeatureName).
const (
	featureGeneralLabels   = "GENERAL_LABELS"
	featureImageProperties = "IMAGE_PROPERTIES"
)

type detectLabelsInput struct {
	Image         *imageInput     `json:"Image"`
	MaxLabels     *int32          `json:"MaxLabels"`
	MinConfidence *float64        `json:"MinConfidence"`
	Features      []string        `json:"Features"`
	Settings      json.RawMessage `json:"Settings"`
}

type imageInput struct {
	Bytes    []byte    `json:"Bytes"` // base64 in JSON, as the protocol sends blobs
	S3Object *s3Object `json:"S3Object"`
}

type s3Object struct {
	Bucket  *string `json:"Bucket"`
	Name    *string `json:"Name"`
	Version *string `json:"Version"`
}

type detectLabelsOutput struct {
	Labels            []labelOutput `json:"Labels"`
	LabelModelVersion string        `json:"LabelModelVersion"`
}

type labelOutput struct {
	Name       string  `json:"Name"`
	Confidence float64 `json:"Confidence"`
	Instances  []any   `json:"Instances"`
	Parents    []named `json:"Parents"`
	Aliases    []named `json:"Aliases"`
	Categories []named `json:"Categories"`
}

type named struct {
	Name string `json:"Name"`
}

// detectLabels reads the request, then the image, checks it as Rekognition does and
// labels it.
func (s *Service) detectLabels(ctx context.Context, body []byte) (*detectLabelsOutput, *apiError) {
	in, aerr := parseInput(body)
	if aerr != nil {
		return nil, aerr
	}
	data, aerr := s.image(ctx, in.Image)
	if aerr != nil {
		return nil, aerr
	}
	found, aerr := s.label(data)
	if aerr != nil {
		return nil, aerr
	}
	maxLabels, minConf := int32(defaultMaxLabels), float64(defaultMinConfidence)
	if in.MaxLabels != nil {
		maxLabels = min(*in.MaxLabels, defaultMaxLabels)
	}
	if in.MinConfidence != nil {
		minConf = *in.MinConfidence
	}
	return labelsOutput(found, int(maxLabels), minConf), nil
}

// parseInput decodes and validates the request body.
func parseInput(body []byte) (*detectLabelsInput, *apiError) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var in detectLabelsInput
	if err := dec.Decode(&in); err != nil {
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return nil, invalidParameter(fmt.Sprintf("DetectLabels has no member %s here (the twin reads Image{Bytes|S3Object{Bucket,Name,Version}}, MaxLabels, MinConfidence, Features, Settings)", name))
		}
		return nil, serialization("could not read the request: %v", err)
	}
	if v := validate(&in); len(v) > 0 {
		return nil, validation(v)
	}
	if len(in.Settings) > 0 && string(in.Settings) != "null" {
		return nil, invalidParameter("Settings (label filters, dominant colours) is not supported by the twin's DetectLabels")
	}
	for _, f := range in.Features {
		if f == featureImageProperties {
			return nil, invalidParameter("Features IMAGE_PROPERTIES is not supported by the twin's DetectLabels: only GENERAL_LABELS")
		}
	}
	if img := in.Image; (img.Bytes != nil) == (img.S3Object != nil) {
		return nil, invalidParameter("Image must hold exactly one of Bytes and S3Object")
	}
	if o := in.Image.S3Object; o != nil && (o.Bucket == nil || o.Name == nil) {
		return nil, invalidParameter("S3Object needs Bucket and Name")
	}
	return &in, nil
}

// bucketPattern is S3Bucket's pattern in the API model.
var bucketPattern = regexp.MustCompile(`^[0-9A-Za-z.\-_]*$`)

// validate checks the API model's constraints and words each violation as AWS's
// request validation does.
func validate(in *detectLabelsInput) []string {
	var v []string
	add := func(value, path, constraint string) {
		v = append(v, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: Member must %s", value, path, constraint))
	}
	if in.Image == nil {
		add("null", "image", "not be null")
	} else {
		if b := in.Image.Bytes; b != nil && len(b) < 1 {
			add("''", "image.bytes", "have length greater than or equal to 1")
		}
		if o := in.Image.S3Object; o != nil {
			length := func(p *string, path string, lo, hi int) {
				switch {
				case p == nil:
				case len(*p) < lo:
					add(fmt.Sprintf("'%s'", *p), path, fmt.Sprintf("have length greater than or equal to %d", lo))
				case len(*p) > hi:
					add(fmt.Sprintf("'%s'", *p), path, fmt.Sprintf("have length less than or equal to %d", hi))
				}
			}
			length(o.Bucket, "image.s3Object.bucket", 3, 255)
			if o.Bucket != nil && !bucketPattern.MatchString(*o.Bucket) {
				add(fmt.Sprintf("'%s'", *o.Bucket), "image.s3Object.bucket", "satisfy regular expression pattern: [0-9A-Za-z\\.\\-_]*")
			}
			length(o.Name, "image.s3Object.name", 1, 1024)
			length(o.Version, "image.s3Object.version", 1, 1024)
		}
	}
	if in.MaxLabels != nil && *in.MaxLabels < 0 {
		add(fmt.Sprintf("'%d'", *in.MaxLabels), "maxLabels", "have value greater than or equal to 0")
	}
	if c := in.MinConfidence; c != nil && (*c < 0 || *c > 100) {
		bound := "greater than or equal to 0"
		if *c > 100 {
			bound = "less than or equal to 100"
		}
		add(fmt.Sprintf("'%v'", *c), "minConfidence", "have value "+bound)
	}
	if len(in.Features) > 2 {
		add(fmt.Sprintf("'[%s]'", strings.Join(in.Features, ", ")), "features", "have length less than or equal to 2")
	}
	for _, f := range in.Features {
		if f != featureGeneralLabels && f != featureImageProperties {
			add(fmt.Sprintf("'[%s]'", strings.Join(in.Features, ", ")), "features",
				"satisfy constraint: [Member must satisfy enum value set: [GENERAL_LABELS, IMAGE_PROPERTIES]]")
			break
		}
	}
	return v
}

// image returns the request's image bytes, refusing one over its source's limit.
func (s *Service) image(ctx context.Context, img *imageInput) ([]byte, *apiError) {
	if img.Bytes != nil {
		if len(img.Bytes) > labels.MaxInlineBytes {
			return nil, imageTooLarge(msgTooLarge)
		}
		return img.Bytes, nil
	}
	o := img.S3Object
	version := ""
	if o.Version != nil {
		version = *o.Version
	}
	data, err := s.objects.Get(ctx, *o.Bucket, *o.Name, version)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, invalidS3Object()
	case err != nil:
		return nil, internalError(err)
	case len(data) > labels.MaxS3Bytes:
		return nil, imageTooLarge(msgTooLarge)
	}
	return data, nil
}

// label checks the image's format and dimensions as Rekognition does, then labels
// it upright.
func (s *Service) label(data []byte) (pipeline.Labels, *apiError) {
	format, err := imaging.Sniff(data[:min(len(data), imaging.SniffLen)])
	if err != nil || !labels.RekognitionReads(format) {
		return pipeline.Labels{}, invalidImageFormat(fmt.Sprintf("Rekognition reads JPEG and PNG; this is %s", describeFormat(format, err)))
	}
	cfg, _, err := imaging.DecodeConfig(bytes.NewReader(data), s.limits)
	switch {
	case err != nil:
		return pipeline.Labels{}, unreadable(err)
	case cfg.Width > labels.MaxSide || cfg.Height > labels.MaxSide:
		return pipeline.Labels{}, imageTooLarge(fmt.Sprintf("Input image dimensions %d x %d exceed maximum dimension size of %d pixels", cfg.Width, cfg.Height, labels.MaxSide))
	case cfg.Width < labels.MinSide || cfg.Height < labels.MinSide:
		return pipeline.Labels{}, invalidParameter(fmt.Sprintf("image is %d x %d, under the minimum of %d pixels a side", cfg.Width, cfg.Height, labels.MinSide))
	}
	orientation := 1
	if format == imaging.JPEG { // PNGs are taken as stored, as Rekognition takes them
		if md, err := metadata.ExtractBytes(data, s.limits); err == nil && md.Orientation != 0 {
			orientation = md.Orientation
		}
	}
	found, err := labels.AnalyzeBytes(data, s.limits, orientation)
	if err != nil {
		return pipeline.Labels{}, unreadable(err)
	}
	return found, nil
}

// unreadable answers a decoding error: an image over the twin's decoding limits is
// too large, anything else (truncated, corrupt, a feature the decoder lacks) is not
// an image Rekognition reads.
func unreadable(err error) *apiError {
	var tooLarge *pipeline.ImageTooLargeError
	if errors.As(err, &tooLarge) {
		return imageTooLarge(err.Error())
	}
	return invalidImageFormat(err.Error())
}

// describeFormat names what the bytes are, for the error message.
func describeFormat(format string, err error) string {
	if err != nil {
		return err.Error()
	}
	return format
}

// labelsOutput keeps the labels at or above minConf, the most confident first, at
// most maxLabels of them, in Rekognition's response shape.
func labelsOutput(found pipeline.Labels, maxLabels int, minConf float64) *detectLabelsOutput {
	kept := make([]pipeline.Label, 0, len(found.Labels))
	for _, l := range found.Labels {
		if l.Confidence >= minConf {
			kept = append(kept, l)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool { return kept[i].Confidence > kept[j].Confidence })
	kept = kept[:min(len(kept), maxLabels)]
	out := &detectLabelsOutput{Labels: make([]labelOutput, 0, len(kept)), LabelModelVersion: labelModelVersion}
	for _, l := range kept {
		lo := labelOutput{Name: l.Name, Confidence: l.Confidence, Instances: []any{}, Parents: []named{}, Aliases: []named{}, Categories: []named{}}
		for _, p := range l.Parents {
			lo.Parents = append(lo.Parents, named{Name: p})
		}
		out.Labels = append(out.Labels, lo)
	}
	return out
}
