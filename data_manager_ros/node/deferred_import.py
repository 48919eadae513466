"""A module that is loaded the first time something uses it, not when it is imported.

``rclpy.node`` imports ``service_msgs``, whose generated code imports numpy at its top for one
fixed-size array field (a service event's client id). That is 12 MiB of the node's resident
memory at start (docs/performance.md) for a process that never builds such a message: it
subscribes raw and hands bytes to the writer. Deferred, numpy is loaded where a message with
an array field is really built (a service event under introspection, a test that decodes a
fix), and nowhere else.

The stand-in answers what the import system and ``inspect`` ask of every module (``__spec__``,
``__file__``...) from its own attributes; any other attribute, ``__path__`` (a submodule's
import) included, loads the real module and copies it in, so that code holding the stand-in
sees the real module from then on.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types

_LOADING = threading.Lock()


class _Deferred(types.ModuleType):
    def __getattr__(self, attr: str) -> object:
        """Only called for what the stand-in lacks: load the real module, then answer."""
        with _LOADING:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
                try:
                    real = importlib.import_module(self.__name__)
                except BaseException:
                    sys.modules[self.__name__] = self
                    raise
                self.__dict__.update(real.__dict__)
        return getattr(sys.modules[self.__name__], attr)


def defer(name: str) -> bool:
    """Put a stand-in for ``name`` in ``sys.modules``; False (and nothing done) where the
    module is already loaded or not installed."""
    if name in sys.modules:
        return False
    spec = importlib.util.find_spec(name)
    if spec is None:
        return False
    stand_in = _Deferred(name)
    stand_in.__spec__ = spec
    stand_in.__file__ = spec.origin
    stand_in.__loader__ = spec.loader
    stand_in.__package__ = spec.parent
    sys.modules[name] = stand_in
    return True
