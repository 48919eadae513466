"""``data_manager_sync CONFIG``: upload everything that is ready now, then exit.

For an operator at the end of a field test (node stopped, robot on the
network), and for tests that SIGKILL an uploader mid-file. It uses the same
journal as the node, so either resumes what the other started.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from data_manager_ros.config.files import load_config_file
from data_manager_ros.config.settings import ConfigError, in_root_namespace, resolve_topics
from data_manager_ros.fsutil import LockBusy
from data_manager_ros.sync.sync_manager import SyncManager


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config_file", help="data_manager config (seed JSON or native YAML)")
    parser.add_argument("--timeout", type=float, default=0.0,
                        help="give up after this many seconds (0 = when the queue is empty)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] %(message)s")
    try:
        # topics label the uploads: named as a node without namespace records them
        config = resolve_topics(load_config_file(args.config_file), in_root_namespace)
    except ConfigError as error:
        print(f"data_manager_sync: invalid configuration: {error}", file=sys.stderr)
        return 2
    try:
        manager = SyncManager(config, logging.getLogger("data_manager_sync")).start()
    except LockBusy as error:
        print(f"data_manager_sync: {error}", file=sys.stderr)
        return 2
    print(f"queued {manager.sweep()} file(s)", flush=True)
    deadline = time.monotonic() + args.timeout if args.timeout else None
    while manager.uploader.pending():
        if deadline and time.monotonic() > deadline:
            break
        time.sleep(0.05)
    left = len(manager.uploader.pending())
    manager.close()
    print(f"{manager.uploader.stats.uploaded_files} uploaded, {left} left", flush=True)
    return 0 if not left else 1


if __name__ == "__main__":
    sys.exit(main())
