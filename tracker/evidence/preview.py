"""Previews of captured material, blurred and greyscaled on the server: a CSS blur still ships the picture
to every browser and printer the page reaches, so the picture itself is made unreadable before it leaves.
An analyst reveals the original on purpose, and that reveal is logged (by the caller)."""

from __future__ import annotations

import io

from PIL import Image, ImageFilter

PREVIEW_WIDTH = 320
DEFAULT_RADIUS = 12.0  # at PREVIEW_WIDTH: faces and text are gone, the layout (a person, a page) is not
_MAX_PIXELS = 40_000_000  # a screenshot is capped well below; anything larger is not decoded at all


class PreviewFailed(ValueError):
    """The bytes are not a picture Pillow reads (or one too large to decode)."""


def blurred_preview(picture: bytes, *, width: int = PREVIEW_WIDTH, radius: float = DEFAULT_RADIUS) -> bytes:
    """A JPEG ``width`` pixels wide (at most the picture's own width), greyscale and blurred past
    recognition. The blur radius scales with the preview, so a small preview is as unreadable as a large one."""
    try:
        with Image.open(io.BytesIO(picture)) as image:
            if image.width * image.height > _MAX_PIXELS:
                raise PreviewFailed(f"picture of {image.width}x{image.height} pixels is too large to preview")
            image.draft("L", (width, width * 4))  # JPEG decodes at a reduced scale: cheaper, and sharp detail never exists
            grey = image.convert("L")
    except (OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise PreviewFailed(f"not a readable picture: {exc}") from exc
    scale = min(1.0, width / max(grey.width, 1))
    small = grey.resize((max(1, round(grey.width * scale)), max(1, round(grey.height * scale))), Image.Resampling.BILINEAR)
    blurred = small.filter(ImageFilter.GaussianBlur(radius * small.width / PREVIEW_WIDTH))
    out = io.BytesIO()
    blurred.save(out, "JPEG", quality=70)
    return out.getvalue()
