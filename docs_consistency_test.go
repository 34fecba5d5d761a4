package bedrockguard

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/bedrockguard/bedrockguard/internal/limiter"
)

// The runbooks state the multiplicative decrease a throttle applies: it must
// be the limiter's default Beta (they once said 0.7x while it was 0.6).
func TestDeployREADMEStatesDefaultBeta(t *testing.T) {
	l, err := limiter.NewLimiter(limiter.Config{})
	if err != nil {
		t.Fatal(err)
	}
	beta := l.KeyConfig(limiter.Limits{TokensPerWindow: 1000}).Tokens.Beta
	if beta == 0 {
		t.Fatal("no default Beta")
	}
	b, err := os.ReadFile("deploy/README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	want := "lowers the adaptive rate to " + strconv.FormatFloat(beta, 'f', -1, 64) + "×"
	if !strings.Contains(readme, want) {
		t.Errorf("deploy/README.md does not say %q (the default Beta)", want)
	}
}
