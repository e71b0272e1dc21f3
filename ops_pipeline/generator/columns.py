"""A tiny struct-of-arrays base: one numpy array per field, all the same length."""

from __future__ import annotations

from dataclasses import fields
from typing import Self

import numpy as np


class Columns:
    """Mixin for dataclasses whose fields are equally long numpy arrays."""

    def __len__(self) -> int:
        return len(getattr(self, fields(self)[0].name))

    def select(self, index: np.ndarray) -> Self:
        return type(self)(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @classmethod
    def concat(cls, batches: list[Self]) -> Self:
        return cls(**{f.name: np.concatenate([getattr(b, f.name) for b in batches]) for f in fields(cls)})
