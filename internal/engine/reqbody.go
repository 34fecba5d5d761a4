package engine

import (
	"io"

	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// shieldBody returns req with its request stream wrapped so that it no
// longer offers io.WriterTo, or req itself when there is nothing to do.
//
// Why: smithy-go closes an attempt's request body as soon as
// http.Client.Do returns, and its closed body answers WriteTo with io.EOF.
// net/http, having sent a body of known length, reads it once more to check
// for extra bytes; when the response (a stream's first frame, on loopback)
// arrives before that last read, the read goes through WriteTo, gets io.EOF,
// and net/http takes it for a write error and closes the connection under
// the response: the stream fails with "use of closed network connection"
// (docs/bedrock.md#use-of-closed-network-connection). Through Read, the same
// closed body answers io.EOF, which io.Copy takes for the end of the body:
// the last read finds nothing and the connection lives on.
func shieldBody(req any) any {
	r, ok := req.(*smithyhttp.Request)
	if !ok {
		return req
	}
	s := r.GetStream()
	rs, ok := s.(io.ReadSeeker)
	if _, wt := s.(io.WriterTo); !ok || !wt {
		return req
	}
	nr, err := r.SetStream(readSeeker{rs})
	if err != nil {
		return req
	}
	return nr
}

// readSeeker hides every method of its stream but Read and Seek.
type readSeeker struct{ rs io.ReadSeeker }

func (r readSeeker) Read(p []byte) (int, error)                { return r.rs.Read(p) }
func (r readSeeker) Seek(off int64, whence int) (int64, error) { return r.rs.Seek(off, whence) }
