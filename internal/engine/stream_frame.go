package engine

import (
	"encoding/binary"
	"hash/crc32"
)

// The stream tap decodes frames itself, without allocating: the event-stream
// package's Decoder allocates every header name and value, which made it
// most of the tap's cost per event. The checks are the Decoder's: prelude
// CRC, message CRC, header syntax.

// preludeLen is the length of a frame's prelude: total length, headers
// length, prelude CRC.
const preludeLen = 12

// maxFrame bounds the bytes the tap buffers for one frame: the event-stream
// limit of 16 MiB, which the SDK enforces too.
const maxFrame = 16 << 20

// prelude checks the prelude at the front of b (at least preludeLen bytes)
// and returns the frame's total length.
func prelude(b []byte) (int, bool) {
	total := int(binary.BigEndian.Uint32(b))
	ok := total >= preludeLen+4 && total <= maxFrame && crc32.ChecksumIEEE(b[:8]) == binary.BigEndian.Uint32(b[8:preludeLen])
	return total, ok
}

// frameView is one decoded frame; its slices point into the frame.
type frameView struct {
	messageType   []byte // :message-type
	eventType     []byte // :event-type
	exceptionType []byte // :exception-type
	payload       []byte
}

// parseFrame decodes the complete frame b. It reports false for a malformed
// frame (bad CRC, bad header syntax).
func parseFrame(b []byte) (f frameView, ok bool) {
	if len(b) < preludeLen+4 {
		return f, false
	}
	total, ok := prelude(b)
	if !ok || total != len(b) {
		return f, false
	}
	hlen := int(binary.BigEndian.Uint32(b[4:8]))
	if hlen > total-preludeLen-4 || crc32.ChecksumIEEE(b[:total-4]) != binary.BigEndian.Uint32(b[total-4:]) {
		return f, false
	}
	h := b[preludeLen : preludeLen+hlen]
	for len(h) > 0 {
		nl := int(h[0])
		if 2+nl > len(h) {
			return f, false
		}
		name, typ := h[1:1+nl], h[1+nl]
		h = h[2+nl:]
		size := 0
		switch typ {
		case 0, 1: // bool true, false: no value
		case 2:
			size = 1
		case 3:
			size = 2
		case 4:
			size = 4
		case 5, 8: // int64, timestamp
			size = 8
		case 9: // uuid
			size = 16
		case 6, 7: // bytes, string: 2-byte length
			if len(h) < 2 {
				return f, false
			}
			size = 2 + int(binary.BigEndian.Uint16(h))
			if size > len(h) {
				return f, false
			}
			if typ == 7 {
				v := h[2:size]
				switch string(name) {
				case ":message-type":
					f.messageType = v
				case ":event-type":
					f.eventType = v
				case ":exception-type":
					f.exceptionType = v
				}
			}
		default:
			return f, false
		}
		if size > len(h) {
			return f, false
		}
		h = h[size:]
	}
	f.payload = b[preludeLen+hlen : total-4]
	return f, true
}

// jsonString scans the JSON string starting after the opening quote at
// js[i] and returns the index of its closing quote, or len(js).
func jsonString(js []byte, i int) int {
	for i < len(js) && js[i] != '"' {
		if js[i] == '\\' {
			i++
		}
		i++
	}
	return min(i, len(js))
}

// textBytes returns the total length of the string values in the JSON
// object js, except those of keys that never carry generated content
// ("type", Bedrock's random padding "p", roles and stop reasons). Escapes
// count as written. It is a cheap, allocation-free stand-in for decoding
// every delta, good enough to charge a stream that ended without its usage.
func textBytes(js []byte) int {
	n := 0
	var key []byte
	for i := 0; i < len(js); i++ {
		if js[i] != '"' {
			continue
		}
		j := jsonString(js, i+1)
		s := js[i+1 : j]
		k := j + 1
		for k < len(js) && (js[k] == ' ' || js[k] == '\t' || js[k] == '\n' || js[k] == '\r') {
			k++
		}
		if k < len(js) && js[k] == ':' {
			key = s
		} else if !noContent(key) {
			n += len(s)
		}
		i = j
	}
	return n
}

func noContent(key []byte) bool {
	switch string(key) {
	case "p", "type", "role", "stop_reason", "stopReason", "signature", "toolUseId", "name", "id", "model":
		return true
	}
	return false
}

// stringValue returns the raw value of the first string member key in the
// JSON object js, or false.
func stringValue(js []byte, key string) ([]byte, bool) {
	for i := 0; i < len(js); i++ {
		if js[i] != '"' {
			continue
		}
		j := jsonString(js, i+1)
		s := js[i+1 : j]
		k := j + 1
		for k < len(js) && js[k] == ' ' {
			k++
		}
		if k < len(js) && js[k] == ':' && string(s) == key {
			k++
			for k < len(js) && js[k] == ' ' {
				k++
			}
			if k < len(js) && js[k] == '"' {
				e := jsonString(js, k+1)
				if e < len(js) {
					return js[k+1 : e], true
				}
			}
			return nil, false
		}
		i = j
	}
	return nil, false
}
