package bedrocksim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/bedrockguard/bedrockguard/internal/wire"
)

// codeConnectionReset is the error type counted in [KeyStats.Errors] when
// the Reset fault closes a connection; it never goes on the wire.
const codeConnectionReset = "ConnectionReset"

// apiError is an error answer: status, code and message.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func validation(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, wire.CodeValidation, fmt.Sprintf(format, args...)}
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
	h.Set(wire.HeaderErrorType, e.code+wire.ErrorTypeSuffix)
	h.Set(wire.HeaderRequestID, reqID)
	w.WriteHeader(e.status)
	w.Write(body)
}

// requestID is a deterministic UUID-shaped ID for call seq.
func requestID(seed int64, seq uint64) string {
	a, b := mix(uint64(seed), seq), mix(seq, uint64(seed)^0x5bd1e995)
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", uint32(a>>32), uint16(a>>16), uint16(a)&0xfff, uint16(b>>48)&0x3fff|0x8000, b&0xffffffffffff)
}
