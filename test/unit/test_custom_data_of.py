"""A file's custom_data is read from the tail of its rosbag2 record, and is what a whole
read of the record gives, whatever the values hold."""

from __future__ import annotations

import pytest
import yaml

from data_manager_ros.bag.metadata import (
    BagMetadata,
    FileEntry,
    custom_data_of,
    parse,
    serialize,
)


def test_the_tail_read_equals_the_whole_read_for_hostile_values():
    custom = {"reason": "bumper\ncustom_data: {forged: 1}", "custom_data": "\ncustom_data: x",
              "ros_distro": "kilted", "empty": ""}
    meta = BagMetadata(files=[FileEntry(f"bag_{i}.mcap", 10**18 + i, 10**9, 5)
                              for i in range(2000)], custom_data=custom)
    text = meta.serialize()
    assert custom_data_of(text) == parse(text)["custom_data"] == custom


def test_a_record_laid_out_otherwise_is_read_whole():
    assert custom_data_of("{custom_data: {site: lab}, files: []}") == {"site": "lab"}
    assert custom_data_of(serialize({"files": [], "custom_data": None})) == {}
    assert custom_data_of("- not a map") == {}


def test_metadata_with_aliases_is_refused_and_never_written():
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nrosbag2_bagfile_information: *c\n"
    with pytest.raises(yaml.YAMLError, match="alias"):
        parse(bomb)
    shared = {"history": "keep_last"}
    assert "&" not in serialize({"topics": [shared, shared]})
