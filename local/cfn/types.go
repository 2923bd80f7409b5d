package cfn

import (
	"fmt"
	"strings"
)

// env is the deployment's account, region and partition, for building ARNs and URLs.
type env struct{ partition, region, account, urlSuffix string }

func (r *resolver) env() env {
	o := r.opts
	return env{partition: o.Partition, region: o.Region, account: o.Account, urlSuffix: o.URLSuffix}
}

// arn builds arn:<partition>:<service>:<region>:<account>:<resource>; global
// services (S3, IAM) pass empty region and account where their ARNs have none.
func (e env) arn(service, region, account, resource string) string {
	return "arn:" + e.partition + ":" + service + ":" + region + ":" + account + ":" + resource
}

// attrFunc computes a Ref or Fn::GetAtt value of a resolved resource.
type attrFunc func(e env, r *Resource) (any, error)

// typeInfo is what the twin knows of one resource type: where its name is, how a
// default one is made, and what Ref and Fn::GetAtt return (the "Return values"
// section of the type's page in the CloudFormation User Guide).
type typeInfo struct {
	nameProp []string // property path of the physical name; nil: the type has no name
	maxLen   int      // the name's length limit (0: none worth enforcing)
	minLen   int
	style    nameStyle
	suffix   func(r *Resource) string // kept when truncating (".fifo")
	ref      attrFunc                 // nil: Ref not modelled
	attrs    map[string]attrFunc
}

func nameOf(_ env, r *Resource) (any, error)       { return r.Name, nil }
func physicalIDOf(_ env, r *Resource) (any, error) { return r.PhysicalID, nil }

// str is a constant-shaped value built from the resource.
func str(f func(e env, r *Resource) string) attrFunc {
	return func(e env, r *Resource) (any, error) { return f(e, r), nil }
}

// generated is a short id derived from the logical id (and a purpose).
func generated(n int, purpose ...string) attrFunc {
	return str(func(_ env, r *Resource) string { return genID(n, r.LogicalID, purpose...) })
}

func upperGenerated(prefix string, n int, purpose ...string) attrFunc {
	return str(func(_ env, r *Resource) string { return prefix + strings.ToUpper(genID(n, r.LogicalID, purpose...)) })
}

func fifo(prop string) func(r *Resource) string {
	return func(r *Resource) string {
		if b, _ := Bool(r.Properties, prop); b {
			return ".fifo"
		}
		return ""
	}
}

func prop(p ...string) []string { return p }

var (
	lambdaArn = str(func(e env, r *Resource) string { return e.arn("lambda", e.region, e.account, "function:"+r.Name) })
	sfnArn    = str(func(e env, r *Resource) string { return e.arn("states", e.region, e.account, "stateMachine:"+r.Name) })
	layerArn  = str(func(e env, r *Resource) string { return e.arn("lambda", e.region, e.account, "layer:"+r.Name+":1") })
	topicArn  = str(func(e env, r *Resource) string { return e.arn("sns", e.region, e.account, r.Name) })
	domainArn = str(func(e env, r *Resource) string { return e.arn("es", e.region, e.account, "domain/"+r.Name) })
	cfID      = upperGenerated("E", 13)
	poolID    = str(func(e env, r *Resource) string { return e.region + "_" + genID(9, r.LogicalID) })
	poolIdent = str(func(e env, r *Resource) string {
		return "cognito-idp." + e.region + "." + e.urlSuffix + "/" + r.PhysicalID
	})
)

