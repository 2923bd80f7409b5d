package sfn

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Execution statuses, as DescribeExecution reports them.
const (
	StatusRunning        = "RUNNING"
	StatusSucceeded      = "SUCCEEDED"
	StatusFailed         = "FAILED"
	StatusTimedOut       = "TIMED_OUT"
	StatusAborted        = "ABORTED"
	StatusPendingRedrive = "PENDING_REDRIVE"
)

// StateMachine is a stored state machine, STANDARD or EXPRESS.
type StateMachine struct {
	ARN          string    `json:"arn"`
	Name         string    `json:"name"`
	Definition   string    `json:"definition"`
	RoleARN      string    `json:"roleArn"`
	Type         string    `json:"type"`
	CreationDate time.Time `json:"creationDate"`
	UpdateDate   time.Time `json:"updateDate,omitzero"`
}

// Execution is a stored execution without its input, output and history, which live
// in their own buckets so that listing stays cheap whatever the payload sizes.
type Execution struct {
	ARN             string    `json:"arn"`
	StateMachineARN string    `json:"stateMachineArn"`
	StateMachine    string    `json:"stateMachine"`
	Name            string    `json:"name"`
	Status          string    `json:"status"`
	Error           string    `json:"error,omitempty"`
	Cause           string    `json:"cause,omitempty"`
	StartDate       time.Time `json:"startDate"`
	StopDate        time.Time `json:"stopDate,omitzero"`
	RedriveCount    int       `json:"redriveCount"`
	RedriveDate     time.Time `json:"redriveDate,omitzero"`
	// Seq orders executions for listing (newest first) and for the run queue.
	Seq uint64 `json:"seq"`
	// RunStart is the id of the event the current run began at (ExecutionStarted or
	// ExecutionRedriven): history after it is discarded when a crashed run is re-run.
	RunStart int64 `json:"runStart"`
	// Definition is the key (SHA-256) of the definition the execution runs.
	Definition string `json:"definition,omitempty"`
	// Express marks a run of an EXPRESS state machine (see Service.Start).
	Express bool `json:"express,omitempty"`
}

// Terminal reports whether the execution has stopped.
func (e *Execution) Terminal() bool {
	switch e.Status {
	case StatusRunning, StatusPendingRedrive:
		return false
	}
	return true
}

var (
	bktStateMachines = []byte("statemachines") // name → StateMachine JSON
	bktExecutions    = []byte("executions")    // arn → Execution JSON
	bktData          = []byte("data")          // arn 0x00 'i'|'o'|'c' → input / output / checkpoint JSON text
	bktDefinitions   = []byte("definitions")   // hex SHA-256 → definition text
	bktHistory       = []byte("history")       // arn → bucket: id (8 bytes BE) → event JSON
	bktBySM          = []byte("idx_sm")        // sm 0x00 seq → arn
	bktBySMStatus    = []byte("idx_sm_status") // sm 0x00 status 0x00 seq → arn
	bktByStatus      = []byte("idx_status")    // status 0x00 seq → arn
)

var errNotFound = errors.New("not found")

// store is the bbolt file holding state machines, executions and their history.
type store struct {
	db *bolt.DB
}

func openStore(path string) (*store, error) {
	// The timeout turns a second twin on the same data folder into an error, not a hang.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open step functions store %s: %w", path, err)
	}
	// History appends from concurrent executions share commits (and fsyncs).
	db.MaxBatchDelay = 2 * time.Millisecond
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bktStateMachines, bktExecutions, bktData, bktDefinitions, bktHistory, bktBySM, bktBySMStatus, bktByStatus} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("init step functions store %s: %w", path, err)
	}
	return &store{db: db}, nil
}

func (s *store) close() error { return s.db.Close() }

func (s *store) view(fn func(*txn) error) error {
	return s.db.View(func(tx *bolt.Tx) error { return fn(&txn{tx}) })
}

func (s *store) update(fn func(*txn) error) error {
	return s.db.Update(func(tx *bolt.Tx) error { return fn(&txn{tx}) })
}

// batch is update for small idempotent writes from many goroutines: they share a commit.
func (s *store) batch(fn func(*txn) error) error {
	return s.db.Batch(func(tx *bolt.Tx) error { return fn(&txn{tx}) })
}

// txn wraps a bbolt transaction with typed accessors that keep the indexes in step.
type txn struct{ tx *bolt.Tx }

