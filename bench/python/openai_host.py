"""The official openai Python SDK (AsyncOpenAI) consuming the same streams. Prints the seconds
for STREAMS concurrent streams of CHUNKS chunks.

usage: openai_host.py STREAMS CHUNKS URL
"""
import asyncio
import json
import sys
import time

import openai


async def one(client, chunks):
    n = 0
    stream = await client.chat.completions.create(
        model="zai-org/GLM-4.7-Flash", messages=[{"role": "user", "content": "x"}], stream=True, max_tokens=chunks
    )
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            n += 1
    if n != chunks:
        raise SystemExit(f"{n} chunks, expected {chunks}")


async def main():
    streams, chunks, url = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    client = openai.AsyncOpenAI(api_key="cpk_bench_fake_key", base_url=url, max_retries=0)
    await one(client, 10)
    t0 = time.perf_counter()
    await asyncio.gather(*(one(client, chunks) for _ in range(streams)))
    print(json.dumps({"seconds": time.perf_counter() - t0}))


asyncio.run(main())
