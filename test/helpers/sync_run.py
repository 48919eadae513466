"""The uploader as a process of its own, so a test can SIGKILL it mid-file.

    python -m helpers.sync_run CONFIG_FILE   # sweeps once, uploads until the queue is empty
"""

from __future__ import annotations

import logging
import sys
import time

from data_manager_ros.config_files import load_config_file
from data_manager_ros.sync.sync_manager import SyncManager


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    manager = SyncManager(load_config_file(sys.argv[1]), logging.getLogger("sync"))
    print(f"queued {manager.sweep()}", flush=True)
    while manager.uploader.pending():
        time.sleep(0.05)
    manager.close()
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
