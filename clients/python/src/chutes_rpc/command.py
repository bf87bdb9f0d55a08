"""How the adapter is found when the host does not say which command starts it."""
import os
import shutil
import sys
from typing import List, Optional, Sequence, Union

from .errors import AdapterNotFoundError

Command = Union[str, Sequence[str]]


def single_binary_path() -> str:
    """Where the single executable is looked for: <home>/bin/chutes-rpc, home being the adapter's state directory."""
    home = os.environ.get("CHUTES_RPC_HOME") or os.path.join(os.path.expanduser("~"), ".chutes-rpc")
    return os.path.join(home, "bin", "chutes-rpc" + (".exe" if sys.platform == "win32" else ""))


def adapter_command(command: Optional[Command] = None) -> List[str]:
    """The program and leading arguments that start chutes-rpc: `command` if given (a path or an argv list),
    else chutes-rpc on PATH, else the single binary, else npx."""
    if command is not None:
        return [command] if isinstance(command, str) else list(command)
    on_path = shutil.which("chutes-rpc")
    if on_path:
        return [on_path]
    binary = single_binary_path()
    if os.path.isfile(binary) and os.access(binary, os.X_OK):
        return [binary]
    npx = shutil.which("npx")
    if npx:
        return [npx, "--yes", "chutes-rpc"]
    raise AdapterNotFoundError(
        "chutes-rpc not found: install it (npm install -g chutes-rpc), put the single binary at "
        f"{binary}, or pass command=[...]"
    )


def adapter_argv(command: Optional[Command], framing: str, args: Sequence[str]) -> List[str]:
    """The whole argv: the command, `serve`, the framing unless args name one, then args."""
    argv = adapter_command(command) + ["serve"]
    if not any(a == "--framing" or a.startswith("--framing=") for a in args):
        argv += ["--framing", framing]
    return argv + list(args)
