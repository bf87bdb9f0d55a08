#!/usr/bin/env python3
"""A host for chutes-rpc in plain Python (standard library only).

Spawns the adapter, speaks NDJSON JSON-RPC to it, streams a chat, answers a tool call, and
cancels a stream half way. By default it replays the recorded demo traffic, so it runs offline:

    python3 examples/python/chutes_host.py
    python3 examples/python/chutes_host.py --live        # the real service; needs CHUTES_API_KEY
"""
import argparse
import itertools
import json
import os
import queue
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


class ChutesRpc:
    """A JSON-RPC 2.0 client over a child process's stdin/stdout, one JSON value per line."""

    def __init__(self, argv, env=None):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.ids = itertools.count(1)
        self.replies = {}
        self.lock = threading.Lock()
        self.notifications = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        # Split on b"\n" only: U+2028/U+2029 inside strings are data (str.splitlines would break them).
        for line in self.proc.stdout:
            msg = json.loads(line)
            if "method" in msg:
                self.notifications.put(msg)
            else:
                with self.lock:
                    slot = self.replies.setdefault(msg["id"], queue.Queue())
                slot.put(msg)
        self.notifications.put(None)

    def send(self, msg):
        self.proc.stdin.write((json.dumps(msg) + "\n").encode("utf-8"))
        self.proc.stdin.flush()

    def start(self, method, params=None):
        """Sends a request and returns its id; wait() gets the reply."""
        rid = next(self.ids)
        with self.lock:
            self.replies.setdefault(rid, queue.Queue())
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params or {}})
        return rid

    def wait(self, rid, timeout=30):
        with self.lock:
            slot = self.replies[rid]
        return slot.get(timeout=timeout)

    def call(self, method, params=None):
        reply = self.wait(self.start(method, params))
        if "error" in reply:
            err = reply["error"]
            resolution = (err.get("data") or {}).get("resolution", "")
            raise RuntimeError(f"{method} failed: {err['code']} {err['message']} {resolution}".strip())
        return reply["result"]

    def cancel(self, rid):
        self.send({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": rid}})

    def stream_chat(self, params, cancel_after=None, out=sys.stdout):
        """chat.stream: prints text as chat.delta notifications arrive; returns the reply message."""
        rid = self.start("chat.stream", params)
        stream_id = str(rid)
        seen = 0
        with self.lock:
            slot = self.replies[rid]
        while True:
            # Every delta of a request comes before its reply, so drain deltas until the reply is there.
            try:
                note = self.notifications.get(timeout=0.05)
            except queue.Empty:
                note = None
            if note and note["method"] == "chat.delta" and note["params"]["streamId"] == stream_id:
                delta = note["params"]
                assert delta["seq"] == seen, "seq counts from 0 without gaps"
                seen += 1
                if delta.get("content"):
                    out.write(delta["content"])
                    out.flush()
                if cancel_after is not None and seen == cancel_after:
                    self.cancel(rid)
            elif note is None and not slot.empty():
                out.write("\n")
                return slot.get(), seen

    def close(self):
        self.call("shutdown")
        self.send({"jsonrpc": "2.0", "method": "exit"})
        return self.proc.wait(timeout=10)


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}}, "required": ["city"]},
    },
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adapter", default=f"node {os.path.join(ROOT, 'bin', 'chutes-rpc')}", help="command that starts chutes-rpc")
    parser.add_argument("--replay", default=os.path.join(ROOT, "fixtures", "cassettes", "demo.json"))
    parser.add_argument("--live", action="store_true", help="talk to the real service instead of replaying")
    args = parser.parse_args()

    argv = args.adapter.split() + ["serve"] + ([] if args.live else ["--replay", args.replay])
    env = dict(os.environ)
    if not args.live:
        env["CHUTES_API_KEY"] = "cpk_demo_not_a_real_key"
    rpc = ChutesRpc(argv, env)

    info = rpc.call("initialize", {"clientInfo": {"name": "python-example", "version": "1"}})
    print(f"connected to {info['serverInfo']['name']} {info['serverInfo']['version']} ({info['framing']})")

    found = rpc.call("models.discover", {"teeOnly": True})
    print(f"{len(found['models'])} TEE models ({found['source']}), e.g. {found['models'][0]['id']}")

    reply, _ = rpc.stream_chat({"model": "chutes/zai-org/GLM-4.7-Flash", "messages": [{"role": "user", "content": "Write a haiku about confidential computing."}]})
    result = reply["result"]
    print(f"[{result['finishReason']}, {result['usage']['totalTokens']} tokens]")

    question = {"role": "user", "content": "What's the weather in Lisbon?"}
    reply, _ = rpc.stream_chat({"model": "moonshotai/Kimi-K2.5-TEE", "messages": [question], "tools": [WEATHER], "toolChoice": "auto"})
    call = reply["result"]["message"]["toolCalls"][0]
    arguments = json.loads(call["arguments"])
    print(f"tool call: {call['name']}({arguments})")
    weather = {"city": arguments["city"], "temperature_c": 21, "conditions": "sunny"}
    reply, _ = rpc.stream_chat({
        "model": "moonshotai/Kimi-K2.5-TEE",
        "messages": [
            question,
            {"role": "assistant", "content": None, "tool_calls": [{"id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": call["arguments"]}}]},
            {"role": "tool", "tool_call_id": call["id"], "content": json.dumps(weather)},
        ],
        "tools": [WEATHER],
    })
    print(f"[{reply['result']['finishReason']}]")

    reply, seen = rpc.stream_chat({"model": "zai-org/GLM-4.7-Flash", "messages": [{"role": "user", "content": "Tell me a long story."}], "maxTokens": 2048}, cancel_after=10)
    err = reply["error"]
    print(f"cancelled after {seen} deltas: {err['code']} {err['message']}; kept {len(err['data']['partial']['content'])} characters")

    code = rpc.close()
    print(f"adapter exited with {code}")
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
