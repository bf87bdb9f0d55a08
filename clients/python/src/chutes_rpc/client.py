"""Client: chutes-rpc in a child process, for threaded hosts."""
import collections
import itertools
import json
import logging
import subprocess
import threading
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Sequence, Tuple

from .chat_stream import ChatStream
from .command import Command, adapter_argv
from .errors import ConnectionClosedError, RpcError
from .framing import Framing, FrameDecoder, encode
from .methods import SyncMethods

log = logging.getLogger("chutes_rpc")

NotificationListener = Callable[[str, Any], None]
STDERR_TAIL_LINES = 200


class _Pending:
    """A request waiting in call(): its reply, or why none will come."""

    __slots__ = ("event", "reply", "failure")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reply: Dict[str, Any] = {}
        self.failure: Optional[BaseException] = None

    def settle(self, reply: Dict[str, Any]) -> None:
        self.reply = reply
        self.event.set()

    def fail(self, failure: BaseException) -> None:
        self.failure = failure
        self.event.set()


class Client(SyncMethods):
    """Starts the adapter and talks JSON-RPC to it. Thread-safe: calls and streams from several threads share it.

    `command` is the program (and leading arguments) that starts chutes-rpc, by default chutes-rpc on PATH,
    else the single binary, else npx; `args` follow `serve`, e.g. ["--replay", FILE]. Use it as a context
    manager, or call close(): either way the adapter is shut down and never left running.
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
        self._process = subprocess.Popen(
            self._argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=None if env is None else dict(env),
            cwd=cwd,
            bufsize=0,
        )
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        # Per request id: what to do with its reply, and what to do if the adapter goes away first.
        self._pending: Dict[Any, Tuple[Callable[[Dict[str, Any]], None], Callable[[BaseException], None]]] = {}
        self._streams: Dict[str, ChatStream] = {}
        self._listeners: List[Any] = []
        self._closed: Optional[str] = None
        self._stderr: Deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._reader = threading.Thread(target=self._read, name="chutes-rpc-reader", daemon=True)
        self._stderr_reader = threading.Thread(target=self._drain_stderr, name="chutes-rpc-stderr", daemon=True)
        self._reader.start()
        self._stderr_reader.start()

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def returncode(self) -> Optional[int]:
        return self._process.poll()

    @property
    def stderr(self) -> str:
        """The last lines the adapter wrote to stderr (it is drained all the time, so it never blocks)."""
        return "".join(self._stderr)

    # ---- requests ----

    def call(self, method: str, params: Optional[Mapping[str, Any]] = None, timeout: Optional[float] = None) -> Any:
        """Sends a request and returns its result; an error reply raises RpcError. After `timeout`
        seconds (or an exception such as KeyboardInterrupt while waiting) the request is cancelled."""
        pending = _Pending()
        request_id = self._request(method, params, pending.settle, pending.fail)
        try:
            if not pending.event.wait(timeout):
                self.cancel(request_id)
                raise TimeoutError(f"no reply to {method} within {timeout} s (cancelled)")
        except BaseException:
            if not pending.event.is_set():
                self.cancel(request_id)
            raise
        if pending.failure is not None:
            raise pending.failure
        reply = pending.reply
        if "error" in reply:
            raise RpcError(reply["error"])
        return reply.get("result")

    def stream(self, method: str, params: Mapping[str, Any]) -> ChatStream:
        with self._lock:
            request_id = next(self._ids)
        stream_id = str(params.get("streamId", request_id))
        stream = ChatStream(request_id, stream_id, lambda: self.cancel(request_id))
        with self._lock:
            self._streams[stream_id] = stream

        def settle(reply: Dict[str, Any]) -> None:
            with self._lock:
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
        """Calls listener(method, params) on the reader thread for each notification (of `method` if given).
        Returns a function that removes it."""
        entry = (method, listener)
        with self._lock:
            self._listeners.append(entry)

        def remove() -> None:
            with self._lock:
                if entry in self._listeners:
                    self._listeners.remove(entry)

        return remove

    def _request(
        self,
        method: str,
        params: Optional[Mapping[str, Any]],
        settle: Callable[[Dict[str, Any]], None],
        fail: Callable[[BaseException], None],
        request_id: Optional[int] = None,
    ) -> int:
        with self._lock:
            if request_id is None:
                request_id = next(self._ids)
            if self._closed is not None:
                raise ConnectionClosedError(self._closed)
            self._pending[request_id] = (settle, fail)
        message: Dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = dict(params)
        self._write(message)
        return request_id

    def _write(self, message: Dict[str, Any]) -> None:
        data = encode(message, self.framing)
        with self._write_lock:
            if self._closed is not None:
                raise ConnectionClosedError(self._closed)
            try:
                assert self._process.stdin is not None
                self._process.stdin.write(data)
            except (BrokenPipeError, ValueError, OSError) as err:
                raise ConnectionClosedError(f"the adapter's input is closed ({err}); stderr: {self.stderr[-2000:]}") from err

    # ---- the reader threads ----

    def _read(self) -> None:
        stdout = self._process.stdout
        assert stdout is not None
        try:
            while True:
                data = stdout.read(65536)
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
            self._connection_lost()

    def _dispatch(self, message: Dict[str, Any]) -> None:
        method = message.get("method")
        if method is not None and "id" not in message:
            params = message.get("params")
            if method == "chat.delta" and isinstance(params, dict):
                with self._lock:
                    stream = self._streams.get(params.get("streamId"))
                if stream is not None:
                    stream._push(params)  # type: ignore[arg-type]
            with self._lock:
                listeners = [l for m, l in self._listeners if m is None or m == method]
            for listener in listeners:
                try:
                    listener(method, params)
                except Exception:
                    log.exception("chutes-rpc: a notification listener failed")
        elif method is None and "id" in message:
            with self._lock:
                handlers = self._pending.pop(message["id"], None)
            if handlers is not None:
                handlers[0](message)

    def _connection_lost(self) -> None:
        code = self._process.wait()
        self._stderr_reader.join(timeout=2)
        for pipe in (self._process.stdout, self._process.stderr):
            if pipe is not None:
                pipe.close()
        with self._lock:
            self._closed = f"the adapter exited (code {code}); stderr: {self.stderr[-2000:]}"
            pending = list(self._pending.values())
            self._pending.clear()
        for _, fail in pending:
            fail(ConnectionClosedError(self._closed))

    def _drain_stderr(self) -> None:
        stderr = self._process.stderr
        assert stderr is not None
        for line in iter(stderr.readline, b""):
            self._stderr.append(line.decode("utf-8", "replace"))

    # ---- shutdown ----

    def close(self, timeout: float = 5) -> Optional[int]:
        """shutdown, exit, end of input; the adapter is killed if it has not exited after `timeout` seconds.
        Returns its exit code."""
        if self._process.poll() is None and self._closed is None:
            try:
                self.call("shutdown", timeout=timeout)
                self.notify("exit")
            except (RpcError, ConnectionClosedError, TimeoutError):
                pass
        try:
            assert self._process.stdin is not None
            with self._write_lock:
                self._process.stdin.close()
        except OSError:
            pass
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join(timeout)
        return self._process.returncode

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        process = getattr(self, "_process", None)
        if process is not None and process.poll() is None:
            process.kill()
