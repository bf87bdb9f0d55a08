package chutesrpc

import (
	"bytes"
	"strings"
	"testing"
)

func TestFrameReaderHasNoSizeLimitAndSplitsOnNewlineOnly(t *testing.T) {
	big := `{"s":"` + strings.Repeat("x", 1<<20) + "\u2028" + `"}`
	for _, framing := range framings {
		var wire bytes.Buffer
		wire.Write(encodeFrame([]byte(big), framing))
		wire.Write(encodeFrame([]byte(`{"n":2}`), framing))
		frames := newFrameReader(&wire, framing)
		first, err := frames.next()
		if err != nil || string(first) != big {
			t.Fatalf("%s: first frame %d bytes, %v", framing, len(first), err)
		}
		second, err := frames.next()
		if err != nil || string(second) != `{"n":2}` {
			t.Fatalf("%s: second frame %q, %v", framing, second, err)
		}
		if _, err := frames.next(); err == nil {
			t.Fatalf("%s: a frame after the end", framing)
		}
	}
}
