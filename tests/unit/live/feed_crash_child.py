"""Child of the kill -9 test: run the feed bar by bar, flushing in the background every 3 bars.

Usage: feed_crash_child.py ROOT FIRST LAST HISTORY_BARS; prints each bar's number when done.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from test_live_feed_batch import SYMS, WARM, H, _client, _start

from xsmom.data.cached import CachedStore
from xsmom.live.feed import BarFeed


def main() -> None:
    root, first, last, window = Path(sys.argv[1]), *map(int, sys.argv[2:5])
    start = _start()
    client, clock = _client(start)
    store = CachedStore(root, write_behind=True)
    feed = BarFeed(store, client, SYMS, "1h", warmup_bars=WARM, history_bars=window)
    for i in range(first, last + 1):
        clock.t = start + i * H
        feed.update(clock.t)
        feed.panel(feed.last_bar() or 0)
        if i % 3 == 2:
            store.flush_behind()
        print(i, flush=True)
    store.close()


if __name__ == "__main__":
    main()
