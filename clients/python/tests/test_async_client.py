"""AsyncClient (asyncio): the host scenario of the issue on recorded cassettes, over each framing."""
import asyncio
import json
import unittest

from chutes_rpc import AsyncClient, RpcError

from adapter import COMMAND, FRAMINGS, HAIKU, WEATHER, env, replay


class AsyncClientScenario(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        # IsolatedAsyncioTestCase runs the loop in debug mode, which slows every callback; hosts do not.
        asyncio.get_running_loop().set_debug(False)

    async def test_demo_session(self):
        """initialize, discover, a streamed answer, a tool call round trip, a cancelled stream, shutdown."""
        for framing in FRAMINGS:
            with self.subTest(framing=framing):
                client = AsyncClient(COMMAND, replay("demo.json"), framing=framing, env=env())
                async with client:
                    info = await client.initialize(clientInfo={"name": "python-test", "version": "1"})
                    self.assertEqual(info["framing"], framing)

                    found = await client.models_discover(teeOnly=True)
                    self.assertEqual((found["source"], len(found["models"])), ("live", 7))

                    stream = client.chat_stream(model="chutes/zai-org/GLM-4.7-Flash", messages=[{"role": "user", "content": "haiku"}])
                    deltas = [d async for d in stream]
                    self.assertEqual([d["seq"] for d in deltas], list(range(len(deltas))))
                    self.assertEqual("".join(d.get("content", "") for d in deltas), HAIKU)
                    self.assertEqual(stream.result["message"]["content"], HAIKU)

                    question = {"role": "user", "content": "What's the weather in Lisbon?"}
                    first = await client.chat_complete(model="moonshotai/Kimi-K2.5-TEE", messages=[question], tools=[WEATHER], toolChoice="auto")
                    call = first["message"]["toolCalls"][0]
                    self.assertEqual((call["name"], json.loads(call["arguments"])["city"]), ("get_weather", "Lisbon"))
                    assistant = {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [{"id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": call["arguments"]}}],
                    }
                    answer = client.chat_stream(
                        model="moonshotai/Kimi-K2.5-TEE",
                        messages=[question, assistant, {"role": "tool", "tool_call_id": call["id"], "content": '{"temperature_c": 21}'}],
                        tools=[WEATHER],
                    )
                    self.assertIn("21 °C", "".join([d.get("content", "") async for d in answer]))

                    story = client.chat_stream(model="zai-org/GLM-4.7-Flash", messages=[{"role": "user", "content": "story"}], maxTokens=2048)

                    async def read_story():
                        async for _ in story:
                            pass

                    reader = asyncio.ensure_future(read_story())
                    await asyncio.sleep(0.5)  # a few deltas in (the story takes 7 s)
                    reader.cancel()  # cancelling the task that iterates cancels the stream upstream
                    with self.assertRaises(RpcError) as caught:
                        await asyncio.wait_for(story.wait(), 10)
                    self.assertTrue(caught.exception.cancelled)
                self.assertEqual(client.returncode, 0)

    async def test_break_cancels_and_two_concurrent_streams(self):
        for framing in FRAMINGS:
            with self.subTest(framing=framing):
                async with AsyncClient(COMMAND, replay("conformance-concurrent.json"), framing=framing, env=env()) as client:
                    arrivals = []

                    async def run(model):
                        parts = []
                        async for delta in client.chat_stream(model=model, messages=[{"role": "user", "content": "count"}]):
                            arrivals.append(model)
                            parts.append(delta.get("content", ""))
                        return "".join(parts)

                    english, german = await asyncio.gather(run("zai-org/GLM-4.7-Flash"), run("Qwen/Qwen3-32B-TEE"))
                    self.assertEqual(english, "one two three four five six seven eight")
                    self.assertEqual(german, "eins zwei drei vier fünf sechs")
                    self.assertGreater(sum(1 for a, b in zip(arrivals, arrivals[1:]) if a != b), 1, arrivals)

                    stream = client.chat_stream(model="zai-org/GLM-4.7-Flash", messages=[{"role": "user", "content": "count"}])
                    async for _ in stream:
                        break  # asyncio finalizes the loop's iterator, which cancels the stream upstream
                    with self.assertRaises(RpcError) as caught:
                        await asyncio.wait_for(stream.wait(), 10)
                    self.assertTrue(caught.exception.cancelled)

    async def test_error_with_its_resolution_and_a_reply_over_64_kib(self):
        for framing in FRAMINGS:
            with self.subTest(framing=framing):
                async with AsyncClient(COMMAND, replay("conformance-chat-errors.json"), framing=framing, env=env()) as client:
                    with self.assertRaises(RpcError) as caught:
                        await client.chat_complete(model="test/http-401", messages=[{"role": "user", "content": "hi"}])
                    error = caught.exception
                    self.assertEqual((error.code, error.type, error.retryable), (-32001, "unauthorized", False))
                    self.assertTrue(error.resolution)
                    # One problem per unknown key: a reply of about 200 KB, past asyncio's 64 KiB line limit.
                    checked = await client.config_validate(config={"chutesRpc": {f"key{i}": 1 for i in range(3000)}})
                    self.assertGreater(len(json.dumps(checked)), 128 * 1024)
                    self.assertEqual(len(checked["errors"]), 3000)


if __name__ == "__main__":
    unittest.main()
