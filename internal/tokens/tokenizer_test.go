package tokens

import (
	"strings"
	"testing"
)

func TestDefaultCountsCl100k(t *testing.T) {
	// Reference counts from OpenAI's tiktoken, cl100k_base
	// (docs/bedrock.md#counting-input-tokens).
	tests := []struct {
		name string
		text string
		want int
	}{
		{"empty", "", 0},
		{"hello", "hello world", 2},
		{"special token as text", "<|endoftext|>", 7},
		{"1 MB spaces", strings.Repeat(" ", 1<<20), 8192},
		{"1 MB of a", strings.Repeat("a", 1<<20), 131072},
		{"CJK run", strings.Repeat("的", 1<<18), 1 << 18},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Default().CountTokens(tt.text); got != tt.want {
				t.Errorf("CountTokens = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestCountBoundedMatchesUnboundedOnOrdinaryText(t *testing.T) {
	d := Default().(*bpeTokenizer)
	for _, s := range []string{corpus("prose", 8<<10), corpus("code", 8<<10), corpus("json", 8<<10), corpus("cjk", 4<<10)} {
		if got, want := d.CountTokens(s), d.encodeLen(s); got != want {
			t.Errorf("bounded %d != unbounded %d for %.20q", got, want, s)
		}
	}
}

func TestCountBoundedCutsMixedRuns(t *testing.T) {
	// A long run of varied letters is cut into pieces of at most maxRun bytes.
	var longest int
	enc := func(s string) int { longest = max(longest, len(s)); return len(s) }
	s := strings.Repeat("abcdefghij", 10000)
	if got := countBounded(s, enc); got != len(s) {
		t.Fatalf("pieces cover %d bytes, want %d", got, len(s))
	}
	if longest > maxRun+4 {
		t.Errorf("longest piece %d bytes, want <= %d", longest, maxRun+4)
	}
}

func TestHeuristicTokens(t *testing.T) {
	tests := []struct {
		text string
		want int
	}{
		{"", 0},
		{"abcd", 2},        // 1 x 1.25, rounded up
		{"的的", 4},          // 2 runes x 1.1 = 3, x 1.25
		{"a1b2", 7},        // 1 letter-group + 1 digit-group + 3 transitions = 5... x 1.25
		{"Hello World", 5}, // letters 10/4 -> 3, space 1 -> 1; x 1.25
	}
	for _, tt := range tests {
		if got := HeuristicTokens(tt.text); got != tt.want {
			t.Errorf("HeuristicTokens(%q) = %d, want %d", tt.text, got, tt.want)
		}
	}
	// Conservative against cl100k for every corpus kind.
	for _, kind := range []string{"prose", "code", "json", "cjk", "base64"} {
		s := corpus(kind, 16<<10)
		if h, c := HeuristicTokens(s), Default().CountTokens(s); h < c {
			t.Errorf("%s: heuristic %d < cl100k %d", kind, h, c)
		}
	}
}
