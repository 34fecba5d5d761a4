package tokens

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// A single-pass reader of Anthropic InvokeModel bodies. encoding/json
// validates a body and then decodes it, and the content values (decoded
// again from json.RawMessage) cost two more passes: about four scans of
// every byte. fastAnthropic reads the body once into the same values the
// encoding/json path produces (strings are unescaped by encoding/json
// itself when they hold escapes or invalid UTF-8, numbers are converted by
// it too).
//
// It only accepts what it can decode exactly as encoding/json would. On
// anything else (a key that encoding/json would match case-insensitively
// or after unescaping, a duplicate key, a value of an unexpected type, a
// number out of range where encoding/json decodes into interface values,
// nesting near encoding/json's depth limit) it gives up before counting
// anything, and the caller takes the encoding/json path, which then
// behaves exactly as before. On a syntax error, which encoding/json would
// refuse too, it says so (syntax), and the caller estimates the body from
// its bytes without that second pass.

// fastMaxDepth stays below encoding/json's nesting limit (10000).
const fastMaxDepth = 9990

type fastScan struct {
	b     []byte
	i     int
	depth int
	// syntax is set when the scan stopped at a JSON syntax error, which
	// encoding/json would refuse too: the caller can then estimate the
	// body from its bytes without another pass through encoding/json.
	syntax bool
}

// bad marks a syntax error and returns false.
func (s *fastScan) bad() bool {
	s.syntax = true
	return false
}

type fastAnthropicReq struct {
	prompt            *string
	maxTokens         *int
	maxTokensToSample *int
	system            any // nil, string or []*anthropicBlock
	hasMessages       bool
	messages          []fastMsg
	tools             []json.RawMessage
	toolChoice        string
	syntax            bool // the body is not valid JSON
}

type fastMsg struct {
	role    string
	content any // nil, string or []*anthropicBlock
}

func (s *fastScan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte (0 at the end).
func (s *fastScan) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

func (s *fastScan) lit(word string) bool {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return s.bad()
	}
	s.i += len(word)
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// str scans a string at s.i (which must be '"'): its contents b[lo:hi],
// whether they hold an escape, and whether the string is valid JSON.
func (s *fastScan) str() (lo, hi int, esc, ok bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return 0, 0, false, false
	}
	s.i++
	lo = s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			hi = s.i
			s.i++
			return lo, hi, esc, true
		case c < 0x20:
			return 0, 0, false, s.bad()
		case c == '\\':
			esc = true
			if s.i+1 >= len(s.b) {
				return 0, 0, false, s.bad()
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) || !isHex(s.b[s.i+2]) || !isHex(s.b[s.i+3]) || !isHex(s.b[s.i+4]) || !isHex(s.b[s.i+5]) {
					return 0, 0, false, s.bad()
				}
				s.i += 6
			default:
				return 0, 0, false, s.bad()
			}
		default:
			s.i++
		}
	}
	return 0, 0, false, s.bad()
}

// strValue scans a string value and decodes it as encoding/json does.
func (s *fastScan) strValue() (string, bool) {
	start := s.i
	lo, hi, esc, ok := s.str()
	if !ok {
		return "", false
	}
	raw := s.b[lo:hi]
	if !esc {
		if utf8.Valid(raw) {
			return string(raw), true
		}
		return replaceInvalidUTF8(raw), true
	}
	var v string
	if json.Unmarshal(s.b[start:s.i], &v) != nil {
		return "", false
	}
	return v, true
}

// replaceInvalidUTF8 returns b with every byte that is not part of a valid
// UTF-8 sequence replaced by U+FFFD, one per byte, as encoding/json
// decodes a string without escapes.
func replaceInvalidUTF8(b []byte) string {
	out := make([]byte, 0, len(b)+len(b)/2)
	for i := 0; i < len(b); {
		if c := b[i]; c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		out = utf8.AppendRune(out, r)
		i += size
	}
	return string(out)
}

