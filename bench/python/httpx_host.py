"""The baseline a Python host would write without the adapter: httpx.AsyncClient streaming
POST /chat/completions, lines from aiter_lines(), json.loads of every data line. Prints the seconds
for STREAMS concurrent streams of CHUTES chunks.

usage: httpx_host.py STREAMS CHUNKS URL
"""
import asyncio
import json
import sys
import time

import httpx


async def one(client, url, chunks):
    n = 0
    body = {"model": "zai-org/GLM-4.7-Flash", "messages": [{"role": "user", "content": "x"}], "stream": True, "max_tokens": chunks}
    async with client.stream("POST", f"{url}/chat/completions", json=body) as r:
        async for line in r.aiter_lines():
            # httpx before 0.24 keeps the line end.
            data = line[6:].rstrip("\r\n") if line.startswith("data: ") else "[DONE]"
            if data != "[DONE]":
                choices = json.loads(data)["choices"]
                if choices and choices[0]["delta"].get("content"):
                    n += 1
    if n != chunks:
        raise SystemExit(f"{n} chunks, expected {chunks}")


async def main():
    streams, chunks, url = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(limits=limits, timeout=None) as client:
        await one(client, url, 10)
        t0 = time.perf_counter()
        await asyncio.gather(*(one(client, url, chunks) for _ in range(streams)))
        print(json.dumps({"seconds": time.perf_counter() - t0}))


asyncio.run(main())
