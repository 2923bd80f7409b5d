package cognito

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Error is an answer in the JSON 1.1 error shape both Cognito services use:
// status 400 (500 for the twin's own faults) and {"__type": Code, "message": Message}.
// The Go API returns these too, so callers can branch on Code.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func newError(code, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

// The exception names both services use (their API references' Errors sections).
const (
	codeNotAuthorized         = "NotAuthorizedException"
	codeInvalidParameter      = "InvalidParameterException"
	codeInvalidPassword       = "InvalidPasswordException"
	codeUsernameExists        = "UsernameExistsException"
	codeUserNotConfirmed      = "UserNotConfirmedException"
	codeUserNotFound          = "UserNotFoundException"
	codeCodeMismatch          = "CodeMismatchException"
	codeExpiredCode           = "ExpiredCodeException"
	codeResourceNotFound      = "ResourceNotFoundException"
	codeInvalidPoolConfig     = "InvalidIdentityPoolConfigurationException"
	codeUnknownOperation      = "UnknownOperationException"
	codeSerialization         = "SerializationException"
	codeMissingAuthentication = "MissingAuthenticationTokenException"
	codeInternal              = "InternalErrorException"
)

// Messages as Cognito words them (recorded answers; see the package doc).
const (
	msgIncorrectPassword = "Incorrect username or password."
	msgNotConfirmed      = "User is not confirmed."
	msgCodeMismatch      = "Invalid verification code provided, please try again."
	msgExpiredCode       = "Invalid code provided, please request a code again."
	msgEmailExists       = "An account with the given email already exists."
	msgUsernameExists    = "User already exists"
	msgUsernameNotEmail  = "Username should be an email."
	msgPasswordPolicy    = "Password did not conform with policy: "
	msgAccessExpired     = "Access Token has expired"
	msgAccessInvalid     = "Invalid Access Token"
	msgRefreshInvalid    = "Invalid Refresh Token"
	msgGuestsNotAllowed  = "Unauthenticated access is not supported for this identity pool."
	msgNotOIDCToken      = "Invalid login token. Not a valid OpenId Connect identity token."
	msgUnsupportedIssuer = "Token is not from a supported provider of this identity pool."
	msgLoginsMismatch    = "Logins don't match. Please include at least one valid login for this identity or identity pool."
	msgPoolConfig        = "Invalid identity pool configuration. Check assigned IAM roles for this pool."
	msgAmbiguousDenied   = "The ambiguous role mapping rules denied this request."
)

func internalError(err error) *Error {
	return &Error{Status: http.StatusInternalServerError, Code: codeInternal, Message: "the twin's Cognito failed: " + err.Error()}
}

// asError turns any error into the answer for it: an *Error as it is, anything
// else as the twin's own fault.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return internalError(err)
}

// writeError answers e with the name also in X-Amzn-ErrorType, where the SDKs
// look first.
func writeError(w http.ResponseWriter, e *Error) {
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	writeJSON(w, e.Status, map[string]string{"__type": e.Code, "message": e.Message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // only plain data is written
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
