package pipeline

import "time"

// Metadata is what extract-metadata returns: facts read from the file's head.
// Absent facts are omitted, never invented.
type Metadata struct {
	Format      string            `json:"format"`
	Width       int               `json:"width"`
	Height      int               `json:"height"`
	Orientation int               `json:"orientation,omitempty"`
	ColorSpace  string            `json:"colorspace,omitempty"`
	Size        int64             `json:"size"`
	TakenAt     string            `json:"takenAt,omitempty"`
	Camera      *Camera           `json:"camera,omitempty"`
	Location    *Location         `json:"location,omitempty"`
	EXIF        map[string]string `json:"exif,omitempty"`
	EXIFError   string            `json:"exifError,omitempty"` // why EXIF facts are missing
}

// Camera is the EXIF Make and Model.
type Camera struct {
	Make  string `json:"make,omitempty"`
	Model string `json:"model,omitempty"`
}

// Location is a GPS position in signed decimal degrees (south and west negative).
type Location struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// Label is one thing seen in the image, with confidence in percent (0-100).
type Label struct {
	Name       string   `json:"name"`
	Confidence float64  `json:"confidence"`
	Parents    []string `json:"parents,omitempty"`
}

// Labels is what detect-labels returns.
type Labels struct {
	Labels     []Label  `json:"labels"`
	Moderation []Label  `json:"moderation,omitempty"`
	Text       []string `json:"text,omitempty"`
	Source     string   `json:"source,omitempty"` // "rekognition", "local" or SourceCopy
	// LabelledFrom is the image Rekognition labelled: LabelledOriginal, or
	// LabelledRendering when it cannot read the original (format, size, dimensions).
	LabelledFrom string `json:"labelledFrom,omitempty"`
	// LabelsFrom is the id of the document whose DetectLabels call produced these
	// labels, when they were copied from it (the same bytes were labelled before)
	// instead of paying Rekognition again.
	LabelsFrom string `json:"labelsFrom,omitempty"`
}

// SourceCopy is Labels.Source for labels copied from an indexed document.
const SourceCopy = "copy"

// Labels.LabelledFrom values.
const (
	LabelledOriginal  = "original"
	LabelledRendering = "rendering"
)

// Thumbnail is what make-thumbnail returns: where it wrote the small image (and the
// optional preview), and the content hash of the original for duplicate detection.
type Thumbnail struct {
	Bucket        string `json:"bucket"`
	Key           string `json:"key"`
	Width         int    `json:"width"`
	Height        int    `json:"height"`
	PreviewKey    string `json:"previewKey,omitempty"`
	PreviewWidth  int    `json:"previewWidth,omitempty"`
	PreviewHeight int    `json:"previewHeight,omitempty"`
	ContentSHA256 string `json:"contentSha256,omitempty"`
}

// IndexInput is what index-document receives: the original event and the Parallel
// state's three branch results, named (see statemachine/pipeline.asl.json).
type IndexInput struct {
	Event     ObjectEvent `json:"event"`
	Metadata  Metadata    `json:"metadata"`
	Labels    Labels      `json:"labels"`
	Thumbnail Thumbnail   `json:"thumbnail"`
	// ExecutionARN is the execution that made the document ($$.Execution.Id).
	ExecutionARN string `json:"executionArn,omitempty"`
}

// IndexResult is what index-document returns.
type IndexResult struct {
	ID      string `json:"id"`
	Outcome string `json:"outcome"` // "created", "updated" or "skipped-older"
	// DuplicateOf is the id of the earlier document with the same content, if any.
	DuplicateOf string `json:"duplicateOf,omitempty"`
}

// Document is the one search document per original image (DESIGN.md).
type Document struct {
	ID          string            `json:"id"`
	Bucket      string            `json:"bucket"`
	Key         string            `json:"key"`
	Thumbnail   string            `json:"thumbnail,omitempty"`
	Preview     string            `json:"preview,omitempty"`
	ETag        string            `json:"etag,omitempty"`
	Sequencer   string            `json:"sequencer,omitempty"`
	Size        int64             `json:"size"`
	Format      string            `json:"format,omitempty"`
	Width       int               `json:"width,omitempty"`
	Height      int               `json:"height,omitempty"`
	Orientation int               `json:"orientation,omitempty"`
	ColorSpace  string            `json:"colorspace,omitempty"`
	TakenAt     string            `json:"takenAt,omitempty"`
	Camera      *Camera           `json:"camera,omitempty"`
	Location    *Location         `json:"location,omitempty"`
	EXIF        map[string]string `json:"exif,omitempty"`
	EXIFError   string            `json:"exifError,omitempty"`
	Labels      []Label           `json:"labels,omitempty"`
	ContentHash string            `json:"contentSha256,omitempty"`
	DuplicateOf string            `json:"duplicateOf,omitempty"`
	// LabelledFrom says whether the labels describe the original or a rendering.
	LabelledFrom string `json:"labelledFrom,omitempty"`
	// LabelsFrom is the document whose DetectLabels call the labels were copied
	// from (Labels.LabelsFrom); absent when this document's own call made them.
	LabelsFrom string `json:"labelsFrom,omitempty"`
	// ExecutionARN is the Step Functions execution that made this document, so that
	// a client links an image to its execution without listing executions (in AWS
	// and on the twin alike).
	ExecutionARN string `json:"executionArn,omitempty"`
	// AlsoKeys is filled by search on an original: the keys of its duplicates
	// (same bytes), earliest first; never stored.
	AlsoKeys    []string  `json:"alsoKeys,omitempty"`
	UploadedAt  time.Time `json:"uploadedAt"`
	ProcessedAt time.Time `json:"processedAt"`
	// ThumbnailURL is filled by search for the browser (pre-signed in AWS); never stored.
	ThumbnailURL string `json:"thumbnailUrl,omitempty"`
	PreviewURL   string `json:"previewUrl,omitempty"`
}

// NewDocument merges an index input into the document, with processedAt = now.
// The document names the object by its real key, decoded from the event; call it
// on an event that passed Validate (which checks that the key decodes).
func NewDocument(in IndexInput, now time.Time) Document {
	ev, md := in.Event, in.Metadata
	key, err := ev.Key()
	if err != nil {
		key = ev.Detail.Object.Key
	}
	d := Document{
		ID:          DocumentID(ev.Detail.Bucket.Name, key),
		Bucket:      ev.Detail.Bucket.Name,
		Key:         key,
		Thumbnail:   in.Thumbnail.Key,
		Preview:     in.Thumbnail.PreviewKey,
		ETag:        ev.Detail.Object.ETag,
		Sequencer:   ev.Detail.Object.Sequencer,
		Size:        ev.Detail.Object.Size,
		Format:      md.Format,
		Width:       md.Width,
		Height:      md.Height,
		Orientation: md.Orientation,
		ColorSpace:  md.ColorSpace,
		TakenAt:     md.TakenAt,
		Camera:      md.Camera,
		Location:    md.Location,
		EXIF:        md.EXIF,
		EXIFError:   md.EXIFError,
		Labels:      in.Labels.Labels,
		ContentHash: in.Thumbnail.ContentSHA256,
		UploadedAt:  ev.Time.UTC(),
		ProcessedAt: now.UTC(),
	}
	d.LabelledFrom, d.LabelsFrom = in.Labels.LabelledFrom, in.Labels.LabelsFrom
	d.ExecutionARN = in.ExecutionARN
	if d.Size == 0 {
		d.Size = md.Size
	}
	return d
}