// key scans an object key and the colon after it. strict (struct
// decoding) refuses keys that encoding/json could match to a field
// case-insensitively; every key with an escape is refused.
func (s *fastScan) key(strict bool) (string, bool) {
	if s.peek() != '"' {
		return "", s.bad()
	}
	lo, hi, esc, ok := s.str()
	if !ok || esc {
		return "", false
	}
	k := s.b[lo:hi]
	if strict {
		for _, c := range k {
			if 'A' <= c && c <= 'Z' || c >= utf8.RuneSelf {
				return "", false
			}
		}
	}
	if s.peek() != ':' {
		return "", s.bad()
	}
	s.i++
	s.ws()
	return string(k), true
}

// number scans a number; checked (decoding into interface values) also
// requires it to fit a float64.
func (s *fastScan) number(checked bool) bool {
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case digits() == 0:
		return s.bad()
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return s.bad()
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return s.bad()
		}
	}
	if checked {
		if _, err := strconv.ParseFloat(string(s.b[start:s.i]), 64); err != nil {
			return false
		}
	}
	return true
}

// skip scans any value; checked as for number.
func (s *fastScan) skip(checked bool) bool {
	switch s.peek() {
	case '"':
		_, _, _, ok := s.str()
		return ok
	case '{', '[':
		return s.skipContainer(checked)
	case 't':
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.lit("null")
	default:
		return s.number(checked)
	}
}

// skipContainer scans an object or array without a closure per level: a
// deep value costs a small frame per level.
func (s *fastScan) skipContainer(checked bool) bool {
	obj := s.b[s.i] == '{'
	end := byte(']')
	if obj {
		end = '}'
	}
	if !s.enter() {
		return false
	}
	s.i++
	if s.peek() == end {
		s.i++
		s.depth--
		return true
	}
	for {
		if obj {
			s.ws()
			if s.peek() != '"' {
				return s.bad()
			}
			if _, _, _, ok := s.str(); !ok || s.peek() != ':' {
				return s.bad()
			}
			s.i++
		}
		if !s.skip(checked) {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case end:
			s.i++
			s.depth--
			return true
		default:
			return s.bad()
		}
	}
}

// rawValue scans any value and returns its bytes.
func (s *fastScan) rawValue(checked bool) ([]byte, bool) {
	s.ws()
	start := s.i
	if !s.skip(checked) {
		return nil, false
	}
	return s.b[start:s.i], true
}

func (s *fastScan) enter() bool {
	s.depth++
	return s.depth <= fastMaxDepth
}

// object scans an object, calling member at each value. A key seen twice
// is refused: which value wins differs between decoding targets.
func (s *fastScan) object(strict bool, member func(key string) bool) bool {
	if s.peek() != '{' || !s.enter() {
		return false
	}
	s.i++
	var few [16]string
	n := 0
	var many map[string]bool
	if s.peek() == '}' {
		s.i++
		s.depth--
		return true
	}
	for {
		k, ok := s.key(strict)
		if !ok {
			return false
		}
		if many != nil {
			if many[k] {
				return false
			}
			many[k] = true
		} else {
			for _, f := range few[:n] {
				if f == k {
					return false
				}
			}
			if n < len(few) {
				few[n] = k
				n++
			} else {
				many = map[string]bool{k: true}
				for _, f := range few {
					many[f] = true
				}
			}
		}
		if !member(k) {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			s.depth--
			return true
		default:
			return s.bad()
		}
	}
}

func (s *fastScan) array(elem func() bool) bool {
	if s.peek() != '[' || !s.enter() {
		return false
	}
	s.i++
	if s.peek() == ']' {
		s.i++
		s.depth--
		return true
	}
	for {
		s.ws()
		if !elem() {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			s.depth--
			return true
		default:
			return s.bad()
		}
	}
}

// optString scans a string or null into *dst.
func (s *fastScan) optString(dst *string) bool {
	if s.peek() == 'n' {
		return s.lit("null")
	}
	v, ok := s.strValue()
	*dst = v
	return ok
}

// optInt scans a number or null as encoding/json decodes it into *int.
func (s *fastScan) optInt(dst **int) bool {
	if s.peek() == 'n' {
		*dst = nil
		return s.lit("null")
	}
	raw, ok := s.rawValue(false)
	if !ok {
		return false
	}
	var n int
	if raw[0] == '"' || json.Unmarshal(raw, &n) != nil {
		return false
	}
	*dst = &n
	return true
}

