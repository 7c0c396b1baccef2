#!/usr/bin/env python3
"""One workload of the side-by-side peer benchmark through the upstream Python thin client
(katzenpost_thinclient, installed by scripts/install-peers). Same arguments and output line as
kpthin_driver.cpp beside it, which documents the workloads:

  python_driver.py THINCLIENT_TOML connect|keypair1|keypair64|pair N
"""
import asyncio
import json
import os
import resource
import sys
import time

from katzenpost_thinclient import Config, ThinClient

WARMUP = 50
DEPTH = 64
SEED = b"\x42" * 32


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def connect(config):
    client = ThinClient(Config(config))
    await client.start(asyncio.get_running_loop())
    return client


async def close(client):
    """stop() closes the socket and cancels the reader task without waiting for it; a socket
    opened before the task has unwound can get the same descriptor, and the unwinding task then
    removes the new socket's reader (the next handshake hangs). So wait for the task to end."""
    client.stop()
    try:
        await client.task
    except asyncio.CancelledError:
        pass


async def connect_cycles(config, n):
    for _ in range(n):
        client = await connect(config)
        await client.new_keypair(SEED)
        await close(client)


async def keypairs(client, n):
    for _ in range(n):
        await client.new_keypair(SEED)


async def keypairs_in_flight(client, depth, total):
    """`total` round trips with `depth` kept outstanding: `depth` tasks drawing from one count."""
    left = [total]

    async def worker():
        while left[0] > 0:
            left[0] -= 1
            await client.new_keypair(SEED)

    await asyncio.gather(*(worker() for _ in range(depth)))


async def pairs(client, channel, n):
    payload = b"p" * 100
    for _ in range(n):
        write_cap, read_cap, index = channel
        w = await client.encrypt_write(payload, write_cap, index)
        await client.start_resending_encrypted_message(
            None, write_cap, None, None, w.envelope_descriptor, w.message_ciphertext, w.envelope_hash)
        r = await client.encrypt_read(read_cap, index)
        got = await client.start_resending_encrypted_message(
            read_cap, None, index, 0, r.envelope_descriptor, r.message_ciphertext, r.envelope_hash)
        if got.plaintext != payload:
            raise RuntimeError("read returned %r, not what was written" % got.plaintext[:20])
        channel[2] = w.next_message_box_index


async def main(config, workload, n):
    client = None
    if workload == "connect":
        measured = lambda: connect_cycles(config, n)  # noqa: E731
    else:
        client = await connect(config)
        if workload == "keypair1":
            await keypairs(client, WARMUP)
            measured = lambda: keypairs(client, n)  # noqa: E731
        elif workload == "keypair64":
            await keypairs_in_flight(client, DEPTH, WARMUP * 4)
            measured = lambda: keypairs_in_flight(client, DEPTH, n)  # noqa: E731
        elif workload == "pair":
            keys = await client.new_keypair(os.urandom(32))   # a fresh channel per run
            channel = [keys.write_cap, keys.read_cap, keys.first_message_index]
            await pairs(client, channel, WARMUP // 5)
            measured = lambda: pairs(client, channel, n)  # noqa: E731
        else:
            sys.exit("python driver: unknown workload %s" % workload)
    cpu0, t0 = cpu_seconds(), time.monotonic()
    await measured()
    wall, cpu = time.monotonic() - t0, cpu_seconds() - cpu0
    if client is not None:
        await close(client)
    print(json.dumps({"ops": n, "wall_s": wall, "cpu_s": cpu}), flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
