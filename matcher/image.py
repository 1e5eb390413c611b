"""Decode untrusted image bytes into a normalised RGB picture, or say clearly why not.

Normalising once, before any hasher runs, is what keeps the hashes comparable: EXIF orientation is applied
(imagehash ignores it) and transparency is flattened onto white (imagehash drops alpha, which turns a
transparent PNG's hidden pixels into the picture).
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from matcher.errors import UnhashableContent


def decode_image(data: bytes, *, max_pixels: int) -> Image.Image:
    """Return the image in ``data`` as an upright RGB picture.

    Raises UnhashableContent for empty, unknown, corrupt or truncated data and for pictures larger than
    ``max_pixels`` (checked from the header, before any pixel is decoded: a decompression bomb costs
    nothing; the setting is SPREADTRACE_IMAGE_MAX_PIXELS). Animated images give their first frame.
    """
    if not data:
        raise UnhashableContent("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
            width, height = opened.size
            if width * height > max_pixels:
                raise UnhashableContent(
                    f"image too large ({width}x{height}, over {max_pixels:,} pixels): possible decompression bomb"
                )
            opened.load()
            # In place: a picture of millions of pixels is not copied to learn it was already upright.
            ImageOps.exif_transpose(opened, in_place=True)
    except UnhashableContent:
        raise
    except UnidentifiedImageError:
        raise UnhashableContent("not a recognised image format") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UnhashableContent(f"image too large (over {max_pixels:,} pixels): possible decompression bomb") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UnhashableContent(f"corrupt or truncated image: {exc}") from None
    return to_rgb(opened)


def to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # Pillow clips 16-bit samples to 255 when converting; scale them instead.
        samples = np.asarray(image, dtype=np.uint32)
        shift = 8 if samples.max(initial=0) > 255 else 0
        image = Image.fromarray((samples >> shift).astype(np.uint8), mode="L")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "RGBa", "La", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")  # convert would copy an RGB picture
