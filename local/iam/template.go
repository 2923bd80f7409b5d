package iam

import (
	"fmt"
	"strings"

	"github.com/imagepipe/imagepipe/local/cfn"
)

// FromTemplate reads the policies of a resolved template: each role's trust
// policy, inline Policies, ManagedPolicyArns (customer managed policies of the
// template, and the AWS managed policies in awsManaged), the AWS::IAM::Policy and
// AWS::IAM::ManagedPolicy resources attached to it; and the resource-based
// policies: bucket policies, queue policies, topic policies, Lambda permissions
// and OpenSearch domain access policies. ARNs come from the template's own
// Fn::GetAtt, so they are the ones the twin deploys. What a policy does that the
// twin cannot evaluate is refused at Authorize (see Warnings); what it cannot
// attach (a permissions boundary, a policy on a user or group) is an error.
func FromTemplate(t *cfn.Template, env Env) (*Policies, error) {
	b := &builder{t: t, p: New(env), env: env, byName: map[string]map[string]*cfn.Resource{}, managed: map[string]*Policy{}}
	for _, id := range t.Order {
		if r := t.Resources[id]; r.Active {
			if b.byName[r.Type] == nil {
				b.byName[r.Type] = map[string]*cfn.Resource{}
			}
			b.byName[r.Type][r.Name] = r
		}
	}
	// Dependency order: a policy resource comes after the roles it names, a role
	// after the customer managed policies it lists.
	for _, id := range t.Order {
		r := t.Resources[id]
		read := templateReaders[r.Type]
		if !r.Active || read == nil {
			continue
		}
		if err := read(b, r); err != nil {
			return nil, fmt.Errorf("iam: resource %s (%s): %w", r.LogicalID, r.Type, err)
		}
	}
	return b.p, nil
}

type builder struct {
	t       *cfn.Template
	p       *Policies
	env     Env
	byName  map[string]map[string]*cfn.Resource // type → physical name → resource
	managed map[string]*Policy                  // customer managed policy ARN → document
}

var templateReaders = map[string]func(b *builder, r *cfn.Resource) error{
	"AWS::IAM::Role":                 (*builder).role,
	"AWS::IAM::Policy":               (*builder).policy,
	"AWS::IAM::ManagedPolicy":        (*builder).managedPolicy,
	"AWS::S3::BucketPolicy":          (*builder).bucketPolicy,
	"AWS::SQS::QueuePolicy":          (*builder).queuePolicy,
	"AWS::SNS::TopicPolicy":          (*builder).topicPolicy,
	"AWS::Lambda::Permission":        (*builder).lambdaPermission,
	"AWS::OpenSearchService::Domain": (*builder).domainPolicy,
	"AWS::Elasticsearch::Domain":     (*builder).domainPolicy,
}

func (b *builder) arnOf(r *cfn.Resource) (string, error) {
	v, err := b.t.GetAtt(r.LogicalID, "Arn")
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("the Fn::GetAtt %s.Arn is %T", r.LogicalID, v)
	}
	return s, nil
}

func (b *builder) role(r *cfn.Resource) error {
	if _, ok := r.Properties["PermissionsBoundary"]; ok {
		return fmt.Errorf("the PermissionsBoundary is not modelled by the twin's IAM")
	}
	arn, err := b.arnOf(r)
	if err != nil {
		return err
	}
	b.p.noteRole(arn)
	if doc, ok := r.Properties["AssumeRolePolicyDocument"]; ok {
		pol, err := ParsePolicy("role "+r.Name+" trust policy", doc)
		if err != nil {
			return err
		}
		b.p.AttachTrust(arn, pol)
	}
	inline, _ := r.Properties["Policies"].([]any)
	for i, x := range inline {
		name, _ := cfn.Str(x, "PolicyName")
		doc, _ := cfn.Get(x, "PolicyDocument")
		pol, err := ParsePolicy(fmt.Sprintf("role %s inline policy %s", r.Name, name), doc)
		if err != nil {
			return fmt.Errorf("property Policies[%d]: %w", i, err)
		}
		b.p.Attach(arn, pol)
	}
	managed, err := cfn.Strs(r.Properties, "ManagedPolicyArns")
	if err != nil {
		return err
	}
	for _, m := range managed {
		if pol := b.managedDoc(m); pol != nil {
			b.p.Attach(arn, pol)
		} else {
			b.p.unmodelled[arn] = append(b.p.unmodelled[arn], m)
		}
	}
	return nil
}

// managedDoc is a managed policy's document: the template's own, or AWS's from
// awsManaged; nil when the twin has no text for it.
func (b *builder) managedDoc(arn string) *Policy {
	if pol, ok := b.managed[arn]; ok {
		return pol
	}
	if _, name, ok := strings.Cut(arn, ":iam::aws:policy/"); ok {
		if doc, ok := awsManaged[name]; ok {
			pol, err := ParsePolicy("AWS managed policy "+name, []byte(doc))
			if err != nil {
				panic("iam: awsManaged " + name + ": " + err.Error()) // the table is the package's own
			}
			return pol
		}
	}
	return nil
}

// attachToRoles attaches a policy resource's document to the roles it names.
func (b *builder) attachToRoles(r *cfn.Resource, pol *Policy) error {
	for _, k := range []string{"Users", "Groups"} {
		if _, ok := r.Properties[k]; ok {
			return fmt.Errorf("%s: policies on IAM users and groups are not modelled by the twin", k)
		}
	}
	roles, err := cfn.Strs(r.Properties, "Roles")
	if err != nil {
		return err
	}
	for _, name := range roles {
		arn := b.env.ARN("iam", "", b.env.Account, "role/"+name)
		if role := b.byName["AWS::IAM::Role"][name]; role != nil {
			if arn, err = b.arnOf(role); err != nil {
				return err
			}
		}
		b.p.Attach(arn, pol)
	}
	return nil
}

