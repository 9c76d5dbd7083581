"""moto's registry of every model object, made weak so what moto drops is freed.

moto appends every model object it ever makes (each S3 object version, each log event, ...)
to a class-wide list, ``instances_tracked``, for its dashboard, so nothing it replaces or trims
is ever freed: the daemon grew by ~0.5 GB in two minutes of invocations and by ~1 MB per
overwrite of a 1 MB object. ``track_instances_weakly`` (called once by the daemon) keeps that
list but makes it weak, so moto's own uses of it (the dashboard, disposing S3 buffers at a
reset) still see every live object and a dropped one is freed.

Read through the ``moto_backends`` package (its ``__init__`` says why one adapter).
"""
from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from typing import Any


class WeakInstances:
    """What moto's ``instances_tracked`` list is used as (append, iterate, len), holding weak references.

    Iteration yields the objects still alive, in no promised order. An object
    that cannot be weakly referenced is not tracked (none of moto's models
    defines ``__slots__`` today).
    """

    def __init__(self, items: Iterable[Any] = ()) -> None:
        self._refs: dict[int, weakref.ref] = {}
        for item in items:
            self.append(item)

    def append(self, item: Any) -> None:
        key, refs = id(item), self._refs

        def forget(ref: weakref.ref) -> None:
            if refs.get(key) is ref:   # not a newer object that reused the id
                refs.pop(key, None)

        try:
            refs[key] = weakref.ref(item, forget)
        except TypeError:
            return

    def __iter__(self) -> Iterator[Any]:
        for ref in list(self._refs.values()):   # moto's threads may append meanwhile
            item = ref()
            if item is not None:
                yield item

    def __len__(self) -> int:
        return len(self._refs)


def _tracking_weakly(cls: type, *args: Any, **kwargs: Any) -> Any:
    """``BaseModel.__new__`` as moto writes it, with the class's list replaced by a ``WeakInstances``.

    The list is swapped on first use per class, so classes imported later and
    lists that moto's reset put back (``reset_model_data``) are covered too.
    """
    instance: Any = object.__new__(cls)
    tracked = cls.__dict__.get("instances_tracked")
    if not isinstance(tracked, WeakInstances):
        tracked = WeakInstances(tracked or ())
        cls.instances_tracked = tracked   # type: ignore[attr-defined]
    tracked.append(instance)
    return instance


def track_instances_weakly() -> None:
    """Make moto's registry of model objects weak, so what moto drops is freed (idempotent).

    moto's ``BaseModel.__new__`` does ``cls.instances_tracked.append(instance)``
    (``moto/core/common_models.py``); the contract test holds that this is
    still so, and that replacing it frees a dropped object.
    """
    from moto.core.common_models import BaseModel

    if BaseModel.__dict__.get("__new__") is not _NEW:
        BaseModel.__new__ = _NEW   # type: ignore[assignment,method-assign]


_NEW = staticmethod(_tracking_weakly)
