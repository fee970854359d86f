"""The reader of the daemon's shared-memory message ring (proto/RING.md,
layout version 1), the Python twin of proto/ring/ring.c's reader.

A ring is a file (a sealed memfd the daemon hands over) mapped read-only:
a header page, then records the daemon writes once for every subscriber.
The reader keeps its own position; when the writer laps it, it goes on at
the oldest intact record and says exactly which seqs it lost. It trusts
nothing in the mapping: a broken or hostile ring gives CORRUPT, never an
exception from a bad offset.

On x86-64 (where the stores and loads of the writer and the reader keep
their order) the position checks below are what the C reader's fences
make them elsewhere.
"""

import mmap
import struct
from typing import Any, Iterator, NamedTuple, Optional, Tuple

MAGIC = b"WSBRING\0"
VERSION = 1  # the layout this reader reads (Hello.ring_version)
HEADER_BYTES = 4096
MIN_DATA_BYTES = 64 * 1024
MAX_DATA_BYTES = 1 << 30
RECORD_HEAD = 32

KIND_MESSAGE, KIND_PAD, KIND_ELSEWHERE = 1, 2, 3
FLAG_BINARY = 1

EMPTY, MESSAGE, ELSEWHERE, CORRUPT = "empty", "message", "elsewhere", "corrupt"

_OFF_WRITE_POS, _OFF_TAIL_POS = 64, 128
_HEAD = struct.Struct("<IHHQqIHH")
_MAX_RETRIES = 1000


class RingError(ValueError):
    """The ring cannot be used: its header or size is not layout 1's."""


class Record(NamedTuple):
    seq: int
    time_us: int
    binary: bool
    channel: str  # "" when the message has no channel
    data: bytes
    lost: Optional[Tuple[int, int]]  # (from_seq, to_seq) lost before this one, or None


def _valid_data_bytes(n: int) -> bool:
    return MIN_DATA_BYTES <= n <= MAX_DATA_BYTES and n & (n - 1) == 0


def max_record(data_bytes: int) -> int:
    """The most channel and payload bytes a record in the ring holds."""
    return data_bytes // 4 - RECORD_HEAD


class RingReader:
    """Reads a ring from START_POS, LAST_SEQ being the seq right before it
    (both as the daemon hands them over). BUF is anything with the buffer
    protocol (an mmap, a bytes object in tests)."""

    def __init__(self, buf: Any, start_pos: int = 0, last_seq: int = 0) -> None:
        view = memoryview(buf).cast("B")
        if len(view) < HEADER_BYTES:
            raise RingError("the ring is smaller than its header")
        if bytes(view[0:8]) != MAGIC:
            raise RingError("the ring's header has no WSBRING magic")
        version, header_bytes, data_bytes, epoch = struct.unpack_from("<IIQQ", view, 8)
        if version != VERSION:
            raise RingError("the ring's layout version is not 1")
        if header_bytes != HEADER_BYTES:
            raise RingError("the ring's header size is not 4096")
        if not _valid_data_bytes(data_bytes):
            raise RingError("the ring's size is not a power of two between 64 KiB and 1 GiB")
        if len(view) != HEADER_BYTES + data_bytes:
            raise RingError("the ring's file size does not match its header")
        if start_pos % 8:
            raise RingError("the ring's start position is not a record boundary")
        self._view = view
        # The positions as native 8-byte words: each read is one load, not
        # eight byte reads that a concurrent store could tear.
        self._words = view[:HEADER_BYTES].cast("Q")
        self._data = view[HEADER_BYTES:]
        self.data_bytes = data_bytes
        self.epoch = epoch
        self.pos = start_pos
        self.last_seq = last_seq

    @classmethod
    def from_fd(cls, fd: int, start_pos: int = 0, last_seq: int = 0) -> "RingReader":
        """Maps the ring file FD read-only (the fd may be closed after)."""
        return cls(mmap.mmap(fd, 0, prot=mmap.PROT_READ), start_pos, last_seq)

    def close(self) -> None:
        self._words.release()
        self._data.release()
        self._view.release()

    def _tail(self) -> int:
        return self._words[_OFF_TAIL_POS // 8]

    def write_position(self) -> int:
        return self._words[_OFF_WRITE_POS // 8]

    def next(self) -> Tuple[str, Optional[Record]]:
        """(status, record): EMPTY and CORRUPT with None; MESSAGE and
        ELSEWHERE (a message too large for the ring, which comes on the
        socket; its data is b"") with a Record."""
        size_mask = self.data_bytes - 1
        for _ in range(_MAX_RETRIES):
            # As the C reader: the tail, the write position, the tail again.
            tail = self._tail()
            w = self.write_position()
            if self._tail() != tail:
                continue
            if tail > w or w - tail > self.data_bytes or (w | tail) % 8:
                return CORRUPT, None
            if self.pos < tail:
                self.pos = tail  # fell behind by more than the ring
            if self.pos == w:
                return EMPTY, None
            if self.pos > w:
                return CORRUPT, None
            off = self.pos & size_mask
            remaining = self.data_bytes - off
            head = bytes(self._data[off:off + min(RECORD_HEAD, remaining)])
            if self._tail() > self.pos:
                continue  # overwritten while copied
            size, kind = struct.unpack_from("<IH", head)
            if kind == KIND_PAD:
                if size != remaining or size > w - self.pos:
                    return CORRUPT, None
                self.pos += size
                continue
            if (remaining < RECORD_HEAD or size < RECORD_HEAD or size % 8 or size > remaining
                    or size > w - self.pos
                    or size > RECORD_HEAD + max_record(self.data_bytes) + 8):
                return CORRUPT, None
            rec = bytes(self._data[off:off + size])
            if self._tail() > self.pos:
                continue
            size, kind, flags, seq, time_us, plen, clen, _ = _HEAD.unpack_from(rec)
            if (kind not in (KIND_MESSAGE, KIND_ELSEWHERE)
                    or size != (RECORD_HEAD + clen + plen + 7) // 8 * 8
                    or (kind == KIND_ELSEWHERE and plen) or seq <= self.last_seq):
                return CORRUPT, None
            try:
                channel = rec[RECORD_HEAD:RECORD_HEAD + clen].decode()
            except UnicodeDecodeError:
                return CORRUPT, None
            lost = (self.last_seq + 1, seq - 1) if seq > self.last_seq + 1 else None
            self.pos += size
            self.last_seq = seq
            record = Record(seq, time_us, bool(flags & FLAG_BINARY), channel,
                            rec[RECORD_HEAD + clen:RECORD_HEAD + clen + plen], lost)
            return (MESSAGE if kind == KIND_MESSAGE else ELSEWHERE), record
        return EMPTY, None

    def __iter__(self) -> Iterator[Tuple[str, Record]]:
        """The records there are now (stops at EMPTY; raises RingError at
        CORRUPT)."""
        while True:
            status, record = self.next()
            if status == EMPTY:
                return
            if status == CORRUPT or record is None:
                raise RingError("the ring breaks its layout")
            yield status, record
