"""The fleet's side, for its operators: robot credentials, and what its bucket holds, read as
untrusted input (a key or a sidecar may have been written by anyone with bucket access)."""
