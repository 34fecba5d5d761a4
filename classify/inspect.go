package classify

import (
	"context"
	"io"
	"net"
	"net/url"
	"syscall"

	"github.com/aws/smithy-go"

	"github.com/bedrockguard/bedrockguard/internal/midstream"
)

// facts is what one walk over an error tree learns. Walking by hand (type
// assertions and Unwrap, no errors.As) keeps Classify free of allocations:
// errors.As allocates as soon as the chain holds an error with an As method,
// and the SDK's *awshttp.ResponseError has one.
type facts struct {
	code, message string
	hasAPI        bool // a smithy.APIError was found
	status        int  // first HTTP status found, 0 if none
	marked        bool // a *midstream.Error marker was found
	canceled      bool // the caller's context was canceled or timed out
	timeout       bool // a transport or model timeout
	conn          bool // a connection-level failure (reset, EOF, refused)
	dnsNotFound   bool // the endpoint host does not exist
}

type (
	statusCoder   interface{ HTTPStatusCode() int }
	canceler      interface{ CanceledError() bool }
	timeouter     interface{ Timeout() bool }
	connectionErr interface{ ConnectionError() bool }
	singleWrapper interface{ Unwrap() error }
	multiWrapper  interface{ Unwrap() []error }
)

// maxDepth bounds the walk so that a cyclic or absurdly deep chain cannot
// hang or overflow the stack.
const maxDepth = 64

func inspect(err error) facts {
	var f facts
	f.walk(err, 0, false)
	return f
}

// walk visits err and what it wraps, outermost first, depth first through
// errors.Join trees. transport is true below an error that marks a failed
// send (smithyhttp.RequestSendError, *url.Error): there a context error is a
// transport timeout (http.Client.Timeout), not the caller's own context.
func (f *facts) walk(err error, depth int, transport bool) {
	for ; err != nil && depth < maxDepth; depth++ {
		f.visit(err, transport)
		if _, ok := err.(*url.Error); ok {
			transport = true
		} else if c, ok := err.(connectionErr); ok && c.ConnectionError() {
			transport = true
		}
		switch x := err.(type) {
		case multiWrapper:
			for _, e := range x.Unwrap() {
				f.walk(e, depth+1, transport)
			}
			return
		case singleWrapper:
			err = x.Unwrap()
		default:
			return
		}
	}
}

func (f *facts) visit(err error, transport bool) {
	if e, ok := err.(*midstream.Error); ok && e != nil {
		f.marked = true
	}
	if !f.hasAPI {
		if a, ok := err.(smithy.APIError); ok {
			f.hasAPI = true
			f.code = a.ErrorCode()
			f.message = a.ErrorMessage()
		}
	}
	if f.status == 0 {
		if s, ok := err.(statusCoder); ok {
			f.status = statusOf(s)
		}
	}
	if c, ok := err.(canceler); ok && c.CanceledError() {
		f.canceled = true
	}
	switch err {
	case context.Canceled:
		if !transport {
			f.canceled = true
		}
		return
	case context.DeadlineExceeded:
		if transport {
			f.timeout = true
		} else {
			f.canceled = true
		}
		return
	case io.EOF, io.ErrUnexpectedEOF, net.ErrClosed:
		f.conn = true
		return
	}
	if e, ok := err.(syscall.Errno); ok {
		switch e {
		case syscall.ECONNRESET, syscall.ECONNREFUSED, syscall.ECONNABORTED, syscall.EPIPE:
			f.conn = true
		case syscall.ETIMEDOUT:
			f.timeout = true
		}
		return
	}
	if d, ok := err.(*net.DNSError); ok {
		if d.IsNotFound {
			f.dnsNotFound = true
		} else if d.IsTimeout {
			f.timeout = true
		}
		return
	}
	if t, ok := err.(timeouter); ok && t.Timeout() {
		f.timeout = true
	}
	if c, ok := err.(connectionErr); ok && c.ConnectionError() {
		f.conn = true
	}
}

// statusOf reads the status without panicking on a ResponseError that has
// no response (a hand-built error in a test, say).
func statusOf(s statusCoder) (status int) {
	defer func() {
		if recover() != nil {
			status = 0
		}
	}()
	return s.HTTPStatusCode()
}

// midStream reports whether the walk points to an error from stream.Err():
// either explicitly marked, or a service error with no HTTP response in its
// chain (an exception frame decoded after the 200 headers).
func (f *facts) midStream() bool {
	return f.marked || (f.hasAPI && f.status == 0)
}
