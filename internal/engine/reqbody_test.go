package engine

import (
	"bytes"
	"context"
	"io"
	"testing"

	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// The mechanism behind "use of closed network connection"
// (docs/bedrock.md#use-of-closed-network-connection): net/http's last read
// of a sent body is an io.Copy to io.Discard. On smithy-go's closed body it
// fails with io.EOF through WriteTo; through the shielded stream it finds
// the end. The shielded request keeps its length and stays seekable, so
// signing and retries are unchanged.
func TestShieldBody(t *testing.T) {
	payload := []byte(`{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`)
	req, err := smithyhttp.NewStackRequest().(*smithyhttp.Request).SetStream(bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(payload))
	lastRead := func(r *smithyhttp.Request) error {
		body := r.Build(context.Background()).Body
		got, err := io.ReadAll(io.LimitReader(body, int64(len(payload))))
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("read %q, %v", got, err)
		}
		body.Close() // what smithy-go does when Do returns
		_, err = io.Copy(io.Discard, body)
		return err
	}
	if err := lastRead(req); err != io.EOF {
		t.Fatalf("smithy-go's closed body: io.Copy = %v, want io.EOF (has smithy-go changed?)", err)
	}
	if err := req.RewindStream(); err != nil {
		t.Fatal(err)
	}
	shielded := shieldBody(req).(*smithyhttp.Request)
	if _, ok := shielded.GetStream().(io.WriterTo); ok || !shielded.IsStreamSeekable() {
		t.Fatal("shielded stream offers WriteTo or cannot seek")
	}
	if n, ok, err := shielded.StreamLength(); !ok || err != nil || n != int64(len(payload)) {
		t.Fatalf("length %d %v %v", n, ok, err)
	}
	if err := lastRead(shielded); err != nil {
		t.Fatalf("shielded closed body: io.Copy = %v, want nil", err)
	}
	if err := shielded.RewindStream(); err != nil {
		t.Fatal(err)
	}
	if again := shieldBody(shielded); again != any(shielded) {
		t.Fatal("a shielded request was wrapped again")
	}
	if shieldBody("not a request") != "not a request" {
		t.Fatal("a foreign request was changed")
	}
}
