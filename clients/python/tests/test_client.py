"""Client (threads): the host scenario of the issue on recorded cassettes, over each framing."""
import json
import threading
import time
import unittest

from chutes_rpc import Client, RpcError

from adapter import COMMAND, FRAMINGS, HAIKU, WEATHER, env, replay


class ClientScenario(unittest.TestCase):
    def test_demo_session(self):
        """initialize, discover, a streamed answer, a tool call round trip, a cancelled stream, shutdown."""
        for framing in FRAMINGS:
            with self.subTest(framing=framing):
                client = Client(COMMAND, replay("demo.json"), framing=framing, env=env())
                with client:
                    info = client.initialize(clientInfo={"name": "python-test", "version": "1"})
                    self.assertEqual(info["framing"], framing)

                    found = client.models_discover(teeOnly=True)
                    self.assertEqual((found["source"], len(found["models"])), ("live", 7))

                    stream = client.chat_stream(model="chutes/zai-org/GLM-4.7-Flash", messages=[{"role": "user", "content": "haiku"}])
                    deltas = list(stream)
                    self.assertEqual([d["seq"] for d in deltas], list(range(len(deltas))))
                    self.assertEqual("".join(d.get("content", "") for d in deltas), HAIKU)
                    self.assertEqual(stream.result["message"]["content"], HAIKU)

                    question = {"role": "user", "content": "What's the weather in Lisbon?"}
                    first = client.chat_stream({"model": "moonshotai/Kimi-K2.5-TEE", "messages": [question], "tools": [WEATHER], "toolChoice": "auto"})
                    for _ in first:
                        pass
                    call = first.result["message"]["toolCalls"][0]
                    self.assertEqual((call["name"], json.loads(call["arguments"])["city"]), ("get_weather", "Lisbon"))
                    assistant = {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [{"id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": call["arguments"]}}],
                    }
                    answer = client.chat_complete(
                        model="moonshotai/Kimi-K2.5-TEE",
                        messages=[question, assistant, {"role": "tool", "tool_call_id": call["id"], "content": '{"temperature_c": 21}'}],
                        tools=[WEATHER],
                    )
                    self.assertIn("21 °C", answer["message"]["content"])

                    story = client.chat_stream(model="zai-org/GLM-4.7-Flash", messages=[{"role": "user", "content": "story"}], maxTokens=2048)
                    seen = 0
                    for _ in story:
                        seen += 1
                        if seen == 5:
                            break  # leaving the loop cancels the stream upstream
                    with self.assertRaises(RpcError) as caught:
                        story.wait(timeout=10)
                    self.assertTrue(caught.exception.cancelled)
                    self.assertGreater(len(caught.exception.data["partial"]["content"]), 0)
                self.assertEqual(client.returncode, 0)

    def test_concurrent_streams_from_two_threads(self):
        for framing in FRAMINGS:
            with self.subTest(framing=framing), Client(COMMAND, replay("conformance-concurrent.json"), framing=framing, env=env()) as client:
                texts, arrivals = {}, []

                def run(model):
                    stream = client.chat_stream(model=model, messages=[{"role": "user", "content": "count"}])
                    parts = []
                    for delta in stream:
                        arrivals.append(model)
                        parts.append(delta.get("content", ""))
                    texts[model] = "".join(parts)

                threads = [threading.Thread(target=run, args=(m,)) for m in ("zai-org/GLM-4.7-Flash", "Qwen/Qwen3-32B-TEE")]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(20)
                self.assertEqual(texts["zai-org/GLM-4.7-Flash"], "one two three four five six seven eight")
                self.assertEqual(texts["Qwen/Qwen3-32B-TEE"], "eins zwei drei vier fünf sechs")
                # The two streams overlapped: their deltas arrived interleaved, not one stream after the other.
                switches = sum(1 for a, b in zip(arrivals, arrivals[1:]) if a != b)
                self.assertGreater(switches, 1, arrivals)

    def test_error_with_its_resolution(self):
        for framing in FRAMINGS:
            with self.subTest(framing=framing), Client(COMMAND, replay("conformance-chat-errors.json"), framing=framing, env=env()) as client:
                with self.assertRaises(RpcError) as caught:
                    client.chat_complete(model="test/http-401", messages=[{"role": "user", "content": "hi"}])
                error = caught.exception
                self.assertEqual((error.code, error.type, error.retryable), (-32001, "unauthorized", False))
                self.assertTrue(error.resolution)
                self.assertEqual(error.data["httpStatus"], 401)

    def test_close_cancels_a_running_stream_and_stops_the_adapter(self):
        client = Client(COMMAND, replay("conformance-slow.json"), framing=FRAMINGS[0], env=env())
        stream = client.chat_stream(messages=[{"role": "user", "content": "story"}])
        next(iter(stream))
        started = time.monotonic()
        self.assertEqual(client.close(), 0)
        self.assertLess(time.monotonic() - started, 3)
        with self.assertRaises(RpcError) as caught:
            stream.wait(timeout=1)
        self.assertTrue(caught.exception.cancelled)


if __name__ == "__main__":
    unittest.main()