func (t *txn) stateMachine(name string) (*StateMachine, error) {
	v := t.tx.Bucket(bktStateMachines).Get([]byte(name))
	if v == nil {
		return nil, errNotFound
	}
	var sm StateMachine
	if err := json.Unmarshal(v, &sm); err != nil {
		return nil, fmt.Errorf("decode state machine %s: %w", name, err)
	}
	return &sm, nil
}

func (t *txn) putStateMachine(sm *StateMachine) error {
	v, err := json.Marshal(sm)
	if err != nil {
		return err
	}
	return t.tx.Bucket(bktStateMachines).Put([]byte(sm.Name), v)
}

func (t *txn) deleteStateMachine(name string) error {
	return t.tx.Bucket(bktStateMachines).Delete([]byte(name))
}

// stateMachines lists state machines by name, starting after the name after.
func (t *txn) stateMachines(after string, limit int) (list []StateMachine, more bool, err error) {
	c := t.tx.Bucket(bktStateMachines).Cursor()
	k, v := c.First()
	if after != "" {
		k, v = c.Seek([]byte(after))
		if k != nil && string(k) == after {
			k, v = c.Next()
		}
	}
	for ; k != nil; k, v = c.Next() {
		if len(list) == limit {
			return list, true, nil
		}
		var sm StateMachine
		if err := json.Unmarshal(v, &sm); err != nil {
			return nil, false, fmt.Errorf("decode state machine %s: %w", k, err)
		}
		list = append(list, sm)
	}
	return list, false, nil
}

func (t *txn) execution(arn string) (*Execution, error) {
	v := t.tx.Bucket(bktExecutions).Get([]byte(arn))
	if v == nil {
		return nil, errNotFound
	}
	var e Execution
	if err := json.Unmarshal(v, &e); err != nil {
		return nil, fmt.Errorf("decode execution %s: %w", arn, err)
	}
	return &e, nil
}

// putExecution writes e and moves its index entries when its status changed.
func (t *txn) putExecution(e *Execution) error {
	if e.Seq == 0 {
		seq, err := t.tx.Bucket(bktExecutions).NextSequence()
		if err != nil {
			return err
		}
		e.Seq = seq
	}
	old, err := t.execution(e.ARN)
	switch {
	case errors.Is(err, errNotFound):
		if err := t.tx.Bucket(bktBySM).Put(smKey(e.StateMachine, e.Seq), []byte(e.ARN)); err != nil {
			return err
		}
	case err != nil:
		return err
	case old.Status != e.Status:
		if err := t.tx.Bucket(bktBySMStatus).Delete(smStatusKey(old.StateMachine, old.Status, old.Seq)); err != nil {
			return err
		}
		if err := t.tx.Bucket(bktByStatus).Delete(statusKey(old.Status, old.Seq)); err != nil {
			return err
		}
	}
	if err := t.tx.Bucket(bktBySMStatus).Put(smStatusKey(e.StateMachine, e.Status, e.Seq), []byte(e.ARN)); err != nil {
		return err
	}
	if err := t.tx.Bucket(bktByStatus).Put(statusKey(e.Status, e.Seq), []byte(e.ARN)); err != nil {
		return err
	}
	v, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return t.tx.Bucket(bktExecutions).Put([]byte(e.ARN), v)
}

// putDefinition stores a definition once under its SHA-256 and returns the key.
func (t *txn) putDefinition(def string) (string, error) {
	sum := sha256.Sum256([]byte(def))
	key := hex.EncodeToString(sum[:])
	b := t.tx.Bucket(bktDefinitions)
	if b.Get([]byte(key)) != nil {
		return key, nil
	}
	return key, b.Put([]byte(key), []byte(def))
}

func (t *txn) definition(key string) (string, bool) {
	v := t.tx.Bucket(bktDefinitions).Get([]byte(key))
	return string(v), v != nil
}

func dataKey(arn string, kind byte) []byte { return append([]byte(arn+"\x00"), kind) }

func (t *txn) data(arn string, kind byte) string {
	return string(t.tx.Bucket(bktData).Get(dataKey(arn, kind)))
}

func (t *txn) putData(arn string, kind byte, v string) error {
	if v == "" {
		return t.tx.Bucket(bktData).Delete(dataKey(arn, kind))
	}
	return t.tx.Bucket(bktData).Put(dataKey(arn, kind), []byte(v))
}

// putEvent stores one history event under its id.
func (t *txn) putEvent(arn string, id int64, event []byte) error {
	b, err := t.tx.Bucket(bktHistory).CreateBucketIfNotExists([]byte(arn))
	if err != nil {
		return err
	}
	return b.Put(idKey(id), event)
}

