"""The Python reader of the shared-memory ring (wsbridge.ring) against the C
writer (proto/ring, through tests/ring/ring-writer): every message byte for
byte, exact losses when the writer laps the reader, and a broken ring
refused or reported, never an exception from a bad offset."""

import os
import pathlib
import struct
import subprocess

import pytest

from wsbridge import ring

WRITER = pathlib.Path(os.environ["WSB_BUILD_ROOT"]) / "tests" / "ring" / "ring-writer"
KIB = 1024


def expected(seq):
    n = (seq * 7919) % 3000
    return bytes((seq * 31 + i) & 0xFF for i in range(n))


def check(rec):
    assert rec.data == expected(rec.seq), f"seq {rec.seq} changed"
    assert rec.time_us == rec.seq * 1000
    assert rec.binary == bool(rec.seq % 2)
    assert rec.channel == ("" if rec.seq % 5 == 0 else f"ch{rec.seq % 5}")


def write_ring(path, data_bytes, count):
    out = subprocess.run([WRITER, path, str(data_bytes), str(count)], check=True,
                         capture_output=True, text=True).stdout
    assert out.startswith("READY\n") and "DONE" in out, out


def test_reader_gets_every_message_of_a_ring(tmp_path):
    path = tmp_path / "ring"
    write_ring(path, 1024 * KIB, 500)
    with open(path, "rb") as f:
        r = ring.RingReader.from_fd(f.fileno())
    got = list(r)
    assert [rec.seq for _, rec in got] == list(range(1, 501))
    assert all(status == ring.MESSAGE and rec.lost is None for status, rec in got)
    for _, rec in got:
        check(rec)
    assert r.epoch == 42
    assert r.next() == (ring.EMPTY, None)
    r.close()


def test_lapped_reader_is_told_exactly_what_it_lost(tmp_path):
    path = tmp_path / "ring"
    write_ring(path, 64 * KIB, 5000)  # about 110 laps
    with open(path, "rb") as f:
        r = ring.RingReader.from_fd(f.fileno(), start_pos=0, last_seq=0)
    status, first = r.next()
    assert status == ring.MESSAGE and first.lost == (1, first.seq - 1), first.lost
    check(first)
    rest = [rec for _, rec in r]
    assert [rec.seq for rec in rest] == list(range(first.seq + 1, 5001))
    for rec in rest:
        check(rec)


def test_reader_racing_the_writer(tmp_path):
    """The writer laps a reader that reads while it writes: what is
    delivered is whole, in order, and delivered + lost = written."""
    path = tmp_path / "ring"
    writer = subprocess.Popen([WRITER, path, str(64 * KIB), "30000", "50", "200"],
                              stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline() == "READY\n"
    with open(path, "rb") as f:
        r = ring.RingReader.from_fd(f.fileno())
    delivered = lost = 0
    expect = 1
    while True:
        status, rec = r.next()
        assert status != ring.CORRUPT
        if status == ring.EMPTY:
            if writer.poll() is not None and r.pos == r.write_position():
                break
            continue
        if rec.lost:
            assert rec.lost == (expect, rec.seq - 1)
            lost += rec.seq - expect
        else:
            assert rec.seq == expect
        check(rec)
        expect = rec.seq + 1
        delivered += 1
    assert writer.wait() == 0
    print(f"{delivered} delivered, {lost} lost")
    assert delivered + lost == 30000 and expect == 30001, (delivered, lost)


def _image(write, tail, records, data_bytes=64 * KIB):
    head = b"WSBRING\0" + struct.pack("<IIQQ", 1, 4096, data_bytes, 7)
    head = head.ljust(64, b"\0") + struct.pack("<Q", write)
    head = head.ljust(128, b"\0") + struct.pack("<Q", tail)
    return bytearray(head.ljust(4096, b"\0") + records.ljust(data_bytes, b"\0"))


def _record(kind, seq, channel=b"", payload=b"", size=None):
    total = size if size is not None else (32 + len(channel) + len(payload) + 7) // 8 * 8
    head = struct.pack("<IHHQqIHH", total, kind, 0, seq, 0, len(payload), len(channel), 0)
    return (head + channel + payload).ljust(total, b"\0")


@pytest.mark.parametrize("image, error", [
    (b"short", "the ring is smaller than its header"),
    (bytes(8192), "the ring's header has no WSBRING magic"),
    (bytes(_image(0, 0, b""))[:-1], "the ring's file size does not match its header"),
])
def test_unusable_rings_are_refused_by_name(image, error):
    with pytest.raises(ring.RingError, match=error):
        ring.RingReader(image)


@pytest.mark.parametrize("name, write, tail, records, last_seq", [
    ("a size that is no record", 64, 0, _record(1, 1, size=12), 0),
    ("a seq not above the last", 32, 0, _record(1, 3), 5),
    ("a tail past the writer", 32, 64, _record(1, 1), 0),
    ("lengths over the size", 40, 0, _record(1, 1, payload=b"12345678")[:8]
     + struct.pack("<Q", 1) + bytes(8) + struct.pack("<I", 900) + bytes(12), 0),
    ("a record over the end", 64, 0, _record(1, 1, payload=b"x" * 100), 0),
])
def test_broken_rings_are_reported(name, write, tail, records, last_seq):
    r = ring.RingReader(_image(write, tail, records), last_seq=last_seq)
    assert r.next() == (ring.CORRUPT, None), name


def test_an_elsewhere_record_keeps_its_place():
    recs = _record(1, 1, b"a", b"x") + _record(3, 2, b"news") + _record(1, 3, b"", b"y")
    r = ring.RingReader(_image(len(recs), 0, recs))
    kinds = [(status, rec.seq, rec.channel) for status, rec in r]
    assert kinds == [(ring.MESSAGE, 1, "a"), (ring.ELSEWHERE, 2, "news"), (ring.MESSAGE, 3, "")]
    broken = _record(3, 1, b"", b"payload")  # an elsewhere record carries no payload
    assert ring.RingReader(_image(len(broken), 0, broken)).next() == (ring.CORRUPT, None)
