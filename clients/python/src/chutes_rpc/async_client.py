"""AsyncClient: chutes-rpc in a child process, for asyncio hosts."""
import asyncio
import codecs
import collections
import itertools
import json
import logging
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Sequence, Tuple

from .async_chat_stream import AsyncChatStream
from .command import Command, adapter_argv
from .errors import ConnectionClosedError, RpcError
from .framing import Framing, FrameDecoder, encode
from .methods import AsyncMethods

log = logging.getLogger("chutes_rpc")

NotificationListener = Callable[[str, Any], None]
STDERR_TAIL_LINES = 200
READ_CHUNK = 65536


class AsyncClient(AsyncMethods):
    """Starts the adapter and talks JSON-RPC to it from one event loop; tasks may share it.

    The adapter's output is read in chunks and split here, so no message size meets asyncio's 64 KiB
    line limit. `async with AsyncClient(...) as client:` starts it and always shuts it down (or
    `client = await AsyncClient(...).start()` ... `await client.aclose()`). Cancelling a task that
    awaits a call sends $/cancelRequest for it.
    """

    def __init__(
        self,
        command: Optional[Command] = None,
        args: Sequence[str] = (),
        *,
        framing: Framing = "ndjson",
        env: Optional[Mapping[str, str]] = None,
        cwd: Optional[str] = None,
    ) -> None:
        self.framing = framing
        self._decoder = FrameDecoder(framing)
        self._argv = adapter_argv(command, framing, args)
        self._env = None if env is None else dict(env)
        self._cwd = cwd
        self._process: Optional[asyncio.subprocess.Process] = None
        self._ids = itertools.count(1)
        self._pending: Dict[Any, Tuple[Callable[[Dict[str, Any]], None], Callable[[BaseException], None]]] = {}
        self._streams: Dict[str, AsyncChatStream] = {}
        self._listeners: List[Tuple[Optional[str], NotificationListener]] = []
        self._closed: Optional[str] = None
        self._stderr: Deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._tasks: List["asyncio.Task[None]"] = []

    async def start(self) -> "AsyncClient":
        self._process = await asyncio.create_subprocess_exec(
            *self._argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._env,
            cwd=self._cwd,
        )
        self._tasks = [asyncio.ensure_future(self._read()), asyncio.ensure_future(self._drain_stderr())]
        return self

    @property
    def pid(self) -> int:
        return self._started().pid

    @property
    def returncode(self) -> Optional[int]:
        return self._started().returncode

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    def _started(self) -> asyncio.subprocess.Process:
        if self._process is None:
            raise RuntimeError("AsyncClient not started: use `async with AsyncClient(...)` or `await client.start()`")
        return self._process

    # ---- requests ----

    async def call(self, method: str, params: Optional[Mapping[str, Any]] = None) -> Any:
        """Sends a request and returns its result; an error reply raises RpcError."""
        future: "asyncio.Future[Dict[str, Any]]" = asyncio.get_running_loop().create_future()

        def settle(reply: Dict[str, Any]) -> None:
            if not future.done():
                future.set_result(reply)

        def fail(error: BaseException) -> None:
            if not future.done():
                future.set_exception(error)

        request_id = self._request(method, params, settle, fail)
        try:
            reply = await asyncio.shield(future)
        except asyncio.CancelledError:
            self.cancel(request_id)
            raise
        if "error" in reply:
            raise RpcError(reply["error"])
        return reply.get("result")

    def stream(self, method: str, params: Mapping[str, Any]) -> AsyncChatStream:
        request_id = next(self._ids)
        stream_id = str(params.get("streamId", request_id))
        stream = AsyncChatStream(request_id, stream_id, lambda: self.cancel(request_id))
        self._streams[stream_id] = stream

        def settle(reply: Dict[str, Any]) -> None:
            if self._streams.get(stream_id) is stream:
                del self._streams[stream_id]
            stream._settle(reply)

        self._request(method, params, settle, stream._fail, request_id)
        return stream

    def notify(self, method: str, params: Optional[Mapping[str, Any]] = None) -> None:
        message: Dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = dict(params)
        self._write(message)

    def cancel(self, request_id: Any) -> None:
        """Asks the adapter to cancel a request; it still replies to it (code -32800)."""
        try:
            self.notify("$/cancelRequest", {"id": request_id})
        except ConnectionClosedError:
            pass

    def on_notification(self, listener: NotificationListener, method: Optional[str] = None) -> Callable[[], None]:
        """Calls listener(method, params) for each notification (of `method` if given). Returns a remover."""
        entry = (method, listener)
        self._listeners.append(entry)
        return lambda: self._listeners.remove(entry) if entry in self._listeners else None

    def _request(
        self,
        method: str,
        params: Optional[Mapping[str, Any]],
        settle: Callable[[Dict[str, Any]], None],
        fail: Callable[[BaseException], None],
        request_id: Optional[int] = None,
    ) -> int:
        if request_id is None:
            request_id = next(self._ids)
        message: Dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = dict(params)
        self._write(message)
        self._pending[request_id] = (settle, fail)
        return request_id

    def _write(self, message: Dict[str, Any]) -> None:
        process = self._started()
        if self._closed is not None:
            raise ConnectionClosedError(self._closed)
        assert process.stdin is not None
        if process.stdin.is_closing():
            raise ConnectionClosedError(f"the adapter's input is closed; stderr: {self.stderr[-2000:]}")
        # The transport buffers what the pipe cannot take yet; requests are small.
        process.stdin.write(encode(message, self.framing))

    # ---- the reader tasks ----

    async def _read(self) -> None:
        process = self._started()
        assert process.stdout is not None
        try:
            while True:
                data = await process.stdout.read(READ_CHUNK)
                if not data:
                    break
                for frame in self._decoder.feed(data):
                    try:
                        self._dispatch(json.loads(frame))
                    except Exception:  # a bad message or a listener's bug must not stop the reader
                        log.exception("chutes-rpc: could not handle a message from the adapter")
        except Exception:
            log.exception("chutes-rpc: reading the adapter's output failed")
        finally:
            code = await process.wait()
            self._closed = f"the adapter exited (code {code}); stderr: {self.stderr[-2000:]}"
            pending = list(self._pending.values())
            self._pending.clear()
            for _, fail in pending:
                fail(ConnectionClosedError(self._closed))

    def _dispatch(self, message: Dict[str, Any]) -> None:
        method = message.get("method")
        if method is not None and "id" not in message:
            params = message.get("params")
            if method == "chat.delta" and isinstance(params, dict):
                stream = self._streams.get(params.get("streamId"))  # type: ignore[arg-type]
                if stream is not None:
                    stream._push(params)  # type: ignore[arg-type]
            for m, listener in list(self._listeners):
                if m is None or m == method:
                    try:
                        listener(method, params)
                    except Exception:
                        log.exception("chutes-rpc: a notification listener failed")
        elif method is None and "id" in message:
            handlers = self._pending.pop(message["id"], None)
            if handlers is not None:
                handlers[0](message)

    async def _drain_stderr(self) -> None:
        process = self._started()
        assert process.stderr is not None
        text = codecs.getincrementaldecoder("utf-8")("replace")
        while True:
            data = await process.stderr.read(READ_CHUNK)
            self._stderr.append(text.decode(data, final=not data))
            if not data:
                return

    # ---- shutdown ----

    async def aclose(self, timeout: float = 5) -> Optional[int]:
        """shutdown, exit, end of input; the adapter is killed if it has not exited after `timeout` seconds.
        Returns its exit code."""
        process = self._process
        if process is None:
            return None
        if process.returncode is None and self._closed is None:
            try:
                await asyncio.wait_for(self.call("shutdown"), timeout)
                self.notify("exit")
            except (RpcError, ConnectionClosedError, asyncio.TimeoutError):
                pass
        if process.stdin is not None and not process.stdin.is_closing():
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        return process.returncode

    async def __aenter__(self) -> "AsyncClient":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
