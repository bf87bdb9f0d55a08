"""How the adapter is found, and the framings' decoder (no size limit, split on b"\\n" only)."""
import json
import os
import tempfile
import unittest
from unittest import mock

from chutes_rpc import AdapterNotFoundError, adapter_command
from chutes_rpc.framing import FrameDecoder, encode


def executable(folder, name):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(path, 0o755)
    return path


class AdapterCommand(unittest.TestCase):
    def test_given_then_path_then_single_binary_then_npx(self):
        with tempfile.TemporaryDirectory() as bin_dir, tempfile.TemporaryDirectory() as home:
            with mock.patch.dict(os.environ, {"PATH": bin_dir, "CHUTES_RPC_HOME": home}):
                self.assertEqual(adapter_command(["node", "bin/chutes-rpc"]), ["node", "bin/chutes-rpc"])
                self.assertEqual(adapter_command("/opt/chutes-rpc"), ["/opt/chutes-rpc"])
                with self.assertRaises(AdapterNotFoundError):
                    adapter_command()
                npx = executable(bin_dir, "npx")
                self.assertEqual(adapter_command(), [npx, "--yes", "chutes-rpc"])
                single = executable(os.path.join(home, "bin"), "chutes-rpc")
                self.assertEqual(adapter_command(), [single])
                on_path = executable(bin_dir, "chutes-rpc")
                self.assertEqual(adapter_command(), [on_path])


class Framing(unittest.TestCase):
    def test_a_message_of_a_mebibyte_with_u2028_fed_a_byte_chunk_at_a_time(self):
        big = {"s": "x" * (1 << 20) + "\u2028", "t": "ü"}
        for framing in ("ndjson", "lsp"):
            wire = encode(big, framing) + encode({"n": 2}, framing)
            if framing == "ndjson":  # as the adapter may write it: U+2028 unescaped, then CRLF
                wire += json.dumps(big, ensure_ascii=False).encode("utf-8") + b"\r\n"
            decoder = FrameDecoder(framing)
            frames = []
            for i in range(0, len(wire), 4093):
                frames += decoder.feed(wire[i : i + 4093])
            expected = [big, {"n": 2}] + ([big] if framing == "ndjson" else [])
            self.assertEqual([json.loads(f) for f in frames], expected, framing)


if __name__ == "__main__":
    unittest.main()