// truncateHistory deletes the events after id (those of an interrupted run).
func (t *txn) truncateHistory(arn string, id int64) error {
	b := t.tx.Bucket(bktHistory).Bucket([]byte(arn))
	if b == nil {
		return nil
	}
	c := b.Cursor()
	for k, _ := c.Seek(idKey(id + 1)); k != nil; k, _ = c.Seek(idKey(id + 1)) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// events returns up to limit events of arn, from id from (inclusive) in the given
// direction; next is the id to continue from, 0 at the end.
func (t *txn) events(arn string, from int64, reverse bool, limit int) (list []json.RawMessage, next int64) {
	b := t.tx.Bucket(bktHistory).Bucket([]byte(arn))
	if b == nil {
		return nil, 0
	}
	c := b.Cursor()
	var k, v []byte
	switch {
	case !reverse:
		k, v = c.Seek(idKey(from))
	case from == 0:
		k, v = c.Last()
	default:
		if k, v = c.Seek(idKey(from)); k == nil {
			k, v = c.Last()
		} else if int64(binary.BigEndian.Uint64(k)) > from {
			k, v = c.Prev()
		}
	}
	for ; k != nil; k, v = step(c, reverse) {
		if len(list) == limit {
			return list, int64(binary.BigEndian.Uint64(k))
		}
		list = append(list, json.RawMessage(bytes.Clone(v)))
	}
	return list, 0
}

// allEvents returns every stored event of arn, in id order.
func (t *txn) allEvents(arn string) []storedEvent {
	b := t.tx.Bucket(bktHistory).Bucket([]byte(arn))
	if b == nil {
		return nil
	}
	var out []storedEvent
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		out = append(out, storedEvent{int64(binary.BigEndian.Uint64(k)), bytes.Clone(v)})
	}
	return out
}

// lastEventID is the id of the newest history event of arn (0 when none).
func (t *txn) lastEventID(arn string) int64 {
	b := t.tx.Bucket(bktHistory).Bucket([]byte(arn))
	if b == nil {
		return 0
	}
	k, _ := b.Cursor().Last()
	if k == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(k))
}

func step(c *bolt.Cursor, reverse bool) ([]byte, []byte) {
	if reverse {
		return c.Prev()
	}
	return c.Next()
}

// executionsNewestFirst lists the executions of state machine sm (with status, when
// not empty), newest first, from before sequence number before (0: the newest).
func (t *txn) executionsNewestFirst(sm, status string, before uint64, limit int) (list []Execution, next uint64, err error) {
	var b *bolt.Bucket
	var prefix []byte
	if status == "" {
		b, prefix = t.tx.Bucket(bktBySM), []byte(sm+"\x00")
	} else {
		b, prefix = t.tx.Bucket(bktBySMStatus), []byte(sm+"\x00"+status+"\x00")
	}
	c := b.Cursor()
	start := append(bytes.Clone(prefix), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	if before != 0 {
		start = binary.BigEndian.AppendUint64(bytes.Clone(prefix), before)
	}
	k, _ := c.Seek(start)
	var v []byte
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8; k, v = c.Prev() {
		seq := binary.BigEndian.Uint64(k[len(prefix):])
		if len(list) == limit {
			return list, seq + 1, nil
		}
		e, err := t.execution(string(v))
		if err != nil {
			return nil, 0, err
		}
		list = append(list, *e)
	}
	return list, 0, nil
}

// unfinished lists the ARNs of RUNNING and PENDING_REDRIVE executions, oldest first:
// the runs a previous process accepted and did not finish.
func (t *txn) unfinished() []string {
	type item struct {
		seq uint64
		arn string
	}
	var items []item
	c := t.tx.Bucket(bktByStatus).Cursor()
	for _, st := range []string{StatusRunning, StatusPendingRedrive} {
		prefix := []byte(st + "\x00")
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			items = append(items, item{binary.BigEndian.Uint64(k[len(prefix):]), string(v)})
		}
	}
	slices.SortFunc(items, func(a, b item) int { return cmp.Compare(a.seq, b.seq) })
	arns := make([]string, len(items))
	for i, it := range items {
		arns[i] = it.arn
	}
	return arns
}

func idKey(id int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(id)) }

func smKey(sm string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(sm+"\x00"), seq)
}

func smStatusKey(sm, status string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(sm+"\x00"+status+"\x00"), seq)
}

func statusKey(status string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(status+"\x00"), seq)
}
