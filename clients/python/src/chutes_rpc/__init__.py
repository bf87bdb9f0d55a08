"""chutes-rpc for Python hosts: the Chutes AI inference service through the chutes-rpc adapter.

    from chutes_rpc import Client
    with Client(args=["--replay", "fixtures/cassettes/demo.json"]) as client:
        for delta in client.chat_stream(messages=[{"role": "user", "content": "Write a haiku"}]):
            print(delta.get("content", ""), end="", flush=True)
"""
from .async_chat_stream import AsyncChatStream
from .async_client import AsyncClient
from .chat_stream import ChatStream
from .client import Client
from .command import adapter_command, single_binary_path
from .errors import REQUEST_CANCELLED, AdapterNotFoundError, ConnectionClosedError, RpcError
from .framing import Framing

__version__ = "0.1.0"

__all__ = [
    "AdapterNotFoundError",
    "AsyncChatStream",
    "AsyncClient",
    "ChatStream",
    "Client",
    "ConnectionClosedError",
    "Framing",
    "REQUEST_CANCELLED",
    "RpcError",
    "adapter_command",
    "single_binary_path",
]
