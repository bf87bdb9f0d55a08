"""A Python host reading chat.stream through chutes-rpc, as a Python program would: spawn the
adapter, write NDJSON requests, read stdout in large pieces, json.loads every line, check each
stream's seq. Prints the seconds from the first request to the last reply. Not timed: the spawn,
an initialize, and one 10-chunk chat.stream, as the other hosts (httpx_host.py, openai_host.py)
make one such request before they time theirs.

usage: adapter_host.py STREAMS CHUNKS NODE BIN   (the environment says where the upstream is)
"""
import json
import os
import subprocess
import sys
import time


def main():
    streams, chunks, node, bin_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    child = subprocess.Popen([node, bin_path, "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    out = child.stdout.fileno()
    rest = b""

    def replies(wanted):
        """Reads until `wanted` replies arrived; returns {id: result} and the deltas seen per stream."""
        nonlocal rest
        results, seqs = {}, {}
        while len(results) < wanted:
            piece = os.read(out, 1 << 16)
            if not piece:
                raise SystemExit("the adapter closed its output")
            lines = (rest + piece).split(b"\n")
            rest = lines.pop()
            for line in lines:
                m = json.loads(line)
                if m.get("method") == "chat.delta":
                    p = m["params"]
                    seen = seqs.get(p["streamId"], 0)
                    if p["seq"] != seen:
                        raise SystemExit(f"stream {p['streamId']}: seq {p['seq']}, expected {seen}")
                    seqs[p["streamId"]] = seen + 1
                elif "id" in m:
                    if "error" in m:
                        raise SystemExit(f"reply {m['id']}: {m['error']}")
                    results[m["id"]] = m["result"]
        return results, seqs

    child.stdin.write(b'{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}\n')
    replies(1)
    params = {"model": "chutes/zai-org/GLM-4.7-Flash", "messages": [{"role": "user", "content": "x"}], "maxTokens": 10}
    child.stdin.write(json.dumps({"jsonrpc": "2.0", "id": "warm-up", "method": "chat.stream", "params": params}).encode() + b"\n")
    replies(1)
    params = dict(params, maxTokens=chunks)
    batch = b"".join(
        json.dumps({"jsonrpc": "2.0", "id": i, "method": "chat.stream", "params": params}).encode() + b"\n"
        for i in range(1, streams + 1)
    )
    t0 = time.perf_counter()
    child.stdin.write(batch)
    _, seqs = replies(streams)
    elapsed = time.perf_counter() - t0
    child.stdin.close()
    child.wait()
    bad = [s for s, n in seqs.items() if n != chunks]
    if len(seqs) != streams or bad:
        raise SystemExit(f"deltas missing: {len(seqs)} streams, short ones {bad[:3]}")
    print(json.dumps({"seconds": elapsed}))


main()
