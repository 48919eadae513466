"""Which ``--params-file`` given at start holds no section for this node: rcl applies a
file's sections by node name silently, so a dump of ``/data_manager`` given to a node
started under another namespace sets nothing and the node runs on its defaults. Said at
start, with the keys the file has and the ones that would match."""

from __future__ import annotations

import re

import yaml


def _matches(key: str, node: str) -> bool:
    """A params file's node key (rcl's wildcards: ``*`` one name, ``**`` any) against the
    fully qualified node name."""
    pattern = "".join(".*" if part == "**" else "[^/]*" if part == "*" else re.escape(part)
                      for part in re.split(r"(\*\*|\*)", key.strip("/")))
    return re.fullmatch(pattern, node.strip("/")) is not None


def params_files(argv: list[str]) -> list[str]:
    """The files of ``--params-file`` in the node's ROS arguments."""
    return [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == "--params-file"]


def unmatched(path: str, node: str) -> str:
    """Why ``path`` sets nothing of ``node``, or "" when a section of it matches (or it
    cannot be read: rcl has said so already)."""
    try:
        with open(path, encoding="utf-8") as handle:
            sections = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError):
        return ""
    if not isinstance(sections, dict) or any(_matches(str(k), node) for k in sections):
        return ""
    return (f"params file {path!r} has no section for this node {node!r} (its sections: "
            f"{', '.join(map(str, sections)) or 'none'}), so it set nothing: key it "
            f"'{node}:' or '/**:' (a `ros2 param dump` is keyed by the node it came from)")
