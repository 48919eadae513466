"""Command-line tools around the node: status, a one-shot sync, a playback check and the
demo sensors."""