// fastAnthropic reads an Anthropic body; ok is false when the caller must
// take the encoding/json path or, with r.syntax, estimate the body from its
// bytes (it is not JSON).
func fastAnthropic(b []byte) (r fastAnthropicReq, ok bool) {
	s := &fastScan{b: b}
	ok = s.object(true, func(k string) bool {
		switch k {
		case "prompt":
			if s.peek() == 'n' {
				r.prompt = nil
				return s.lit("null")
			}
			v, ok := s.strValue()
			r.prompt = &v
			return ok
		case "max_tokens":
			return s.optInt(&r.maxTokens)
		case "max_tokens_to_sample":
			return s.optInt(&r.maxTokensToSample)
		case "system":
			v, ok := s.content(true)
			r.system = v
			return ok
		case "messages":
			if s.peek() == 'n' {
				return s.lit("null")
			}
			r.hasMessages = true
			return s.array(func() bool {
				var m fastMsg
				if s.peek() == 'n' {
					r.messages = append(r.messages, m)
					return s.lit("null")
				}
				ok := s.object(true, func(k string) bool {
					switch k {
					case "role":
						return s.optString(&m.role)
					case "content":
						v, ok := s.content(true)
						m.content = v
						return ok
					}
					return s.skip(false)
				})
				r.messages = append(r.messages, m)
				return ok
			})
		case "tools":
			if s.peek() == 'n' {
				return s.lit("null")
			}
			return s.array(func() bool {
				raw, ok := s.rawValue(false)
				r.tools = append(r.tools, raw)
				return ok
			})
		case "tool_choice":
			if s.peek() == 'n' {
				return s.lit("null")
			}
			return s.object(true, func(k string) bool {
				if k == "type" {
					return s.optString(&r.toolChoice)
				}
				return s.skip(false)
			})
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
	return r, r.prompt != nil || r.hasMessages
}

// content scans a content value: a top-level one (system or a message's)
// as anthropicContent decodes it into []*anthropicBlock (strict), or a
// block's nested content as anthropicContentValue reads it after
// encoding/json decoded it into interface values.
func (s *fastScan) content(strict bool) (any, bool) {
	switch s.peek() {
	case 'n':
		return nil, s.lit("null")
	case '"':
		return s.strValue()
	case '[':
		var blocks []*anthropicBlock
		ok := s.array(func() bool {
			if s.peek() == 'n' {
				return s.lit("null")
			}
			bl := &anthropicBlock{}
			blocks = append(blocks, bl)
			return s.block(bl, strict)
		})
		return blocks, ok
	}
	return nil, false
}

// block scans one block: as encoding/json decodes it into an
// anthropicBlock (strict), or as blockFromValue reads it from a decoded map.
func (s *fastScan) block(bl *anthropicBlock, strict bool) bool {
	checked := !strict // inside a value decoded into interface values
	return s.object(strict, func(k string) bool {
		switch k {
		case "type":
			return s.optString(&bl.Type)
		case "text":
			return s.optString(&bl.Text)
		case "thinking":
			return s.optString(&bl.Thinking)
		case "data":
			return s.optString(&bl.Data)
		case "name":
			return s.optString(&bl.Name)
		case "id":
			return s.optString(&bl.ID)
		case "tool_use_id":
			return s.optString(&bl.ToolUseID)
		case "title":
			return s.optString(&bl.Title)
		case "context":
			return s.optString(&bl.Context)
		case "content":
			v, ok := s.content(false)
			bl.Content = v
			return ok
		case "input":
			raw, ok := s.rawValue(checked)
			if !ok {
				return false
			}
			if strict {
				bl.Input = raw
				return true
			}
			// blockFromValue marshals the decoded value again.
			if string(raw) == "null" {
				return true
			}
			var v any
			if json.Unmarshal(raw, &v) != nil {
				return false
			}
			m, err := json.Marshal(v)
			bl.Input = m
			return err == nil
		case "source":
			if s.peek() == 'n' {
				return s.lit("null")
			}
			src := &anthropicSrc{}
			bl.Source = src
			return s.object(strict, func(k string) bool {
				switch k {
				case "type":
					return s.optString(&src.Type)
				case "media_type":
					return s.optString(&src.MediaType)
				case "data":
					return s.optString(&src.Data)
				}
				return s.skip(checked)
			})
		}
		return s.skip(checked)
	})
}
