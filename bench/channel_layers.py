"""Measure channels-redis' core layer against its pub/sub layer for what the gateway does with
them: deliver a command message to one consumer's channel (send, then receive).

    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/channel_layers.py [messages]

Loopback only; bounded by the message count.
"""

import asyncio
import os
import statistics
import sys
import time

from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer


async def measure(layer, messages: int) -> dict:
    channel = await layer.new_channel("bench.")
    receiver = asyncio.create_task(layer.receive(channel))  # subscribe before the first send
    await asyncio.sleep(0.1)
    receiver.cancel()
    latencies = []
    started = time.perf_counter()
    for number in range(messages):
        sent = time.perf_counter()
        await layer.send(channel, {"type": "ocpp.command", "command_id": number})
        message = await layer.receive(channel)
        if message["command_id"] != number:
            raise RuntimeError(f"message {number} lost or out of order")
        latencies.append(time.perf_counter() - sent)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "per_message_us": elapsed / messages * 1e6,
        "p50_us": statistics.median(latencies) * 1e6,
        "p99_us": latencies[int(len(latencies) * 0.99) - 1] * 1e6,
    }


async def main(messages: int) -> None:
    url = os.environ["REDIS_URL"]
    for name, layer in (
        ("core (RedisChannelLayer)", RedisChannelLayer(hosts=[url])),
        ("pubsub (RedisPubSubChannelLayer)", RedisPubSubChannelLayer(hosts=[url])),
    ):
        result = await measure(layer, messages)
        print(
            f"{name:34} {result['per_message_us']:8.0f} us/message   "
            f"p50 {result['p50_us']:6.0f} us   p99 {result['p99_us']:6.0f} us"
        )
        flush = getattr(layer, "flush", None)
        if flush:
            await flush()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
