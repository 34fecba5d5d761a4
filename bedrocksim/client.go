package bedrocksim

import (
	"bytes"
	"io"
	"net/http"
)

// httpClient returns the HTTP client that [Config] gives the SDK: a clone of
// http.DefaultTransport whose request bodies are buffered before they are
// sent.
//
// Why: smithy-go closes a request's body as soon as http.Client.Do returns,
// and its closed body answers io.WriterTo with io.EOF. net/http reads a body
// once more after sending it; when the response (a stream's first frame, on
// loopback) has arrived before that read, the read fails and net/http
// closes the connection under the response: the application sees "use of
// closed network connection" (docs/bedrock.md#use-of-closed-network-connection).
// With the body buffered the transport never reads the SDK's closed body.
// The simulator's stream head start makes the race rare for other clients;
// this client does not depend on it.
func httpClient() *http.Client {
	return &http.Client{Transport: bufferBodies{http.DefaultTransport.(*http.Transport).Clone()}}
}

// bufferBodies is an http.RoundTripper that sends a buffered copy of each
// request body.
type bufferBodies struct{ rt http.RoundTripper }

func (b bufferBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return b.rt.RoundTrip(r)
	}
	buf, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	c := r.Clone(r.Context())
	c.Body = io.NopCloser(bytes.NewReader(buf))
	c.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf)), nil }
	c.ContentLength = int64(len(buf))
	return b.rt.RoundTrip(c)
}
