package chutesrpc

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Framing is how messages are delimited on the adapter's stdin and stdout.
type Framing string

const (
	// NDJSON is one JSON value per line (the default).
	NDJSON Framing = "ndjson"
	// LSP is Content-Length headers, as in the Language Server Protocol.
	LSP Framing = "lsp"
)

func encodeFrame(body []byte, framing Framing) []byte {
	if framing == LSP {
		return append([]byte(fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body))), body...)
	}
	return append(body, '\n')
}

// frameReader splits the adapter's output into message bodies, with no size limit. NDJSON splits
// on '\n' only: U+2028 and U+2029 inside strings are data.
type frameReader struct {
	in      *bufio.Reader
	framing Framing
}

func newFrameReader(r io.Reader, framing Framing) *frameReader {
	return &frameReader{in: bufio.NewReaderSize(r, 64*1024), framing: framing}
}

func (f *frameReader) next() ([]byte, error) {
	if f.framing == LSP {
		return f.nextLSP()
	}
	for {
		line, err := f.in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 && (err == nil || err == io.EOF) {
			return bytes.TrimRight(line, "\r\n"), nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (f *frameReader) nextLSP() ([]byte, error) {
	length := -1
	for {
		line, err := f.in.ReadString('\n')
		if err != nil {
			return nil, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if length < 0 {
				continue // a stray blank line before the headers
			}
			break
		}
		name, value, found := strings.Cut(line, ":")
		if found && strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			n, err := strconv.Atoi(strings.TrimSpace(value))
			if err != nil || n < 0 {
				return nil, fmt.Errorf("chutes-rpc: bad Content-Length header %q", line)
			}
			length = n
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(f.in, body); err != nil {
		return nil, err
	}
	return body, nil
}
