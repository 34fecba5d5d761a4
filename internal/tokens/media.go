package tokens

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"math"
)

// Image and document rules. Dimensions are read from the image header only
// (a header parser per format: PNG, GIF, JPEG, WebP); the
// pixels are never decoded.
const (
	// Anthropic: "tokens = (width px * height px)/750"; images whose long
	// edge exceeds 1568 px, or that exceed ~1,600 tokens, are first scaled
	// down preserving aspect ratio.
	// https://docs.anthropic.com/en/docs/build-with-claude/vision ("Calculate image costs")
	claudePixelsPerToken = 750
	claudeMaxEdge        = 1568
	claudeMaxImageTokens = 1600
	// Amazon Nova rescales images itself; its user guide ("Image
	// understanding", https://docs.aws.amazon.com/nova/latest/userguide/modalities-image.html)
	// lists ~800 tokens for 900x450, ~1,300 for 900x900, ~1,800 for 1400x900,
	// ~2,400 for 1800x900 and ~2,600 for 1300x1300. pixels/500 capped at 2,600
	// is at or above every row.
	novaPixelsPerToken = 500
	novaMaxImageTokens = 2600
	// A video: Nova samples frames (1 fps up to a frame cap) at a fixed
	// resolution; without decoding the container we reserve a fixed,
	// conservative amount. Audio likewise.
	videoTokens = 10000
	audioTokens = 2000
	// PDF: Anthropic's PDF support page says each page "typically uses
	// 1,500-3,000 tokens" (https://docs.anthropic.com/en/docs/build-with-claude/pdf-support);
	// text-only extraction (Converse without citations) is cheaper, so the
	// low end is used.
	pdfPageTokens = 1500
	// A PDF whose page objects are compressed (no "/Type /Page" in clear)
	// is assumed to hold one page per 30 KB, at least one.
	pdfBytesPerPage = 30 << 10
	// Office formats (doc, docx, xls, xlsx) are compressed XML; their text
	// is about as large as the file, so bytes/4 is used.
	officeBytesPerToken = 4
)

// imageTokens returns the tokens of an image with the given dimensions
// (0, 0 when unknown) for a family.
func imageTokens(fam Family, w, h int) int {
	if fam == Nova {
		if w <= 0 || h <= 0 {
			return novaMaxImageTokens
		}
		return min(ceilDiv(w*h, novaPixelsPerToken), novaMaxImageTokens)
	}
	// Anthropic's rule; also used for the other vision models (Llama 3.2,
	// Pixtral), which publish no rule of their own.
	if w <= 0 || h <= 0 {
		return claudeMaxImageTokens
	}
	fw, fh := float64(w), float64(h)
	if long := math.Max(fw, fh); long > claudeMaxEdge {
		fw, fh = fw*claudeMaxEdge/long, fh*claudeMaxEdge/long
	}
	return min(int(math.Ceil(fw*fh/claudePixelsPerToken)), claudeMaxImageTokens)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// imageSize reads an image's dimensions from its header (PNG, GIF, JPEG
// and WebP), with no allocation: a body of thousands of tiny images costs
// time linear in its size.
func imageSize(b []byte) (int, int) {
	if w, h, ok := webpSize(b); ok {
		return w, h
	}
	switch {
	case len(b) >= 24 && string(b[:8]) == "\x89PNG\r\n\x1a\n" && string(b[12:16]) == "IHDR":
		return int(binary.BigEndian.Uint32(b[16:20])), int(binary.BigEndian.Uint32(b[20:24]))
	case len(b) >= 10 && (string(b[:6]) == "GIF87a" || string(b[:6]) == "GIF89a"):
		return int(binary.LittleEndian.Uint16(b[6:8])), int(binary.LittleEndian.Uint16(b[8:10]))
	case len(b) >= 4 && b[0] == 0xff && b[1] == 0xd8:
		return jpegSize(b)
	}
	return 0, 0
}

// jpegSize walks a JPEG's marker segments to its first start-of-frame.
func jpegSize(b []byte) (int, int) {
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xff {
			return 0, 0
		}
		m := b[i+1]
		switch {
		case m == 0xff: // fill byte
			i++
			continue
		case m == 0x01 || 0xd0 <= m && m <= 0xd7: // markers without a length
			i += 2
			continue
		case 0xc0 <= m && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc:
			if i+9 > len(b) {
				return 0, 0
			}
			h := int(binary.BigEndian.Uint16(b[i+5 : i+7]))
			w := int(binary.BigEndian.Uint16(b[i+7 : i+9]))
			return w, h
		case m == 0xd9 || m == 0xda: // end of image, start of scan: no frame header
			return 0, 0
		}
		n := int(binary.BigEndian.Uint16(b[i+2 : i+4]))
		if n < 2 {
			return 0, 0
		}
		i += 2 + n
	}
	return 0, 0
}

// webpSize parses the VP8, VP8L and VP8X headers of a WebP file.
func webpSize(b []byte) (int, int, bool) {
	if len(b) < 30 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return 0, 0, false
	}
	switch string(b[12:16]) {
	case "VP8X":
		w := int(b[24]) | int(b[25])<<8 | int(b[26])<<16
		h := int(b[27]) | int(b[28])<<8 | int(b[29])<<16
		return w + 1, h + 1, true
	case "VP8L":
		v := binary.LittleEndian.Uint32(b[21:25])
		return int(v&0x3fff) + 1, int(v>>14&0x3fff) + 1, true
	case "VP8 ":
		return int(binary.LittleEndian.Uint16(b[26:28]) & 0x3fff), int(binary.LittleEndian.Uint16(b[28:30]) & 0x3fff), true
	}
	return 0, 0, false
}

// maxImageHeaderB64 bounds how much of a base64 image is decoded to find
// its dimensions (JPEG headers can follow a large EXIF block).
const maxImageHeaderB64 = 256 << 10

// imageSizeB64 reads the dimensions of a base64-encoded image, decoding at
// most its first 192 KB.
func imageSizeB64(s string) (int, int) {
	n := min(len(s), maxImageHeaderB64) &^ 3
	buf, err := base64.StdEncoding.DecodeString(s[:n])
	if err != nil {
		return 0, 0
	}
	return imageSize(buf)
}

// pdfTokens estimates a PDF from its page count.
func pdfTokens(b []byte) int {
	pages := bytes.Count(b, []byte("/Type /Page")) - bytes.Count(b, []byte("/Type /Pages"))
	pages += bytes.Count(b, []byte("/Type/Page")) - bytes.Count(b, []byte("/Type/Pages"))
	if pages <= 0 {
		pages = max(1, len(b)/pdfBytesPerPage)
	}
	return pages * pdfPageTokens
}

// document counts a binary document by format: text formats as text,
// PDFs by page, office formats by bytes.
func (w *walk) document(format string, b []byte) {
	w.bytesFP(b)
	switch format {
	case "txt", "md", "csv", "html", "text/plain", "text/markdown", "text/csv", "text/html":
		w.text(string(b))
	case "pdf", "application/pdf":
		w.tokens += pdfTokens(b)
	default:
		w.tokens += ceilDiv(len(b), officeBytesPerToken)
	}
}
