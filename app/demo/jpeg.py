"""Small, valid baseline JPEGs for synthetic screenshots, with no imaging library.

Every 8x8 block is one flat colour, so only DC coefficients are coded (quantiser 1,
the standard DC Huffman table, a one-symbol AC table for end-of-block): a few dozen
lines give real, decodable images. `pad` adds an APP15 filler segment so screenshots
can weigh the tens of KB the live agent sends.
"""

import random
import struct
from collections.abc import Sequence

_DC_BITS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
_AC_BITS = (1,) + (0,) * 15  # one symbol, end-of-block, coded "0"


def _dc_codes() -> dict[int, tuple[int, int]]:
    codes, code, category = {}, 0, 0
    for length, count in enumerate(_DC_BITS, start=1):
        for _ in range(count):
            codes[category] = (code, length)
            code, category = code + 1, category + 1
        code <<= 1
    return codes


_DC_CODES = _dc_codes()


class _BitWriter:
    def __init__(self) -> None:
        self.out, self.acc, self.count = bytearray(), 0, 0

    def put(self, value: int, length: int) -> None:
        self.acc = (self.acc << length) | (value & ((1 << length) - 1))
        self.count += length
        while self.count >= 8:
            self.count -= 8
            byte = (self.acc >> self.count) & 0xFF
            self.out += b"\xff\x00" if byte == 0xFF else bytes((byte,))
        self.acc &= (1 << self.count) - 1

    def flush(self) -> bytes:
        if self.count:
            self.put((1 << (8 - self.count)) - 1, 8 - self.count)  # pad with ones
        return bytes(self.out)


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


Rect = tuple[int, int, int, int, tuple[int, int, int]]  # block x0, y0, x1, y1 (exclusive), rgb


def encode_jpeg(
    width_blocks: int, height_blocks: int, rects: Sequence[Rect], pad: int = 0
) -> bytes:
    """A valid baseline JPEG; later rectangles paint over earlier ones; `pad` filler bytes."""
    bits, previous = _BitWriter(), [0, 0, 0]
    for by in range(height_blocks):
        for bx in range(width_blocks):
            r, g, b = next(
                c for x0, y0, x1, y1, c in reversed(rects) if x0 <= bx < x1 and y0 <= by < y1
            )
            ycc = (
                0.299 * r + 0.587 * g + 0.114 * b,
                128 - 0.168736 * r - 0.331264 * g + 0.5 * b,
                128 + 0.5 * r - 0.418688 * g - 0.081312 * b,
            )
            for index, value in enumerate(ycc):
                dc = round(8 * (value - 128))  # the DC term of a flat block, quantiser 1
                diff, previous[index] = dc - previous[index], dc
                category = abs(diff).bit_length()
                bits.put(*_DC_CODES[category])
                if category:
                    bits.put(diff if diff > 0 else diff + (1 << category) - 1, category)
                bits.put(0, 1)  # end of block
    filler = b"".join(
        _segment(0xEF, bytes(min(65_000, pad - done))) for done in range(0, pad, 65_000)
    )
    components = b"".join(bytes((c, 0x11, 0)) for c in (1, 2, 3))
    return b"".join(
        (
            b"\xff\xd8",
            _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            filler,
            _segment(0xDB, b"\x00" + b"\x01" * 64),
            _segment(
                0xC0, struct.pack(">BHHB", 8, height_blocks * 8, width_blocks * 8, 3) + components
            ),
            _segment(
                0xC4,
                b"\x00" + bytes(_DC_BITS) + bytes(range(12)) + b"\x10" + bytes(_AC_BITS) + b"\x00",
            ),
            _segment(0xDA, b"\x03\x01\x00\x02\x00\x03\x00\x00\x3f\x00"),
            bits.flush(),
            b"\xff\xd9",
        )
    )


def screenshot_jpeg(rng: random.Random, pad_kb: int = 0) -> bytes:
    """A 320x200 'desktop': wallpaper, a window with title bar, sidebar and text lines."""
    accent = (rng.randrange(40, 220), rng.randrange(40, 220), rng.randrange(40, 220))
    rects: list[Rect] = [(0, 0, 40, 25, (rng.randrange(20, 90), 60, rng.randrange(90, 160)))]
    x0, y0 = rng.randrange(0, 6), rng.randrange(0, 4)
    rects += [(x0, y0, x0 + 34, y0 + 21, (245, 246, 248)), (x0, y0, x0 + 34, y0 + 2, accent)]
    rects.append((x0, y0 + 2, x0 + 7, y0 + 21, (226, 229, 235)))
    for line in range(rng.randrange(4, 9)):
        length = rng.randrange(8, 26)
        rects.append(
            (x0 + 8, y0 + 4 + 2 * line, x0 + 8 + length, y0 + 5 + 2 * line, (150, 156, 168))
        )
    return encode_jpeg(40, 25, rects, pad=pad_kb * 1024)
