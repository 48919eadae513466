"""How the upload process reads a file: CPU per GB of the ways to hash it and to send it.

    python bench/upload_io_bench.py [--size-mib 512] [--repeat 3] [--dir DIR]

Hashing: SHA-256 through 1 MiB ``read`` blocks, through one reused 1 MiB buffer
(``readinto``: ``digest.of_file``, what the uploader does) and by ``hashlib.file_digest``;
and BLAKE3 by ``digest.of_file``. Sending to a process that
discards what it receives over loopback TCP: ``read`` + ``sendall``, ``readinto`` + ``sendall``
(what ``FileSlice`` does) and ``socket.sendfile``. Every variant reads the same file, hot in
the page cache, in turn; the report gives the median CPU seconds (user + system) per GB of
each and its ratio to the first of its group, measured in the same run.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from statistics import median

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))  # this tree's package, not an installed copy

from data_manager_ros import digest  # noqa: E402

BLOCK = 1 << 20
SINK = """
import socket, sys
connection = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
buffer = bytearray(1 << 20)
while connection.recv_into(buffer):
    pass
"""


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def hash_by_read(path: str) -> None:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(BLOCK):
            hasher.update(block)


def hash_by_file_digest(path: str) -> None:
    with open(path, "rb") as handle:
        hashlib.file_digest(handle, "sha256")


def senders(connection: socket.socket) -> dict[str, Callable[[str], None]]:
    def by_read(path: str) -> None:
        with open(path, "rb") as handle:
            while block := handle.read(BLOCK):
                connection.sendall(block)

    def by_readinto(path: str) -> None:
        block = memoryview(bytearray(BLOCK))
        with open(path, "rb") as handle:
            while count := handle.readinto(block):
                connection.sendall(block[:count])

    def by_sendfile(path: str) -> None:
        with open(path, "rb") as handle:
            connection.sendfile(handle)

    return {"read + sendall": by_read, "readinto + sendall": by_readinto,
            "sendfile": by_sendfile}


def measure(variants: dict[str, Callable[[str], None]], path: str, repeat: int,
            gigabytes: float) -> None:
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeat):
        for name, variant in variants.items():  # alternating: the machine is noisy
            before = cpu_seconds()
            variant(path)
            seconds[name].append(cpu_seconds() - before)
    reference = median(next(iter(seconds.values())))
    for name, values in seconds.items():
        print(f"  {name:24} {median(values) / gigabytes:6.3f} CPU s/GB  "
              f"x{median(values) / reference:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where the file goes (default: /tmp)")
    args = parser.parse_args()
    gigabytes = args.size_mib * 1.048576 / 1000
    with tempfile.TemporaryDirectory(prefix="dm-upload-io-", dir=args.dir) as work:
        path = os.path.join(work, "file")
        with open(path, "wb") as handle:
            for _ in range(args.size_mib):
                handle.write(os.urandom(BLOCK))
        print(f"digest of {args.size_mib} MiB, median of {args.repeat}:")
        measure({"sha256, read": hash_by_read,
                 "sha256, readinto": lambda path: digest.of_file(path, "sha256"),
                 "sha256, file_digest": hash_by_file_digest,
                 "blake3, digest.of_file": lambda path: digest.of_file(path, "blake3")},
                path, args.repeat, gigabytes)
        with socket.create_server(("127.0.0.1", 0)) as server:
            sink = subprocess.Popen([sys.executable, "-c", SINK,
                                     str(server.getsockname()[1])])
            connection, _ = server.accept()
            with connection:
                print(f"sent over loopback TCP, median of {args.repeat}:")
                measure(senders(connection), path, args.repeat, gigabytes)
            sink.wait(60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
