package tokens

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
)

// TestImageSizeMatchesDecodeConfig: the header parsers read the dimensions
// image.DecodeConfig reads, for every format and some odd sizes, and give
// 0x0 for truncated or foreign headers.
func TestImageSizeMatchesDecodeConfig(t *testing.T) {
	for _, d := range [][2]int{{1, 1}, {3, 700}, {1568, 2}, {4000, 3}} {
		img := image.NewGray(image.Rect(0, 0, d[0], d[1]))
		encoders := map[string]func(*bytes.Buffer) error{
			"png":  func(b *bytes.Buffer) error { return png.Encode(b, img) },
			"gif":  func(b *bytes.Buffer) error { return gif.Encode(b, img, nil) },
			"jpeg": func(b *bytes.Buffer) error { return jpeg.Encode(b, img, nil) },
			"progressive-ish jpeg": func(b *bytes.Buffer) error {
				// An APP segment and fill bytes before the frame header.
				var j bytes.Buffer
				if err := jpeg.Encode(&j, img, nil); err != nil {
					return err
				}
				b.Write(j.Bytes()[:2])
				b.Write([]byte{0xff, 0xe1, 0x00, 0x06, 'E', 'x', 'i', 'f', 0xff, 0xff})
				b.Write(j.Bytes()[2:])
				return nil
			},
		}
		for name, enc := range encoders {
			var b bytes.Buffer
			if err := enc(&b); err != nil {
				t.Fatal(err)
			}
			w, h := imageSize(b.Bytes())
			if w != d[0] || h != d[1] {
				t.Errorf("%s %dx%d: read %dx%d", name, d[0], d[1], w, h)
			}
			for _, n := range []int{0, 1, 3, 9, 15, 23} {
				if n < b.Len() {
					if w, h := imageSize(b.Bytes()[:n]); w != 0 && (w != d[0] || h != d[1]) {
						t.Errorf("%s truncated to %d bytes: %dx%d", name, n, w, h)
					}
				}
			}
		}
	}
	for _, junk := range []string{"", "\xff\xd8", "\xff\xd8\xff\xe0\x00\x00", "\xff\xd8\xff\xe0\x00\x01\x00", "\xff\xd8\xff\xda", "GIF8", "\x89PNG\r\n\x1a\n", "hello"} {
		if w, h := imageSize([]byte(junk)); w != 0 || h != 0 {
			t.Errorf("%q: %dx%d", junk, w, h)
		}
	}
}

// TestManyTinyImagesStayLinear: a body of thousands of tiny images costs
// allocations linear in its size (image.DecodeConfig allocated a 4 KB
// reader per image: 150 MB for a 100 KB body).
func TestManyTinyImagesStayLinear(t *testing.T) {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	img := `"` + base64.StdEncoding.EncodeToString(b.Bytes()) + `",`
	body := []byte(`{"prompt":"a","images":[` + strings.Repeat(img, (1<<20)/len(img)) + `""]}`)
	e := newTest(t, Options{})
	in := &bedrockruntime.InvokeModelInput{ModelId: aws.String("meta.llama3-2-11b-instruct-v1:0"), Body: body}
	if n := allocatedBytes(func() { e.Estimate(in) }); n > 16*uint64(len(body)) {
		t.Errorf("%d bytes allocated for a %d-byte body", n, len(body))
	}
}
