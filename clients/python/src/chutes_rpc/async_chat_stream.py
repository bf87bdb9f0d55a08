"""chat.stream seen from asyncio: `async for` its deltas; `result` holds the ChatResult once it is exhausted."""
import asyncio
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Dict, Optional

from .errors import RpcError

if TYPE_CHECKING:
    from .types import ChatDelta, ChatResult

_REPLY = object()


class AsyncChatStream:
    """Deltas are queued from the moment the request is sent, so none is lost before iteration starts.

    Leaving early cancels the request upstream: `await aclose()`, the end of an `async with` block, a
    `break` out of `async for` (asyncio finalizes the loop's iterator), or cancelling the task that
    iterates. The reply then is an RpcError with code -32800 whose data["partial"] holds what had
    arrived; `await wait()` raises it.
    """

    def __init__(self, request_id: int, stream_id: str, cancel: Callable[[], None]) -> None:
        self.id = request_id
        self.stream_id = stream_id
        self.result: "Optional[ChatResult]" = None
        self.error: Optional[BaseException] = None
        self._cancel = cancel
        self._queue: "asyncio.Queue[Any]" = asyncio.Queue()
        self._done = asyncio.Event()

    def _push(self, delta: "ChatDelta") -> None:
        self._queue.put_nowait(delta)

    def _settle(self, reply: Dict[str, Any]) -> None:
        if "error" in reply:
            self.error = RpcError(reply["error"])
        else:
            self.result = reply.get("result")
        self._done.set()
        self._queue.put_nowait(_REPLY)

    def _fail(self, error: BaseException) -> None:
        self.error = error
        self._done.set()
        self._queue.put_nowait(_REPLY)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    async def _deltas(self) -> "AsyncIterator[ChatDelta]":
        try:
            while True:
                item = await self._queue.get()
                if item is _REPLY:
                    if self.error is not None:
                        raise self.error
                    return
                yield item
        finally:
            self.cancel()

    def __aiter__(self) -> "AsyncIterator[ChatDelta]":
        return self._deltas()

    def cancel(self) -> None:
        """Asks the adapter to stop this stream (no-op once the reply is here); it still replies."""
        if not self._done.is_set():
            self._cancel()

    async def wait(self) -> "ChatResult":
        """Waits for the reply: the ChatResult, or the RpcError raised (code -32800 after a cancel)."""
        await self._done.wait()
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result

    async def aclose(self, timeout: float = 10) -> None:
        """Cancels the stream unless it has finished, and waits for its reply."""
        self.cancel()
        try:
            await asyncio.wait_for(self._done.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    async def __aenter__(self) -> "AsyncChatStream":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
