package bedrocksim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// The throttle messages Bedrock Runtime sends (bedrock-facts §1). The
// message is the only thing that tells the kinds apart.
const (
	// MsgTooManyRequests is the long request-rate form, with its two spaces.
	MsgTooManyRequests = "Too many requests, please wait before trying again. You have sent too many requests.  Wait before trying again."
	// MsgTooManyRequestsShort is the short request-rate form, sent when
	// [Options.ShortRequestsMessage] is set.
	MsgTooManyRequestsShort = "Too many requests, please wait before trying again."
	// MsgTooManyTokens is the tokens-per-minute throttle.
	MsgTooManyTokens = "Too many tokens, please wait before trying again."
	// MsgTooManyTokensPerDay is the tokens-per-day throttle.
	MsgTooManyTokensPerDay = "Too many tokens per day, please wait before trying again."
)

// Other messages the simulator sends.
const (
	MsgInvalidModel       = "The provided model identifier is invalid."
	MsgModelNotReady      = "Model is not ready for inference. Wait and try your request again."
	MsgServiceUnavailable = "Bedrock is unable to process your request."
	MsgInputTooLong       = "Input is too long for requested model."
	MsgNoCountTokens      = "The provided model doesn't support counting tokens."
)

// ErrorTypeSuffix follows the error code in the X-Amzn-ErrorType header.
const ErrorTypeSuffix = ":http://internal.amazon.com/coral/com.amazon.bedrock/"

// Error type codes, as sent in X-Amzn-ErrorType and counted in
// [KeyStats.Errors].
const (
	CodeThrottling         = "ThrottlingException"
	CodeValidation         = "ValidationException"
	CodeServiceUnavailable = "ServiceUnavailableException"
	CodeModelNotReady      = "ModelNotReadyException"
	CodeUnknownOperation   = "UnknownOperationException"
	CodeConnectionReset    = "ConnectionReset" // stats only: the fault closed the connection
)

// apiError is an error answer: status, code and message.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func validation(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, CodeValidation, fmt.Sprintf(format, args...)}
}

func malformed(detail string) *apiError {
	return validation("Malformed input request: %s, please reformat your input and try again.", detail)
}

// writeError writes e as Bedrock does: the code with its Coral suffix in
// X-Amzn-ErrorType and {"message": ...} as the JSON body.
func writeError(w http.ResponseWriter, reqID string, e *apiError) {
	body, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{e.msg})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Amzn-ErrorType", e.code+ErrorTypeSuffix)
	h.Set("X-Amzn-RequestId", reqID)
	w.WriteHeader(e.status)
	w.Write(body)
}

// requestID is a deterministic UUID-shaped ID for call seq.
func requestID(seed int64, seq uint64) string {
	a, b := mix(uint64(seed), seq), mix(seq, uint64(seed)^0x5bd1e995)
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", uint32(a>>32), uint16(a>>16), uint16(a)&0xfff, uint16(b>>48)&0x3fff|0x8000, b&0xffffffffffff)
}