var types = map[string]*typeInfo{
	"AWS::S3::Bucket": {
		nameProp: prop("BucketName"), maxLen: 63, minLen: 3, style: styleBucket, ref: nameOf,
		attrs: map[string]attrFunc{
			"Arn":                 str(func(e env, r *Resource) string { return e.arn("s3", "", "", r.Name) }),
			"DomainName":          str(func(e env, r *Resource) string { return r.Name + ".s3." + e.urlSuffix }),
			"RegionalDomainName":  str(func(e env, r *Resource) string { return r.Name + ".s3." + e.region + "." + e.urlSuffix }),
			"DualStackDomainName": str(func(e env, r *Resource) string { return r.Name + ".s3.dualstack." + e.region + "." + e.urlSuffix }),
			"WebsiteURL":          str(websiteURL),
		},
	},
	"AWS::SQS::Queue": {
		nameProp: prop("QueueName"), maxLen: 80, suffix: fifo("FifoQueue"),
		ref: str(func(e env, r *Resource) string {
			return "https://sqs." + e.region + "." + e.urlSuffix + "/" + e.account + "/" + r.Name
		}),
		attrs: map[string]attrFunc{
			"Arn":       str(func(e env, r *Resource) string { return e.arn("sqs", e.region, e.account, r.Name) }),
			"QueueName": nameOf,
			"QueueUrl":  physicalIDOf,
		},
	},
	"AWS::Lambda::Function": {
		nameProp: prop("FunctionName"), maxLen: 64, ref: nameOf,
		attrs: map[string]attrFunc{"Arn": lambdaArn},
	},
	"AWS::Lambda::LayerVersion": {
		nameProp: prop("LayerName"), maxLen: 140, ref: layerArn,
		attrs: map[string]attrFunc{"LayerVersionArn": layerArn},
	},
	"AWS::StepFunctions::StateMachine": {
		nameProp: prop("StateMachineName"), maxLen: 80, ref: sfnArn,
		attrs: map[string]attrFunc{"Arn": sfnArn, "Name": nameOf},
	},
	"AWS::IAM::Role": {
		nameProp: prop("RoleName"), maxLen: 64, ref: nameOf,
		attrs: map[string]attrFunc{
			"Arn":    str(func(e env, r *Resource) string { return e.arn("iam", "", e.account, "role"+iamPath(r)+r.Name) }),
			"RoleId": upperGenerated("AROA", 17),
		},
	},
	"AWS::IAM::Policy": {
		nameProp: prop("PolicyName"), maxLen: 128, ref: nameOf,
		attrs: map[string]attrFunc{"Id": nameOf},
	},
	"AWS::IAM::ManagedPolicy": {
		nameProp: prop("ManagedPolicyName"), maxLen: 128,
		ref:   str(func(e env, r *Resource) string { return e.arn("iam", "", e.account, "policy"+iamPath(r)+r.Name) }),
		attrs: map[string]attrFunc{"PolicyArn": physicalIDOf},
	},
	"AWS::Logs::LogGroup": {
		nameProp: prop("LogGroupName"), maxLen: 512, ref: nameOf,
		attrs: map[string]attrFunc{
			"Arn": str(func(e env, r *Resource) string { return e.arn("logs", e.region, e.account, "log-group:"+r.Name+":*") }),
		},
	},
	"AWS::Events::Rule": {
		nameProp: prop("Name"), maxLen: 64,
		ref: str(func(_ env, r *Resource) string {
			if bus := eventBus(r); bus != "" {
				return bus + "|" + r.Name
			}
			return r.Name
		}),
		attrs: map[string]attrFunc{
			"Arn": str(func(e env, r *Resource) string {
				if bus := eventBus(r); bus != "" {
					return e.arn("events", e.region, e.account, "rule/"+bus+"/"+r.Name)
				}
				return e.arn("events", e.region, e.account, "rule/"+r.Name)
			}),
		},
	},
	"AWS::Events::EventBus": {
		nameProp: prop("Name"), maxLen: 256, ref: nameOf,
		attrs: map[string]attrFunc{
			"Arn":  str(func(e env, r *Resource) string { return e.arn("events", e.region, e.account, "event-bus/"+r.Name) }),
			"Name": nameOf,
		},
	},
	"AWS::ApiGateway::RestApi": {
		nameProp: prop("Name"), ref: generated(10),
		attrs: map[string]attrFunc{"RestApiId": physicalIDOf, "RootResourceId": generated(10, "RootResourceId")},
	},
	"AWS::ApiGateway::Resource":         {ref: generated(6), attrs: map[string]attrFunc{"ResourceId": physicalIDOf}},
	"AWS::ApiGateway::Method":           {ref: generated(10)},
	"AWS::ApiGateway::Deployment":       {ref: generated(6), attrs: map[string]attrFunc{"DeploymentId": physicalIDOf}},
	"AWS::ApiGateway::Stage":            {nameProp: prop("StageName"), maxLen: 128, ref: nameOf},
	"AWS::ApiGateway::RequestValidator": {ref: generated(6), attrs: map[string]attrFunc{"RequestValidatorId": physicalIDOf}},
	"AWS::ApiGateway::Account":          {ref: generated(10), attrs: map[string]attrFunc{"Id": physicalIDOf}},
	"AWS::Cognito::UserPool": {
		nameProp: prop("UserPoolName"), maxLen: 128, ref: poolID,
		attrs: map[string]attrFunc{
			"Arn": str(func(e env, r *Resource) string {
				return e.arn("cognito-idp", e.region, e.account, "userpool/"+r.PhysicalID)
			}),
			"ProviderName": poolIdent,
			"ProviderURL":  str(func(e env, r *Resource) string { s, _ := poolIdent(e, r); return "https://" + s.(string) }),
			"UserPoolId":   physicalIDOf,
		},
	},
	"AWS::Cognito::UserPoolClient": {
		// ClientSecret is left to Options.Attr: only the twin's Cognito can know it.
		nameProp: prop("ClientName"), maxLen: 128, ref: generated(26),
		attrs: map[string]attrFunc{"ClientId": physicalIDOf, "Name": nameOf},
	},
	"AWS::Cognito::IdentityPool": {
		nameProp: prop("IdentityPoolName"), maxLen: 128, style: styleWord,
		ref:   str(func(e env, r *Resource) string { return e.region + ":" + uuidFrom(r.LogicalID) }),
		attrs: map[string]attrFunc{"Id": physicalIDOf, "Name": nameOf},
	},
	"AWS::Cognito::IdentityPoolRoleAttachment": {
		ref: func(_ env, r *Resource) (any, error) {
			id, ok := Str(r.Properties, "IdentityPoolId")
			if !ok {
				return nil, fmt.Errorf("Properties.IdentityPoolId is not a string")
			}
			return id, nil
		},
	},
	"AWS::OpenSearchService::Domain": {
		nameProp: prop("DomainName"), maxLen: 28, minLen: 3, style: styleLower, ref: nameOf,
		attrs: map[string]attrFunc{
			"Arn":       domainArn,
			"DomainArn": domainArn,
			"DomainEndpoint": str(func(e env, r *Resource) string {
				return "search-" + r.Name + "-" + genID(26, r.LogicalID, "DomainEndpoint") + "." + e.region + ".es." + e.urlSuffix
			}),
			"Id": str(func(e env, r *Resource) string { return e.account + "/" + r.Name }),
		},
	},
	"AWS::CloudFront::Distribution": {
		ref: cfID,
		attrs: map[string]attrFunc{
			"Id":         physicalIDOf,
			"DomainName": str(func(_ env, r *Resource) string { return "d" + genID(13, r.LogicalID, "DomainName") + ".cloudfront.net" }),
		},
	},
	"AWS::CloudFront::OriginAccessControl": {
		nameProp: prop("OriginAccessControlConfig", "Name"), maxLen: 64, ref: cfID,
		attrs: map[string]attrFunc{"Id": physicalIDOf},
	},
	"AWS::SNS::Topic": {
		nameProp: prop("TopicName"), maxLen: 256, suffix: fifo("FifoTopic"), ref: topicArn,
		attrs: map[string]attrFunc{"TopicArn": topicArn, "TopicName": nameOf},
	},
	"AWS::CloudWatch::Alarm": {
		nameProp: prop("AlarmName"), maxLen: 255, ref: nameOf,
		attrs: map[string]attrFunc{
			"Arn": str(func(e env, r *Resource) string { return e.arn("cloudwatch", e.region, e.account, "alarm:"+r.Name) }),
		},
	},
	"AWS::CloudWatch::Dashboard": {nameProp: prop("DashboardName"), maxLen: 255, ref: nameOf},
	"AWS::DynamoDB::Table": {
		nameProp: prop("TableName"), maxLen: 255, ref: nameOf,
		attrs: map[string]attrFunc{
			"Arn": str(func(e env, r *Resource) string { return e.arn("dynamodb", e.region, e.account, "table/"+r.Name) }),
		},
	},
}

