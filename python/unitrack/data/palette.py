"""Compatibility re-export: the DAVIS palette now lives in :mod:`unitrack.data.skeletons` (one module of joint,
limb and colour tables)."""

from .skeletons import colorize, davis_palette, palette_bytes

__all__ = ["davis_palette", "palette_bytes", "colorize"]
