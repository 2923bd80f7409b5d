// Package cfn reads a synthesized CloudFormation template and resolves it into the
// concrete resources the twin creates: every intrinsic function evaluated, every
// resource given a deterministic, readable physical name and id, and the resources
// put in dependency order. It only reads templates; creating the resources is the
// twin's business.
//
// What a CloudFormation user should know about the twin's resolution:
//
//   - Names: a name property set in the template wins. Otherwise a resource is named
//     <StackName>-<constructId> (truncated to its type's length limit), where the
//     construct id is the one path segment of aws:cdk:path below the stack
//     ("ImagePipe/Images/Resource" → "Images"), or the logical id for nested
//     constructs. CloudFormation would add a random suffix; the twin does not, so a
//     restart finds the same names. S3 buckets are the lower-cased construct id
//     ("images"), OpenSearch domains are lower-cased and at most 28 characters.
//   - Generated ids (REST API, resources, deployments, Cognito pools, CloudFront)
//     are short strings derived from the logical id with SHA-256: the same template
//     gives the same ids on every start.
//   - Ref and Fn::GetAtt return what the CloudFormation documentation's "Return
//     values" section of each type says, built for the configured account, region
//     and partition; Options.Attr lets the twin supply values that depend on where it
//     serves things (queue URLs, the OpenSearch endpoint). A Ref or Fn::GetAtt on a
//     type or attribute the package does not model is an error, never a guess.
//   - Fn::GetAZs returns three zones, <region>a, <region>b and <region>c.
//   - Parameters of type AWS::SSM::Parameter::Value<...> come from Options.Parameters;
//     without a value there, a Ref to one is an error (the twin has no Parameter
//     Store). Rules (CDK's bootstrap-version check) are not evaluated.
//   - Fn::ImportValue, Fn::Cidr, Fn::Transform, the AWS::LanguageExtensions
//     functions and template Transforms are not supported: an error names the
//     resource, the property path and the function.
package cfn
