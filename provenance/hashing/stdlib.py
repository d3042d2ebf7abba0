"""Handlers of standard-library value types: datetime, decimal, fractions, uuid, pathlib.

Each is installed the first time a new type is hashed while its module is
imported (see ``_PENDING`` in :mod:`.core`), so importing this package imports
none of them.
"""

from __future__ import annotations

from .core import _BUILTIN, _LIBRARY, _PENDING, _digest, _h
from .scalars import _d_int, _d_str


def _load_datetime() -> None:
    import datetime as dt

    def d_datetime(x: dt.datetime) -> bytes:
        return _h(b"datetime:" + _d_str(x.isoformat()) + _digest(x.tzname()))

    def d_date(x: dt.date) -> bytes:
        return _h(b"date:" + _d_str(x.isoformat()))

    def d_time(x: dt.time) -> bytes:
        return _h(b"time:" + _d_str(x.isoformat()) + _digest(x.tzname()))

    def d_timedelta(x: dt.timedelta) -> bytes:
        return _h(b"timedelta:" + _d_int(x.days) + _d_int(x.seconds) + _d_int(x.microseconds))

    _BUILTIN.update(
        {dt.datetime: d_datetime, dt.date: d_date, dt.time: d_time, dt.timedelta: d_timedelta}
    )


def _load_decimal() -> None:
    import decimal

    _BUILTIN[decimal.Decimal] = lambda x: _h(b"decimal:" + _d_str(str(x)))


def _load_fractions() -> None:
    import fractions

    _BUILTIN[fractions.Fraction] = lambda x: _h(
        b"fraction:" + _d_int(x.numerator) + _d_int(x.denominator)
    )


def _load_uuid() -> None:
    import uuid

    _BUILTIN[uuid.UUID] = lambda x: _h(b"uuid:" + x.bytes)


def _load_pathlib() -> None:
    import pathlib

    # Pure and concrete paths of one flavour compare equal, so they hash alike.
    _LIBRARY[pathlib.PurePosixPath] = lambda p: _h(b"path-posix:" + _d_str(p.as_posix()))
    _LIBRARY[pathlib.PureWindowsPath] = lambda p: _h(
        b"path-windows:" + _d_str(p.as_posix().lower())
    )


_PENDING.update(
    {
        "datetime": _load_datetime,
        "decimal": _load_decimal,
        "fractions": _load_fractions,
        "uuid": _load_uuid,
        "pathlib": _load_pathlib,
    }
)
