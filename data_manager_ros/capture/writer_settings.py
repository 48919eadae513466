"""The capture writer's share of the config, made from the schema (``part_settings``)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from data_manager_ros.config.settings import UPLOAD_CLASSES, DiskFullPolicy


@dataclass(frozen=True)
class WriterSettings:
    capture_dir: str
    max_file_bytes: int
    max_file_duration_s: float
    chunk_size: int
    compression: str
    flush_interval_s: float
    memory_budget_bytes: int  # the writer backlog's limit until the recorder splits it
    minimum_free_bytes: int
    minimum_free_fraction: float
    retry_interval_s: float = 5.0
    disk_full_policy: str = DiskFullPolicy.PAUSE  # see disk_policy
    additional_paths: tuple[str, ...] = ()
    upload_priority: tuple[str, ...] = UPLOAD_CLASSES
    custom_data: tuple[str, ...] = ()  # key=value, for every bag's metadata.yaml

    @property
    def directory(self) -> str:
        """capture_dir as the file system knows it, so ``~/bags`` and ``/home/me/bags`` are
        one directory, not a reason to switch."""
        return os.path.abspath(os.path.expanduser(self.capture_dir))

    @property
    def max_file_duration_ns(self) -> int:
        return int(self.max_file_duration_s * 1e9)
