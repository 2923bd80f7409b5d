// Package awsid holds the twin's one account and region: every ARN, queue URL and
// signing scope the twin's services hand out or expect uses them.
package awsid

const (
	// Account is the twin's account id (LocalStack's convention).
	Account = "000000000000"
	// Region is the twin's region.
	Region = "us-east-1"
	// Partition is the ARN partition of Region.
	Partition = "aws"
)