// iamPath is a role's or policy's Path property ("/" by default).
func iamPath(r *Resource) string {
	if p, ok := Str(r.Properties, "Path"); ok && p != "" {
		return p
	}
	return "/"
}

// eventBus is a rule's event bus name, "" for the default bus.
func eventBus(r *Resource) string {
	bus, _ := Str(r.Properties, "EventBusName")
	if i := strings.LastIndex(bus, "/"); i >= 0 { // an ARN: arn:...:event-bus/<name>
		bus = bus[i+1:]
	}
	if bus == "default" {
		return ""
	}
	return bus
}

// websiteURL follows S3's website endpoints: the older regions use
// "s3-website-<region>", the newer "s3-website.<region>".
func websiteURL(e env, r *Resource) string {
	sep := "."
	switch e.region {
	case "us-east-1", "us-west-1", "us-west-2", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "eu-west-1", "sa-east-1", "us-gov-west-1":
		sep = "-"
	}
	return "http://" + r.Name + ".s3-website" + sep + e.region + "." + e.urlSuffix
}

// getAttIn is Fn::GetAtt as seen from scope sc.
func (r *resolver) getAttIn(sc scope, logicalID, attr string) (any, error) {
	res, err := r.target(sc, logicalID)
	if err != nil {
		return nil, err
	}
	return r.attr(res, attr)
}

// getAtt is Fn::GetAtt after resolution (Template.GetAtt).
func (r *resolver) getAtt(logicalID, attr string) (any, error) {
	return r.getAttIn(scope{where: "template"}, logicalID, attr)
}

// attr asks Options.Attr, then the type table, once per attribute.
func (r *resolver) attr(res *Resource, attr string) (any, error) {
	key := [2]string{res.LogicalID, attr}
	r.mu.Lock()
	v, ok := r.attrs[key]
	r.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := r.computeAttr(res, attr)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.attrs[key] = v
	r.mu.Unlock()
	return v, nil
}

func (r *resolver) computeAttr(res *Resource, attr string) (any, error) {
	if r.opts.Attr != nil {
		if v, ok := r.opts.Attr(res, attr); ok {
			return v, nil
		}
	}
	if isCustom(res.Type) {
		return nil, fmt.Errorf("attributes of %s come from its handler, which the twin does not run, so they are %w unless Options.Attr gives them", res.Type, ErrUnsupported)
	}
	ti := types[res.Type]
	if ti == nil {
		return nil, fmt.Errorf("resource type %s is %w", res.Type, ErrUnsupported)
	}
	f := ti.attrs[attr]
	if f == nil {
		return nil, fmt.Errorf("attribute %s of %s is %w", attr, res.Type, ErrUnsupported)
	}
	return f(r.env(), res)
}

func isCustom(typ string) bool {
	return strings.HasPrefix(typ, "Custom::") || typ == "AWS::CloudFormation::CustomResource"
}
