"""Truncated audio files, found from their bytes (a cut download, a copy that ran out of space).

libsndfile reads a truncated WAV without complaint (it reports the frames that are there), so a
clip cut to 60 % of its bytes would be scored as if it were whole. These checks read only
headers and page framing, never samples:

====================  ==========================================================================
Format                A file is truncated when
====================  ==========================================================================
WAV (RIFF, RIFX,      the ``data`` chunk's declared size is more than the bytes after it (chunks
RF64)                 such as ``LIST`` or ``JUNK`` before ``data`` are walked;
                      WAVE_FORMAT_EXTENSIBLE is read like PCM; RF64's size comes from its
                      ``ds64`` chunk). A size of 0 or 0xFFFFFFFF (a streamed file, whose writer
                      never went back to fill it in) declares nothing: not truncated.
FLAC                  fewer samples decode than STREAMINFO's total (0 = unknown: not checked);
                      see :func:`flac_streaminfo` (the decoder counts, :mod:`humanclap.audio.decode`)
Ogg (Vorbis, Opus)    a logical stream begun on the last pages has no end-of-stream page (the
                      ``header_type`` flag 0x04), or the last page is cut short
====================  ==========================================================================

Other formats are not checked here. :class:`Truncation` words the refusal and the flag.
"""

from __future__ import annotations

import struct
from dataclasses import asdict, dataclass
from typing import BinaryIO

__all__ = ["Truncation", "flac_streaminfo", "stream_truncation"]

_UNSET_SIZES = (0, 0xFFFFFFFF)
_OGG_HEADER = struct.Struct("<4sBBqIIIB")  # capture, version, flags, granule, serial, seq, crc, n
_OGG_EOS = 0x04
_OGG_BOS = 0x02


@dataclass(frozen=True)
class Truncation:
    """How much of a truncated file is missing.

    Attributes
    ----------
    declared : float or None
        Seconds its header declares; None when the format declares no length (Ogg: the
        stream just lacks its end-of-stream page).
    present : float or None
        Seconds the file holds; None only for an Ogg file libsndfile cannot open.
    """

    declared: float | None
    present: float | None

    def _seconds(self) -> tuple[str, str]:
        """``declared`` and ``present`` to 2 decimals, more when those would read the same."""
        for digits in range(2, 7):
            declared, present = (f"{v:.{digits}f} s" for v in (self.declared, self.present))
            if declared != present:
                break
        return declared, present

    def reason(self) -> str:
        """The refusal, e.g. ``"truncated: header declares 3.00 s, file holds 1.80 s"``."""
        if self.declared is None:
            held = "" if self.present is None else f" (file holds {self.present:.2f} s)"
            return f"truncated: no end-of-stream page{held}"
        declared, present = self._seconds()
        return f"truncated: header declares {declared}, file holds {present}"

    def flag(self) -> str:
        """The warning of an allowed one, e.g. ``"truncated (header 3.00 s, file 1.80 s)"``."""
        if self.declared is None:
            held = "" if self.present is None else f", file {self.present:.2f} s"
            return f"truncated (no end-of-stream page{held})"
        declared, present = self._seconds()
        return f"truncated (header {declared}, file {present})"

    def to_dict(self) -> dict[str, float | None]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> Truncation:
        return cls(values.get("declared"), values.get("present"))


def _size(stream: BinaryIO) -> int:
    stream.seek(0, 2)
    return stream.tell()


def _read_at(stream: BinaryIO, offset: int, n: int) -> bytes:
    stream.seek(offset)
    return stream.read(n)


def _wav_truncation(stream: BinaryIO, size: int, head: bytes) -> Truncation | None:
    """A RIFF/RIFX/RF64 WAVE file's ``data`` chunk against the bytes after it."""
    endian = ">" if head[:4] == b"RIFX" else "<"
    byte_rate = block_align = 0
    ds64_data_size = None
    pos = 12
    while pos + 8 <= size:
        chunk_id, chunk_size = struct.unpack(endian + "4sI", _read_at(stream, pos, 8))
        body = pos + 8
        if chunk_id == b"fmt ":
            fmt = _read_at(stream, body, 16)
            if len(fmt) < 16:
                return None
            _, _, _, byte_rate, block_align = struct.unpack(endian + "HHIIH", fmt[:14])
        elif chunk_id == b"ds64":
            ds64 = _read_at(stream, body, 16)
            if len(ds64) == 16:
                ds64_data_size = struct.unpack("<Q", ds64[8:16])[0]
        elif chunk_id == b"data":
            declared = chunk_size
            if chunk_size == 0xFFFFFFFF and ds64_data_size is not None:
                declared = ds64_data_size
            if declared in _UNSET_SIZES or not byte_rate or not block_align:
                return None  # a streamed file (nothing declared), or no usable fmt chunk
            present = (size - body) // block_align * block_align  # whole frames (blocks)
            if present >= declared // block_align * block_align:
                return None
            return Truncation(declared / byte_rate, present / byte_rate)
        pos = body + chunk_size + (chunk_size & 1)
    return None  # no data chunk: the decoder says what is wrong


def _ogg_truncation(stream: BinaryIO, size: int) -> Truncation | None:
    """Walk the Ogg pages: a short last page, or a stream without an end-of-stream page."""
    begun: set[int] = set()
    ended: set[int] = set()
    pos = 0
    while pos < size:
        raw = _read_at(stream, pos, _OGG_HEADER.size)
        if len(raw) < _OGG_HEADER.size:
            return Truncation(None, None)
        capture, _, flags, _, serial, _, _, n_segments = _OGG_HEADER.unpack(raw)
        if capture != b"OggS":
            return None  # not clean Ogg framing: the decoder says what is wrong
        lacing = _read_at(stream, pos + _OGG_HEADER.size, n_segments)
        end = pos + _OGG_HEADER.size + n_segments + sum(lacing)
        if len(lacing) < n_segments or end > size:
            return Truncation(None, None)
        if flags & _OGG_BOS:
            begun.add(serial)
        if flags & _OGG_EOS:
            ended.add(serial)
        pos = end
    return Truncation(None, None) if begun - ended else None


def flac_streaminfo(stream: BinaryIO) -> tuple[int, int] | None:
    """``(total_samples, sample_rate)`` from a FLAC file's STREAMINFO block, or None (not
    FLAC, no readable STREAMINFO, or a total of 0, which means "unknown")."""
    head = _read_at(stream, 0, 4 + 4 + 34)
    if len(head) < 42 or head[:4] != b"fLaC" or head[4] & 0x7F != 0:
        return None
    packed = int.from_bytes(head[18:26], "big")  # rate 20 | channels 3 | bits 5 | total 36
    rate = packed >> 44
    total = packed & ((1 << 36) - 1)
    return (total, rate) if total and rate else None


def stream_truncation(stream: BinaryIO) -> Truncation | None:
    """The truncation of a WAV or Ogg file that its bytes show, else None.

    Parameters
    ----------
    stream : binary file object, seekable
        Left at an unspecified position.

    Returns
    -------
    Truncation or None
        For Ogg, ``declared`` and ``present`` are None (the decoder fills in ``present``).
        FLAC is checked by decoding (:func:`flac_streaminfo`); other formats give None.
    """
    size = _size(stream)
    head = _read_at(stream, 0, 12)
    if head[:4] in (b"RIFF", b"RIFX", b"RF64") and head[8:12] == b"WAVE":
        return _wav_truncation(stream, size, head)
    if head[:4] == b"OggS":
        return _ogg_truncation(stream, size)
    return None
