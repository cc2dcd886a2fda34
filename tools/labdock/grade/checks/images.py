"""The student's image builds (TP 000, 002, 003, mini-project 004)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labdock.grade.context import Context


def image_builds(ctx: Context, params: Mapping[str, Any]) -> str:
    tag = ctx.build(params["context"]).require()
    image = ctx.sandbox.client.images.get(tag)
    return f"{params['context']}/ builds ({image.attrs['Size'] / 1e6:.0f} MB)"


CHECKS = (image_builds,)
