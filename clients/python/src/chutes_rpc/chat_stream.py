"""chat.stream seen from a thread: iterate it for its deltas; `result` holds the ChatResult once it is exhausted."""
import queue
import threading
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, Optional

from .errors import RpcError

if TYPE_CHECKING:
    from .types import ChatDelta, ChatResult

_REPLY = object()


class ChatStream:
    """Deltas are queued from the moment the request is sent, so none is lost before iteration starts.

    Leaving early cancels the request upstream: `close()`, the end of a `with` block, or a `break` out of
    `for delta in stream` (the loop's iterator is finalized at once in CPython). The reply then is an
    RpcError with code -32800 whose data["partial"] holds what had arrived; `wait()` raises it.
    """

    def __init__(self, request_id: int, stream_id: str, cancel: Callable[[], None]) -> None:
        self.id = request_id
        self.stream_id = stream_id
        self.result: "Optional[ChatResult]" = None
        self.error: Optional[BaseException] = None
        self._cancel = cancel
        self._queue: "queue.Queue[Any]" = queue.Queue()
        self._done = threading.Event()

    # Called by the client's reader thread.
    def _push(self, delta: "ChatDelta") -> None:
        self._queue.put(delta)

    def _settle(self, reply: Dict[str, Any]) -> None:
        if "error" in reply:
            self.error = RpcError(reply["error"])
        else:
            self.result = reply.get("result")
        self._done.set()
        self._queue.put(_REPLY)

    def _fail(self, error: BaseException) -> None:
        self.error = error
        self._done.set()
        self._queue.put(_REPLY)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def __iter__(self) -> "Iterator[ChatDelta]":
        try:
            while True:
                item = self._queue.get()
                if item is _REPLY:
                    if self.error is not None:
                        raise self.error
                    return
                yield item
        finally:
            self.cancel()

    def cancel(self) -> None:
        """Asks the adapter to stop this stream (no-op once the reply is here); it still replies."""
        if not self._done.is_set():
            self._cancel()

    def wait(self, timeout: Optional[float] = None) -> "ChatResult":
        """Waits for the reply: the ChatResult, or the RpcError raised (code -32800 after a cancel)."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"no reply to chat.stream {self.id} within {timeout} s")
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result

    def close(self, timeout: float = 10) -> None:
        """Cancels the stream unless it has finished, and waits for its reply."""
        self.cancel()
        self._done.wait(timeout)

    def __enter__(self) -> "ChatStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
