package simtest

import (
	"bytes"
	"io"
	"net/http"
	"sync"
)

// Transport returns an http.RoundTripper that serves every request with h
// in memory, without a socket: a response's body is a pipe from the
// handler, so streams arrive as the handler flushes them. Everything it
// does blocks on channels only, so a simulator and the clients calling it
// can run inside a testing/synctest bubble, where a load test of minutes
// takes a fraction of a second and is deterministic up to goroutine
// scheduling.
//
// The request's context is the handler's: a client that gives up cancels
// the handler. Hijacking (the simulator's connection-reset fault) is not
// supported.
func Transport(h http.Handler) http.RoundTripper { return memTransport{h} }

type memTransport struct{ h http.Handler }

func (m memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	sr := r.Clone(r.Context())
	sr.Body = io.NopCloser(bytes.NewReader(body))
	sr.ContentLength = int64(len(body))
	sr.RequestURI = r.URL.RequestURI()
	sr.RemoteAddr = "192.0.2.1:1234"
	if sr.Host == "" {
		sr.Host = r.URL.Host
	}
	pr, pw := io.Pipe()
	w := &memWriter{header: http.Header{}, pw: pw, ready: make(chan struct{})}
	go func() {
		defer func() {
			w.start()
			pw.Close()
		}()
		m.h.ServeHTTP(w, sr)
	}()
	select {
	case <-w.ready:
	case <-r.Context().Done():
		pr.CloseWithError(r.Context().Err())
		return nil, r.Context().Err()
	}
	return &http.Response{
		Status:        http.StatusText(w.status),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.sent,
		Body:          pr,
		ContentLength: -1,
		Request:       r,
	}, nil
}

// memWriter is the handler's side of one exchange.
type memWriter struct {
	header http.Header
	sent   http.Header // the header as of WriteHeader
	status int
	pw     *io.PipeWriter
	once   sync.Once
	ready  chan struct{}
}

func (w *memWriter) Header() http.Header { return w.header }

func (w *memWriter) WriteHeader(code int) {
	w.once.Do(func() {
		w.status = code
		w.sent = w.header.Clone()
		close(w.ready)
	})
}

// start sends the header with 200 unless the handler sent one.
func (w *memWriter) start() { w.WriteHeader(http.StatusOK) }

func (w *memWriter) Write(p []byte) (int, error) {
	w.start()
	return w.pw.Write(p)
}

// Flush is a no-op: the pipe hands each write to the reader.
func (w *memWriter) Flush() {}
