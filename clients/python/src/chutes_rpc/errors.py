"""The errors a host sees: error replies from the adapter, and the adapter going away."""
from typing import Any, Mapping, Optional

REQUEST_CANCELLED = -32800


class RpcError(Exception):
    """An error reply. Provider errors carry type, resolution and retryable in data; they are lifted out here."""

    def __init__(self, error: Mapping[str, Any]) -> None:
        self.code: int = error.get("code", 0)
        self.message: str = error.get("message", "")
        self.data: Any = error.get("data")
        data = self.data if isinstance(self.data, dict) else {}
        self.type: Optional[str] = data.get("type") if isinstance(data.get("type"), str) else None
        self.resolution: Optional[str] = data.get("resolution") if isinstance(data.get("resolution"), str) else None
        self.retryable: Optional[bool] = data.get("retryable") if isinstance(data.get("retryable"), bool) else None
        super().__init__(f"{self.code} {self.message}" + (f" ({self.resolution})" if self.resolution else ""))

    @property
    def cancelled(self) -> bool:
        return self.code == REQUEST_CANCELLED


class ConnectionClosedError(Exception):
    """The adapter's output ended (it exited or was killed) while something still waited for it."""


class AdapterNotFoundError(FileNotFoundError):
    """No chutes-rpc to start: not on PATH, no single binary, no npx."""
