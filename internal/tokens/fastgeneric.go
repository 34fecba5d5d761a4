package tokens

import "encoding/json"

// A single-pass reader of generic-schema InvokeModel bodies (Meta Llama,
// Mistral, AI21 Jamba, OpenAI gpt-oss and other chat-style bodies), on the
// same terms as fastAnthropic: it decodes exactly what encoding/json would
// (genericReq, and every content value as genericContent decodes it), and
// refuses anything else before counting, leaving the body to
// genericBodyJSON.

// genericContentValue is a system or message content value: a string, an
// array of parts, or any other value (counted as its JSON text).
type genericContentValue struct {
	isString bool
	str      string
	isParts  bool
	parts    []genericPart
	raw      []byte
}

type fastGenericReq struct {
	req genericReq
	// contents holds the system content first, then each message's.
	contents []genericContentValue
	syntax   bool // the body is not valid JSON
}

// fastGeneric reads a generic-schema body; ok is false when the caller
// must take the encoding/json path or, with r.syntax, estimate the body
// from its bytes (it is not JSON).
func fastGeneric(b []byte) (r fastGenericReq, ok bool) {
	s := &fastScan{b: b}
	var system genericContentValue
	var msgs []genericContentValue
	ok = s.object(true, func(k string) bool {
		switch k {
		case "prompt":
			return s.optStringPtr(&r.req.Prompt)
		case "inputtext":
			// encoding/json matches the field "inputText" case-insensitively;
			// the strict key scan refuses every key with an upper-case
			// letter (so "inputText" itself takes the encoding/json path).
			return s.optStringPtr(&r.req.InputText)
		case "system":
			v, ok := s.genericContent()
			system = v
			r.req.System = v.raw
			return ok
		case "messages":
			if s.peek() == 'n' {
				r.req.Messages, msgs = nil, nil
				return s.lit("null")
			}
			r.req.Messages = []genericMsg{}
			return s.array(func() bool {
				var c genericContentValue
				var role string
				ok := true
				if s.peek() == 'n' {
					ok = s.lit("null")
				} else {
					ok = s.object(true, func(k string) bool {
						switch k {
						case "role":
							return s.optString(&role)
						case "content":
							v, ok := s.genericContent()
							c = v
							return ok
						}
						return s.skip(false)
					})
				}
				r.req.Messages = append(r.req.Messages, genericMsg{role, c.raw})
				msgs = append(msgs, c)
				return ok
			})
		case "tools":
			if s.peek() == 'n' {
				r.req.Tools = nil
				return s.lit("null")
			}
			r.req.Tools = []json.RawMessage{}
			return s.array(func() bool {
				raw, ok := s.rawValue(false)
				r.req.Tools = append(r.req.Tools, raw)
				return ok
			})
		case "images":
			if s.peek() == 'n' {
				r.req.Images = nil
				return s.lit("null")
			}
			r.req.Images = []string{}
			return s.array(func() bool {
				var v string
				ok := s.optString(&v)
				r.req.Images = append(r.req.Images, v)
				return ok
			})
		case "max_tokens":
			return s.optInt(&r.req.MaxTokens)
		case "max_completion_tokens":
			return s.optInt(&r.req.MaxCompletionTokens)
		case "max_gen_len":
			return s.optInt(&r.req.MaxGenLen)
		case "max_new_tokens":
			return s.optInt(&r.req.MaxNewTokens)
		}
		return s.skip(false)
	})
	if ok && (s.peek() != 0 || s.i != len(b)) {
		s.bad() // data after the value
	}
	r.syntax = s.syntax
	if !ok || s.syntax {
		return r, false
	}
	if r.req.Prompt == nil && r.req.InputText == nil && r.req.Messages == nil {
		return r, false
	}
	r.contents = append([]genericContentValue{system}, msgs...)
	return r, true
}

// optStringPtr scans a string or null into *dst as encoding/json decodes
// it into a *string.
func (s *fastScan) optStringPtr(dst **string) bool {
	if s.peek() == 'n' {
		*dst = nil
		return s.lit("null")
	}
	v, ok := s.strValue()
	*dst = &v
	return ok
}

// genericContent scans a content value as genericContent decodes it: a
// string, an array of parts (an array that does not decode into parts is
// scanned again as raw JSON), or any other value as raw JSON. raw is the
// value's bytes.
func (s *fastScan) genericContent() (genericContentValue, bool) {
	s.ws()
	start := s.i
	var c genericContentValue
	switch s.peek() {
	case '"':
		v, ok := s.strValue()
		c.isString, c.str, c.raw = true, v, s.b[start:s.i]
		return c, ok
	case '[':
		depth := s.depth
		var parts []genericPart
		mismatch := false // a value encoding/json cannot decode into parts
		ok := s.array(func() bool {
			var p genericPart
			switch s.peek() {
			case 'n':
				parts = append(parts, p)
				return s.lit("null")
			case '{':
			default:
				mismatch = true
				return false
			}
			ok := s.object(true, func(k string) bool {
				switch k {
				case "text":
					if c := s.peek(); c != 'n' && c != '"' {
						mismatch = true
						return false
					}
					return s.optStringPtr(&p.Text)
				case "image":
					raw, ok := s.rawValue(false)
					p.Image = raw
					return ok
				case "image_url":
					raw, ok := s.rawValue(false)
					p.ImageURL = raw
					return ok
				}
				return s.skip(false)
			})
			parts = append(parts, p)
			return ok
		})
		if ok {
			c.isParts, c.parts, c.raw = true, parts, s.b[start:s.i]
			return c, true
		}
		if !mismatch {
			// A syntax error, or a key the strict scan refuses.
			return c, false
		}
		// Not parts: genericContent counts it as raw JSON text (if it is
		// valid JSON at all).
		s.i, s.depth = start, depth
	}
	raw, ok := s.rawValue(false)
	c.raw = raw
	return c, ok
}
