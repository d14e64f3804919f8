"""The reliability subscriber as a process of its own, so a test can SIGKILL it.

    python -m tests.reliability.subscriber_process DATABASE_URL KAFKA STATE_FILE [DELAY]

KAFKA: the broker's address, or a JSON object of the settings that reach it.

Runs until killed; writes its consumer's counters to STATE_FILE twice a second.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from tests.reliability.support import build_subscriber


async def main(url: str, kafka: str, state_file: Path, delay: float) -> None:
    runtime = build_subscriber(url, json.loads(kafka) if kafka.startswith("{") else kafka, delay=delay)
    await runtime.start()
    consumer = runtime.consumers[0]
    while True:
        tmp = state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(consumer.state))
        tmp.replace(state_file)
        await asyncio.sleep(0.5)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], Path(sys.argv[3]), float(sys.argv[4]) if len(sys.argv) > 4 else 0.0))
