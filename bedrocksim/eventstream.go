package bedrocksim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// frame is one event-stream message to send: an event (eventType set) or an
// exception (exceptionType set), with a JSON payload.
type frame struct {
	eventType     string
	exceptionType string
	payload       []byte
}

// eventFrame marshals v as the payload of an event frame.
func eventFrame(eventType string, v any) frame {
	b, _ := json.Marshal(v)
	return frame{eventType: eventType, payload: b}
}

// chunkFrame wraps family JSON v as an InvokeModelWithResponseStream chunk:
// {"bytes": base64(json(v))}.
func chunkFrame(v any) frame {
	b, _ := json.Marshal(v)
	return eventFrame("chunk", struct {
		Bytes string `json:"bytes"`
	}{base64.StdEncoding.EncodeToString(b)})
}

// streamWriter writes event-stream frames. The response headers go out
// together with the first frame: when a server flushes a stream's 200
// headers alone, the SDK can close the request body while net/http still
// reads it, and net/http then closes the connection under the stream
// (docs/bedrock.md#use-of-closed-network-connection).
type streamWriter struct {
	w       http.ResponseWriter
	header  func(http.Header)
	enc     *eventstream.Encoder
	buf     bytes.Buffer
	started bool
	err     error
}

func newStreamWriter(w http.ResponseWriter, header func(http.Header)) *streamWriter {
	return &streamWriter{w: w, header: header, enc: eventstream.NewEncoder()}
}

// send writes f and flushes. After a write error it does nothing and keeps
// returning that error.
func (s *streamWriter) send(f frame) error {
	if s.err != nil {
		return s.err
	}
	var msg eventstream.Message
	if f.exceptionType != "" {
		msg.Headers.Set(":exception-type", eventstream.StringValue(f.exceptionType))
		msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
		msg.Headers.Set(":message-type", eventstream.StringValue("exception"))
	} else {
		msg.Headers.Set(":event-type", eventstream.StringValue(f.eventType))
		msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
		msg.Headers.Set(":message-type", eventstream.StringValue("event"))
	}
	msg.Payload = f.payload
	s.buf.Reset()
	if err := s.enc.Encode(&s.buf, msg); err != nil {
		s.err = err
		return err
	}
	if !s.started {
		s.started = true
		s.header(s.w.Header())
		s.w.WriteHeader(http.StatusOK)
	}
	if _, err := s.w.Write(s.buf.Bytes()); err != nil {
		s.err = err
		return err
	}
	if err := http.NewResponseController(s.w).Flush(); err != nil {
		s.err = err
	}
	return s.err
}
