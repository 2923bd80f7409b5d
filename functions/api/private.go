package api

import (
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// Who the search API shows private fields to (Search.PrivateFields, the search
// function's PRIVATE_FIELDS, set by the CDK app's privateFields context). Private
// fields say where a photo was taken or whose camera took it: the document's
// location, the EXIF GPS* tags, serial numbers (BodySerialNumber, LensSerialNumber,
// …) and owner names (CameraOwnerName, Artist, …).
const (
	// PrivateFieldsSignedIn (the default): signed-in Cognito users and IAM
	// principals that are not Cognito identities; never guests.
	PrivateFieldsSignedIn = "signed-in"
	// PrivateFieldsIAM: only IAM principals that are not Cognito identities (an
	// operator's CLI); no web user, signed in or not.
	PrivateFieldsIAM = "iam"
)

// ownerTags are the EXIF tags that name a person.
var ownerTags = map[string]bool{"CameraOwnerName": true, "OwnerName": true, "Artist": true, "XPAuthor": true}

// privateTag reports an EXIF tag Redact removes.
func privateTag(name string) bool {
	return strings.HasPrefix(name, "GPS") || strings.Contains(name, "SerialNumber") || ownerTags[name]
}

// Redact removes d's private fields: its location and the private EXIF tags.
func Redact(d *pipeline.Document) {
	d.Location = nil
	if d.EXIF == nil {
		return
	}
	kept := make(map[string]string, len(d.EXIF))
	for k, v := range d.EXIF {
		if !privateTag(k) {
			kept[k] = v
		}
	}
	d.EXIF = kept
}

// MayShowPrivate reports whether the caller of req may see private fields under
// policy (PrivateFieldsSignedIn or "", PrivateFieldsIAM; anything else is treated
// as the stricter PrivateFieldsIAM). API Gateway's AWS_IAM authorization names a
// Cognito identity pool caller's kind in cognitoAuthenticationType: "unauthenticated"
// for guests, "authenticated" for signed-in users; it is empty for any other IAM
// principal.
func MayShowPrivate(req events.APIGatewayProxyRequest, policy string) bool {
	switch req.RequestContext.Identity.CognitoAuthenticationType {
	case "":
		return true
	case "authenticated":
		return policy == "" || policy == PrivateFieldsSignedIn
	}
	return false // guests, and any kind API Gateway may add later
}
