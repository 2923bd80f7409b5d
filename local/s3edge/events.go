package s3edge

import (
	"github.com/imagepipe/imagepipe/local/awsid"

	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	bolt "go.etcd.io/bbolt"
)

// Values S3 puts in its EventBridge events; the twin plays one account in one region.
const (
	Account               = awsid.Account
	Region                = awsid.Region
	ReasonPut             = "PutObject"
	ReasonCopy            = "CopyObject"
	ReasonMultipart       = "CompleteMultipartUpload"
	ReasonDelete          = "DeleteObject"
	ReasonPost            = "PostObject"
	DeletionTypePermanent = "Permanently Deleted"
)

// eventInfo is what the edge knows about one request that changed one key.
type eventInfo struct {
	detailType, reason string
	bucket, key        string
	size               int64
	etag               string
	requestID          string
	requester          string // "" is the bucket's account
	sourceIP           string
	at                 time.Time
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func buildEvent(in eventInfo, sequencer string) pipeline.ObjectEvent {
	ev := pipeline.ObjectEvent{
		Version:    "0",
		ID:         newUUID(),
		DetailType: in.detailType,
		Source:     pipeline.SourceS3,
		Account:    Account,
		Time:       in.at.UTC().Truncate(time.Second),
		Region:     Region,
		Resources:  []string{"arn:aws:s3:::" + in.bucket},
		Detail: pipeline.ObjectDetail{
			Version:         "0",
			Bucket:          pipeline.BucketRef{Name: in.bucket},
			Object:          pipeline.ObjectRef{Key: EventKey(in.key), Sequencer: sequencer},
			RequestID:       in.requestID,
			Requester:       requester(in),
			SourceIPAddress: in.sourceIP,
			Reason:          in.reason,
		},
	}
	if in.detailType == pipeline.DetailTypeCreated {
		ev.Detail.Object.Size = in.size
		ev.Detail.Object.ETag = in.etag
	} else {
		ev.Detail.DeletionType = DeletionTypePermanent
	}
	return ev
}

func requester(in eventInfo) string {
	if in.requester != "" {
		return in.requester
	}
	return Account
}

// staged is what a commit put in the outbox: the events and their outbox ids.
type staged struct {
	evs []pipeline.ObjectEvent
	ids [][]byte
}

// stage assigns the next sequencers to infos and records their events in the
// outbox, inside the caller's transaction: the change and its events commit
// together, so an event whose delivery fails (or a crash) is redelivered later.
func stage(tx *bolt.Tx, infos []eventInfo) (staged, error) {
	st := staged{evs: make([]pipeline.ObjectEvent, 0, len(infos)), ids: make([][]byte, 0, len(infos))}
	c := tx.Bucket(countersBucket)
	var seq uint64
	if v := c.Get(sequencerKey); len(v) == 8 {
		seq = binary.BigEndian.Uint64(v)
	}
	ob := tx.Bucket(outboxBucket)
	for _, in := range infos {
		seq++
		ev := buildEvent(in, fmt.Sprintf("%016X", seq))
		v, err := json.Marshal(ev)
		if err != nil {
			return staged{}, err
		}
		id := binary.BigEndian.AppendUint64(nil, seq)
		if err := ob.Put(id, v); err != nil {
			return staged{}, err
		}
		st.evs = append(st.evs, ev)
		st.ids = append(st.ids, id)
	}
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], seq)
	return st, c.Put(sequencerKey, buf[:])
}

// isPending reports whether an outbox entry is still undelivered.
func (s *store) isPending(id []byte) (bool, error) {
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		ok = tx.Bucket(outboxBucket).Get(id) != nil
		return nil
	})
	return ok, err
}

// delivered removes events from the outbox.
func (s *store) delivered(ids ...[]byte) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.db.Batch(func(tx *bolt.Tx) error {
		ob := tx.Bucket(outboxBucket)
		for _, id := range ids {
			if err := ob.Delete(id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("s3edge: outbox delete: %w", err)
	}
	return nil
}

// pending returns the outbox in sequencer order.
func (s *store) pending() ([]pipeline.ObjectEvent, [][]byte, error) {
	var evs []pipeline.ObjectEvent
	var ids [][]byte
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(outboxBucket).ForEach(func(k, v []byte) error {
			var ev pipeline.ObjectEvent
			if err := json.Unmarshal(v, &ev); err != nil {
				return err
			}
			evs = append(evs, ev)
			ids = append(ids, append([]byte(nil), k...))
			return nil
		})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("s3edge: read outbox: %w", err)
	}
	return evs, ids, nil
}
