package midstream_test

import (
	"errors"
	"testing"

	"github.com/bedrockguard/bedrockguard/internal/midstream"
)

func TestMark(t *testing.T) {
	t.Parallel()
	if midstream.Mark(nil) != nil {
		t.Fatal("Mark(nil) != nil")
	}
	inner := errors.New("throttled")
	err := midstream.Mark(inner)
	if !errors.Is(err, inner) {
		t.Fatal("the marker hides the wrapped error")
	}
	var m *midstream.Error
	if !errors.As(err, &m) || m.Err != inner {
		t.Fatalf("errors.As(*midstream.Error) failed: %v", err)
	}
	if got := err.Error(); got != "mid-stream: throttled" {
		t.Errorf("Error() = %q", got)
	}
	if got := (&midstream.Error{}).Error(); got != "mid-stream error" {
		t.Errorf("empty Error() = %q", got)
	}
}
