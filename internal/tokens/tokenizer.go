package tokens

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	tiktoken "github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

// Tokenizer counts the tokens of a text. Implementations must be safe for
// concurrent use. The Estimator never hands a Tokenizer more than
// [Options.MaxTokenizeBytes] bytes per estimate, so a slow Tokenizer bounds
// the estimate's latency, not the other way round.
type Tokenizer interface {
	CountTokens(text string) int
}

// TokenizerFunc adapts a function to the [Tokenizer] interface.
type TokenizerFunc func(text string) int

// CountTokens calls f(text).
func (f TokenizerFunc) CountTokens(text string) int { return f(text) }

// maxRun is the longest run of one character class (letters, digits, spaces,
// punctuation) that is handed to the BPE merge in one piece. pkoukk's merge is
// quadratic in the piece length (64 KB of one letter takes ~1.6 s); cutting
// runs at 128 bytes bounds a piece's merge to a few microseconds and leaves
// ordinary words, numbers and indentation untouched.
const maxRun = 128

var (
	defaultOnce sync.Once
	defaultTok  *bpeTokenizer
)

// Default returns the shared, bounded cl100k_base counter built on
// github.com/pkoukk/tiktoken-go with the offline BPE loader (nothing is
// downloaded). The encoder is built once, on first use (~110 ms and ~23 MB
// allocated on 2 cores), and shared by every caller; it is safe for
// concurrent use.
//
// Its cost is linear in the input on any text: runs of one character class
// longer than 128 bytes are cut before the BPE merge, and runs of one repeated
// character are counted arithmetically from one 128-byte chunk. cl100k is not
// Claude's (or any Bedrock model's) tokenizer; the [Estimator] calibrates its
// counts against the usage Bedrock reports.
//
// If the encoder cannot be built (it cannot with the embedded vocabulary,
// but the failure is still handled), Default counts with the conservative
// byte heuristic instead.
func Default() Tokenizer {
	defaultOnce.Do(func() {
		// SetBpeLoader writes an unsynchronised global in tiktoken-go: it
		// is called exactly once, here, before the first GetEncoding.
		tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader())
		enc, err := tiktoken.GetEncoding(tiktoken.MODEL_CL100K_BASE)
		defaultTok = &bpeTokenizer{enc: enc, err: err}
	})
	return defaultTok
}

type bpeTokenizer struct {
	enc *tiktoken.Tiktoken
	err error
}

// CountTokens counts text with cl100k_base, cutting over-long runs (see
// [Default]).
func (t *bpeTokenizer) CountTokens(text string) int {
	if t.enc == nil {
		return HeuristicTokens(text)
	}
	return countBounded(text, t.encodeLen)
}

func (t *bpeTokenizer) encodeLen(s string) int {
	if s == "" {
		return 0
	}
	return len(t.enc.EncodeOrdinary(s))
}

// runClass groups runes the way cl100k's pre-tokeniser groups them into
// pieces: letters, digits, whitespace and everything else.
func runClass(r rune) int {
	switch {
	case r < utf8.RuneSelf:
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
			return 0
		case r >= '0' && r <= '9':
			return 1
		case r == ' ', r == '\t', r == '\n', r == '\r', r == '\v', r == '\f':
			return 2
		}
		return 3
	case unicode.IsLetter(r):
		return 0
	case unicode.IsNumber(r):
		return 1
	case unicode.IsSpace(r):
		return 2
	}
	return 3
}

// countBounded counts s with enc, never giving enc a run of one character
// class longer than maxRun bytes. Runs of a single repeated rune are counted
// as whole chunks times the count of one chunk, plus the remainder.
func countBounded(s string, enc func(string) int) int {
	total := 0
	seg := 0      // start of the pending segment
	runStart := 0 // start of the current class run
	cls := -1
	var first rune
	same := true
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if c := runClass(r); c != cls {
			cls, runStart, first, same = c, i, r, true
		} else if r != first {
			same = false
		}
		if i+size-runStart <= maxRun {
			i += size
			continue
		}
		// The run just grew past maxRun bytes.
		if same {
			// One repeated rune: find its end and count it arithmetically.
			end := i
			for end < len(s) {
				r2, sz := utf8.DecodeRuneInString(s[end:])
				if r2 != first {
					break
				}
				end += sz
			}
			total += enc(s[seg:runStart])
			total += repeatedRuneTokens(first, (end-runStart)/size, size, enc)
			seg, i, cls = end, end, -1
			continue
		}
		// Mixed run (e.g. CJK without punctuation, random letters): cut here.
		total += enc(s[seg:i])
		seg, runStart = i, i
		i += size
	}
	return total + enc(s[seg:])
}

// repeatedRuneTokens counts n copies of r (each size bytes) as whole chunks
// of maxRun bytes plus a remainder.
func repeatedRuneTokens(r rune, n, size int, enc func(string) int) int {
	per := maxRun / size
	if per < 1 {
		per = 1
	}
	chunks, rest := n/per, n%per
	rs := string(r)
	total := 0
	if chunks > 0 {
		total += chunks * enc(strings.Repeat(rs, per))
	}
	if rest > 0 {
		total += enc(strings.Repeat(rs, rest))
	}
	return total
}

// HeuristicTokens is the conservative byte estimate used for text that is
// not tokenised. It counts ASCII letters / 4, digits / 3, punctuation / 2,
// whitespace / 4 and 1.1 per non-ASCII rune, plus one per letter/digit or
// lower/upper-case transition (random identifiers, hex and base64 split
// there), and adds a 25 % margin. Against cl100k it comes out at about 1.5x
// for English prose, 1.3x for Go code, 1.05x for dense JSON, 1.3x for CJK and
// 1.2x for random base64: never under on those kinds (tests pin this). Long
// runs of whitespace are overcounted most (32x), which only errs on the safe
// side. It runs at several hundred MB/s and does not allocate.
func HeuristicTokens(text string) int {
	var letters, digits, punct, space, other, trans int
	prev := 0
	for _, r := range text {
		c := 0
		switch {
		case r >= 'a' && r <= 'z':
			letters++
			c = 1
		case r >= 'A' && r <= 'Z':
			letters++
			c = 2
		case r >= '0' && r <= '9':
			digits++
			c = 3
		case r == ' ' || r == '\n' || r == '\t' || r == '\r':
			space++
			c = 4
		case r < utf8.RuneSelf:
			punct++
			c = 5
		default:
			other++
			c = 6
		}
		if c != prev && c <= 3 && prev != 0 && prev <= 3 && !(prev == 2 && c == 1) {
			trans++
		}
		prev = c
	}
	n := (letters+3)/4 + (digits+2)/3 + (punct+1)/2 + (space+3)/4 + (other*11+9)/10 + trans
	return (n*5 + 3) / 4
}
