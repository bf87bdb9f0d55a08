"""The two framings of the protocol: NDJSON (one JSON value per line) and LSP (Content-Length headers).

Frames are split from bytes with no line-length limit (asyncio's readline stops at 64 KiB), and NDJSON
splits on b"\\n" only: U+2028 and U+2029 inside strings are data.
"""
import json
from typing import Any, List, Literal

Framing = Literal["ndjson", "lsp"]
FRAMINGS = ("ndjson", "lsp")


def encode(message: Any, framing: Framing) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    if framing == "lsp":
        return b"Content-Length: %d\r\n\r\n" % len(body) + body
    return body + b"\n"


class FrameDecoder:
    """Bytes in, message texts out, for one framing. Text that is not a frame is kept in `malformed`."""

    def __init__(self, framing: Framing) -> None:
        if framing not in FRAMINGS:
            raise ValueError(f"framing must be one of {FRAMINGS}, not {framing!r}")
        self.framing = framing
        self.malformed: List[str] = []
        self._buffer = bytearray()
        self._scanned = 0  # NDJSON: bytes already known to hold no newline
        self._body_length = -1  # LSP: the length of the body being read, -1 while reading headers

    def feed(self, data: bytes) -> List[bytes]:
        self._buffer += data
        return self._ndjson() if self.framing == "ndjson" else self._lsp()

    def _ndjson(self) -> List[bytes]:
        frames = []
        start = 0
        while True:
            end = self._buffer.find(b"\n", max(start, self._scanned))
            if end < 0:
                break
            line = bytes(self._buffer[start:end]).rstrip(b"\r")
            if line.strip():
                frames.append(line)
            start = end + 1
        del self._buffer[:start]
        self._scanned = len(self._buffer)
        return frames

    def _lsp(self) -> List[bytes]:
        frames = []
        while True:
            if self._body_length < 0:
                end = self._buffer.find(b"\r\n\r\n")
                if end < 0:
                    return frames
                headers = bytes(self._buffer[:end]).decode("ascii", "replace")
                del self._buffer[: end + 4]
                length = None
                for header in headers.split("\r\n"):
                    name, _, value = header.partition(":")
                    if name.strip().lower() == "content-length" and value.strip().isdigit():
                        length = int(value.strip())
                if length is None:
                    self.malformed.append(f"an LSP header without Content-Length: {headers[:100]!r}")
                    continue
                self._body_length = length
            if len(self._buffer) < self._body_length:
                return frames
            frames.append(bytes(self._buffer[: self._body_length]))
            del self._buffer[: self._body_length]
            self._body_length = -1
