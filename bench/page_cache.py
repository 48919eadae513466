"""What a write costs in CPU when the page cache keeps growing, and when a durable file leaves
it (what `McapFile.sync` does): the reason three cameras' writer thread fell behind.

    python bench/page_cache.py [--files 40] [--file-mib 128] [--dir DIR] [--rounds 2]

Each mode runs in a fresh process and writes ``--files`` files of 5 MB writes, ``--rounds``
times (deleting them between rounds), and prints MB written per CPU-second of the writing
process for each round:
  plain     writes only (the pages stay cached)
  fsync     fsync each file once written
  dontneed  fsync each file, then drop it from the page cache (posix_fadvise DONTNEED)
A fresh process's first round in ``plain`` takes never-touched pages; its later rounds reuse
the pages of the files deleted before them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

MESSAGE = 5_000_000
MODES = ("plain", "fsync", "dontneed")


def write_round(directory: str, mode: str, files: int, file_bytes: int) -> float:
    """MB per CPU-second for one round of ``files`` files."""
    sources = [os.urandom(MESSAGE) for _ in range(8)]
    start = time.process_time()
    for index in range(files):
        fd = os.open(os.path.join(directory, f"f{index}"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                     0o600)
        try:
            for count in range(file_bytes // MESSAGE):
                os.write(fd, sources[count % len(sources)])
            if mode != "plain":
                os.fsync(fd)
            if mode == "dontneed":
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    cpu = time.process_time() - start
    return files * (file_bytes // MESSAGE) * MESSAGE / 1e6 / cpu


def child(args: argparse.Namespace) -> None:
    rates = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(dir=args.dir) as directory:
            rates.append(write_round(directory, args.child, args.files, args.file_mib << 20))
    print(f"{args.child:9} " + "  ".join(f"{rate:6.0f}" for rate in rates))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--file-mib", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--dir", default=None, help="where to write (default: the temp dir)")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return 0
    print("mode      MB written per CPU-second, each round")
    for mode in MODES:
        extra = ["--dir", args.dir] if args.dir else []
        subprocess.run([sys.executable, __file__, "--child", mode, "--files", str(args.files),
                        "--file-mib", str(args.file_mib), "--rounds", str(args.rounds),
                        *extra], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
