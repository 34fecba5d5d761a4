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
	var req []byte
	if r.Body != nil && r.Body != http.NoBody {
		var err error
		req, err = io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	sr := r.Clone(r.Context())
	sr.Body = io.NopCloser(bytes.NewReader(req))
	sr.ContentLength = int64(len(req))
	sr.RequestURI = r.URL.RequestURI()
	sr.RemoteAddr = "192.0.2.1:1234"
	if sr.Host == "" {
		sr.Host = r.URL.Host
	}
	body := &memBody{ch: make(chan []byte, memBuffered), done: make(chan struct{})}
	w := &memWriter{header: http.Header{}, body: body, ready: make(chan struct{})}
	go func() {
		defer func() {
			w.start()
			close(body.ch)
		}()
		m.h.ServeHTTP(w, sr)
	}()
	select {
	case <-w.ready:
	case <-r.Context().Done():
		body.Close()
		return nil, r.Context().Err()
	}
	return &http.Response{
		Status:        http.StatusText(w.status),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.sent,
		Body:          body,
		ContentLength: -1,
		Request:       r,
	}, nil
}

// memBuffered is how many writes a response body holds before the handler
// blocks, standing in for a socket's buffer: as over a connection, the
// handler's writes return before the client reads them (the simulator
// settles a call right after writing its answer, before the client sees
// it, as over loopback).
const memBuffered = 4096

// memBody is a response body: the handler's writes, in order, through a
// buffered channel (channel operations keep a synctest bubble's goroutines
// durably blocked).
type memBody struct {
	ch   chan []byte
	cur  []byte
	done chan struct{}
	once sync.Once
}

func (b *memBody) Read(p []byte) (int, error) {
	for len(b.cur) == 0 {
		select {
		case c, ok := <-b.ch:
			if !ok {
				return 0, io.EOF
			}
			b.cur = c
		case <-b.done:
			return 0, io.ErrClosedPipe
		}
	}
	n := copy(p, b.cur)
	b.cur = b.cur[n:]
	return n, nil
}

// Close tells the handler that nobody reads any more.
func (b *memBody) Close() error {
	b.once.Do(func() { close(b.done) })
	return nil
}

// memWriter is the handler's side of one exchange.
type memWriter struct {
	header http.Header
	sent   http.Header // the header as of WriteHeader
	status int
	body   *memBody
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
	if len(p) == 0 {
		return 0, nil
	}
	select {
	case w.body.ch <- append([]byte(nil), p...):
		return len(p), nil
	case <-w.body.done:
		return 0, io.ErrClosedPipe
	}
}

// Flush is a no-op: each write reaches the reader as it is.
func (w *memWriter) Flush() {}
