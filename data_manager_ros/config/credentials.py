"""The API key and the CA bundle: read from where the settings point, never from a parameter,
and checked where a config is applied (a live change is refused; at start the upload side
reports it as an ERROR naming the setting), so a bad key is one clear error, not a crash loop.
"""

from __future__ import annotations

import os

from data_manager_ros.config.settings import ConfigError, DataManagerConfig


def api_key(config: DataManagerConfig) -> str:
    """The key, refused (naming where it came from, never echoing it) if it cannot be read
    or holds control characters: a CR or LF would end up in headers, logs and the journal."""
    if config.api_key_file:
        source = f"api_key_file {config.api_key_file!r}"
        try:
            with open(os.path.expanduser(config.api_key_file), encoding="utf-8") as handle:
                key = handle.read().strip()
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise ConfigError(f"data manager attribute 'api_key_file': {config.api_key_file!r} "
                              f"cannot be read ({reason}); give a readable file holding the "
                              "key on one line") from None
    else:
        key = os.environ.get(config.api_key_env, "") if config.api_key_env else ""
        source = f"environment variable {config.api_key_env!r} (api_key_env)"
    if any(ord(c) < 32 or ord(c) == 127 for c in key):
        raise ConfigError(f"the API key in {source} contains control characters (a stray "
                          "newline?); it must be one line of printable characters")
    return key


def check_ca_bundle(config: DataManagerConfig) -> None:
    """A ca_bundle that holds no usable certificate is refused now, not at the first upload."""
    if not config.ca_bundle:
        return
    import ssl  # only here: the node has no other use for its 5 MiB

    try:
        ssl.create_default_context(cafile=os.path.expanduser(config.ca_bundle))
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(f"data manager attribute 'ca_bundle': {config.ca_bundle!r} holds no "
                          f"usable CA certificate ({error}); give a PEM file of the CAs to "
                          "trust, or \"\" for the system's") from None


def destination_settings(config: DataManagerConfig) -> tuple[str, ...]:
    """What the upload destination is made of: a change of any sets it up anew."""
    return (config.sync_url, config.api_key_env, config.api_key_file, config.ca_bundle)


def check_change(old: DataManagerConfig, new: DataManagerConfig) -> None:
    """Refuse a change of the destination whose CA bundle or key cannot be used (the CA
    bundle first, so a change of it is refused naming it)."""
    if destination_settings(old) != destination_settings(new):
        check_ca_bundle(new)
        api_key(new)