func (b *builder) policy(r *cfn.Resource) error {
	pol, err := ParsePolicy("policy "+r.LogicalID, r.Properties["PolicyDocument"])
	if err != nil {
		return err
	}
	return b.attachToRoles(r, pol)
}

func (b *builder) managedPolicy(r *cfn.Resource) error {
	pol, err := ParsePolicy("managed policy "+r.LogicalID, r.Properties["PolicyDocument"])
	if err != nil {
		return err
	}
	b.managed[r.PhysicalID] = pol
	return b.attachToRoles(r, pol)
}

func (b *builder) bucketPolicy(r *cfn.Resource) error {
	bucket, _ := cfn.Str(r.Properties, "Bucket")
	owner := b.env.ARN("s3", "", "", bucket)
	if res := b.byName["AWS::S3::Bucket"][bucket]; res != nil {
		var err error
		if owner, err = b.arnOf(res); err != nil {
			return err
		}
	}
	return b.resourcePolicy(r, "bucket policy of "+bucket, []string{owner})
}

func (b *builder) queuePolicy(r *cfn.Resource) error {
	urls, err := cfn.Strs(r.Properties, "Queues")
	if err != nil {
		return err
	}
	var owners []string
	for _, u := range urls {
		// A queue URL ends in /<account>/<name>, on AWS's host or the twin's.
		parts := strings.Split(strings.TrimRight(u, "/"), "/")
		if len(parts) < 2 {
			return fmt.Errorf("queue URL %q", u)
		}
		name, account := parts[len(parts)-1], parts[len(parts)-2]
		arn := b.env.ARN("sqs", b.env.Region, account, name)
		if q := b.byName["AWS::SQS::Queue"][name]; q != nil {
			if arn, err = b.arnOf(q); err != nil {
				return err
			}
		}
		owners = append(owners, arn)
	}
	return b.resourcePolicy(r, "queue policy "+r.LogicalID, owners)
}

func (b *builder) topicPolicy(r *cfn.Resource) error {
	topics, err := cfn.Strs(r.Properties, "Topics")
	if err != nil {
		return err
	}
	return b.resourcePolicy(r, "topic policy "+r.LogicalID, topics)
}

func (b *builder) domainPolicy(r *cfn.Resource) error {
	if _, ok := r.Properties["AccessPolicies"]; !ok {
		return nil
	}
	arn, err := b.arnOf(r)
	if err != nil {
		return err
	}
	return b.resourcePolicy(r, "access policy of domain "+r.Name, []string{arn})
}

func (b *builder) resourcePolicy(r *cfn.Resource, name string, owners []string) error {
	doc := r.Properties["PolicyDocument"]
	if strings.HasSuffix(r.Type, "::Domain") {
		doc = r.Properties["AccessPolicies"]
	}
	pol, err := ParsePolicy(name, doc)
	if err != nil {
		return err
	}
	for _, o := range owners {
		b.p.AttachResource(o, pol)
	}
	return nil
}

// lambdaPermission is the statement Lambda's AddPermission writes into the
// function's resource-based policy for an AWS::Lambda::Permission.
func (b *builder) lambdaPermission(r *cfn.Resource) error {
	props := r.Properties
	action, _ := cfn.Str(props, "Action")
	fn, _ := cfn.Str(props, "FunctionName")
	principal, _ := cfn.Str(props, "Principal")
	arn, err := b.functionARN(fn)
	if err != nil {
		return err
	}
	stmt := map[string]any{"Sid": r.LogicalID, "Effect": "Allow", "Action": action, "Resource": arn}
	switch {
	case principal == "*":
		stmt["Principal"] = "*"
	case strings.HasSuffix(principal, ".amazonaws.com"):
		stmt["Principal"] = map[string]any{"Service": principal}
	default:
		stmt["Principal"] = map[string]any{"AWS": principal}
	}
	cond := map[string]any{}
	add := func(op, key, prop string) {
		if v, ok := cfn.Str(props, prop); ok {
			if cond[op] == nil {
				cond[op] = map[string]any{}
			}
			cond[op].(map[string]any)[key] = v
		}
	}
	add("ArnLike", "AWS:SourceArn", "SourceArn")
	add("StringEquals", "AWS:SourceAccount", "SourceAccount")
	add("StringEquals", "aws:PrincipalOrgID", "PrincipalOrgID")
	add("StringEquals", "lambda:FunctionUrlAuthType", "FunctionUrlAuthType")
	add("StringEquals", "lambda:EventSourceToken", "EventSourceToken")
	if len(cond) > 0 {
		stmt["Condition"] = cond
	}
	pol, err := ParsePolicy("Lambda permission of "+arn, map[string]any{"Statement": []any{stmt}})
	if err != nil {
		return err
	}
	b.p.AttachResource(arn, pol)
	return nil
}

// functionARN reads FunctionName as Lambda does: a name, a full ARN, or a
// partial ARN (<account>:function:<name>).
func (b *builder) functionARN(fn string) (string, error) {
	switch {
	case strings.HasPrefix(fn, "arn:"):
		return fn, nil
	case strings.Contains(fn, ":function:"):
		account, name, _ := strings.Cut(fn, ":function:")
		return b.env.ARN("lambda", b.env.Region, account, "function:"+name), nil
	}
	if res := b.byName["AWS::Lambda::Function"][fn]; res != nil {
		return b.arnOf(res)
	}
	return b.env.ARN("lambda", b.env.Region, b.env.Account, "function:"+fn), nil
}
