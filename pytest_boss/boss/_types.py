"""Type aliases shared by the core's modules."""

from __future__ import annotations

import os
from typing import Union

__all__ = ["StrPath"]

#: A file system path as the standard library takes it: text or a path object.
StrPath = Union[str, "os.PathLike[str]"]
