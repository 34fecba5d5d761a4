package bedrocksim

import (
	"unicode"
	"unicode/utf8"
)

// messageOverhead is the number of tokens the simulator adds for each message
// of a conversation (its role and separators), for a non-empty system prompt,
// and for the single prompt of the text-completion families (Titan, Llama,
// Mistral, Cohere).
const messageOverhead = 3

// binaryBytesPerToken is how many base64 characters of an image or document
// payload count as one token (rounded up, at least one).
const binaryBytesPerToken = 1000

// inputTokens is the simulator's own deterministic token count of text. It
// is deliberately not any real tokenizer, so clients must calibrate against
// the simulator the way they would against Bedrock:
//
//   - ASCII bytes count one token per 4 bytes, rounded up over the text;
//   - Han, Hiragana, Katakana and Hangul characters count one token each;
//   - any other non-ASCII character counts half a token, rounded up over the
//     text.
//
// The empty string counts zero. A conversation counts the sum over its text
// parts plus [messageOverhead] per message (see the package documentation).
func inputTokens(text string) int {
	var ascii, cjk, other int
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			ascii++
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(text[i:])
		i += n
		if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) {
			cjk++
		} else {
			other++
		}
	}
	return (ascii+3)/4 + cjk + (other+1)/2
}

// binaryTokens is the count for a base64 payload of n characters.
func binaryTokens(n int) int {
	return max(1, (n+binaryBytesPerToken-1)/binaryBytesPerToken)
}

// outputWords are the simulator's output tokens: four ASCII bytes each, so
// inputTokens of an output of n tokens is exactly n.
var outputWords = [...]string{" sim", " bed", " roc", " qta", " tok", " ens", " lam", " api"}

// outputText returns n output tokens starting at token index from,
// deterministically derived from h.
func outputText(h uint64, from, n int) string {
	b := make([]byte, 0, 4*n)
	for i := from; i < from+n; i++ {
		b = append(b, outputWords[mix(h, uint64(i))%uint64(len(outputWords))]...)
	}
	return string(b)
}

// mix is a splitmix64-style hash of two words.
func mix(a, b uint64) uint64 {
	x := a ^ (b+0x9e3779b97f4a7c15)*0xbf58476d1ce4e5b9
	x ^= x >> 31
	x *= 0x94d049bb133111eb
	x ^= x >> 29
	x *= 0xbf58476d1ce4e5b9
	return x ^ x>>32
}

// hashString is FNV-1a of s, continuing from h.
func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

const hashSeed uint64 = 14695981039346656037
