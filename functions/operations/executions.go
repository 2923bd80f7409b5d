package operations

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"golang.org/x/sync/errgroup"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// Bounds of GET /executions. Step Functions cannot filter executions by input, so
// each listed execution costs a DescribeExecution (for its object key), at most
// describeConcurrency at a time.
const (
	DefaultMaxResults = 50
	MaxResults        = 100
	// KeyScanLimit is how many executions, newest first, one GET /executions?key=
	// looks at; the answer says how many it scanned and whether that was all of them,
	// and its nextToken continues the scan.
	KeyScanLimit        = 100
	keyScanPage         = 100
	describeConcurrency = 8
)

// ExecutionItem is one execution of GET /executions: ListExecutions' fields and the
// S3 key the execution's input names.
type ExecutionItem struct {
	ExecutionArn    string   `json:"executionArn"`
	Name            string   `json:"name"`
	Status          string   `json:"status"`
	StartDate       float64  `json:"startDate"`
	StopDate        *float64 `json:"stopDate,omitempty"`
	StateMachineArn string   `json:"stateMachineArn"`
	Key             string   `json:"key,omitempty"`
}

// ExecutionList is GET /executions' answer. Scanned counts the executions looked
// at; Complete says no execution is left after them (NextToken is then "").
type ExecutionList struct {
	Executions []ExecutionItem `json:"executions"`
	NextToken  string          `json:"nextToken"`
	Scanned    int             `json:"scanned"`
	Complete   bool            `json:"complete"`
}

type listParams struct {
	machine, status, key, nextToken string
	max                             int
}

func (h Handler) parseList(q map[string]string, multi map[string][]string) (listParams, error) {
	for name, vals := range multi {
		if len(vals) > 1 {
			return listParams{}, &InputError{name + ": given more than once"}
		}
	}
	p := listParams{machine: h.PipelineArn, status: q["status"], key: q["key"], nextToken: q["nextToken"], max: DefaultMaxResults}
	switch q["machine"] {
	case "", "pipeline":
	case "remove":
		if h.RemoveArn == "" {
			return p, &InputError{"machine: this stack has no remove state machine"}
		}
		p.machine = h.RemoveArn
	default:
		return p, &InputError{"machine: must be pipeline or remove"}
	}
	if p.status != "" && !slices.Contains(sfntypes.ExecutionStatus("").Values(), sfntypes.ExecutionStatus(p.status)) {
		return p, &InputError{fmt.Sprintf("status: must be one of %v", sfntypes.ExecutionStatus("").Values())}
	}
	if len(p.key) > pipeline.MaxKeyBytes {
		return p, &InputError{fmt.Sprintf("key: longer than %d bytes", pipeline.MaxKeyBytes)}
	}
	if v, ok := q["maxResults"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxResults {
			return p, &InputError{fmt.Sprintf("maxResults: must be a whole number from 1 to %d", MaxResults)}
		}
		p.max = n
	}
	return p, nil
}

// listExecutions answers GET /executions: newest first, each with its object key;
// with key, only the executions of that object, from at most KeyScanLimit looked at.
func (h Handler) listExecutions(ctx context.Context, q map[string]string, multi map[string][]string) events.APIGatewayProxyResponse {
	p, err := h.parseList(q, multi)
	if err != nil {
		return h.fail(ctx, "list executions", err)
	}
	out := ExecutionList{Executions: []ExecutionItem{}}
	token := p.nextToken
	for {
		size := p.max
		if p.key != "" {
			size = min(keyScanPage, KeyScanLimit-out.Scanned)
		}
		page, next, err := h.listPage(ctx, p, size, token)
		if err != nil {
			return h.fail(ctx, "list executions", err)
		}
		out.Scanned += len(page)
		for _, it := range page {
			if p.key == "" || it.Key == p.key {
				out.Executions = append(out.Executions, it)
			}
		}
		token = next
		// Whole pages only, so that nextToken continues exactly after what was seen.
		if p.key == "" || token == "" || len(out.Executions) >= p.max || out.Scanned >= KeyScanLimit {
			break
		}
	}
	out.NextToken, out.Complete = token, token == ""
	return h.json(http.StatusOK, out)
}

// listPage is one ListExecutions page, each item with the key its input names.
func (h Handler) listPage(ctx context.Context, p listParams, size int, token string) ([]ExecutionItem, string, error) {
	in := &sfn.ListExecutionsInput{StateMachineArn: aws.String(p.machine), MaxResults: int32(size)}
	if p.status != "" {
		in.StatusFilter = sfntypes.ExecutionStatus(p.status)
	}
	if token != "" {
		in.NextToken = aws.String(token)
	}
	body, err := h.SFN.ListExecutions(ctx, in)
	if err != nil {
		return nil, "", err
	}
	var page struct {
		Executions []ExecutionItem `json:"executions"`
		NextToken  string          `json:"nextToken"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, "", fmt.Errorf("ListExecutions answer: %w", err)
	}
	// The first error fails the request; the describes already started finish (a
	// page holds at most MaxResults or keyScanPage of them).
	var g errgroup.Group
	g.SetLimit(describeConcurrency)
	for i := range page.Executions {
		it := &page.Executions[i]
		g.Go(func() error {
			key, err := h.inputKey(ctx, it.ExecutionArn)
			it.Key = key
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, "", err
	}
	return page.Executions, page.NextToken, nil
}

// inputKey is the S3 key an execution's input names ("" when the input is not an
// S3 event). An execution gone since it was listed (past its retention) has none.
func (h Handler) inputKey(ctx context.Context, arn string) (string, error) {
	body, err := h.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		if code, _ := awsError(err); code == http.StatusNotFound {
			return "", nil
		}
		return "", err
	}
	var d struct {
		Input string `json:"input"`
	}
	if err := json.Unmarshal(body, &d); err != nil {
		return "", fmt.Errorf("DescribeExecution answer: %w", err)
	}
	var ev pipeline.ObjectEvent
	if json.Unmarshal([]byte(d.Input), &ev) != nil {
		return "", nil
	}
	key, _ := ev.Key() // S3 URL-encodes the key in its events; "" when it cannot be decoded
	return key, nil
}
