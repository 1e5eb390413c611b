"""Hash-list interchange: the formats partners send, every bad line reported by its number."""

from __future__ import annotations

from matcher.hashlist import HashEntry, parse_hash_list, write_hash_list

A = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
B = "8c629e779a663698b9a33866c026726c21a679f61eb6e1f8c79ba7e23c8299e0"


def test_plain_lines_with_optional_quality_and_name():
    text = f"# from partner X\n{A}\n\n{B.upper()},87,holiday.jpg\npdq:{A[:-1]}0 55\n"
    entries, bad = parse_hash_list(text)
    assert bad == []
    assert [(e.line, e.signal.value, e.signal.quality, e.label) for e in entries] == [
        (2, A, None, None), (4, B, 87, "holiday.jpg"), (5, A[:-1] + "0", 55, None),
    ]  # fmt: skip


def test_csv_with_a_header_in_hma_columns():
    text = f"signal_type,signal_value,quality,label\npdq,{A},90,one\npdq,{B},,two\nvideo_md5,abc,,three\n"
    entries, bad = parse_hash_list(text)
    assert [(e.signal.value, e.signal.quality, e.label) for e in entries] == [(A, 90, "one"), (B, None, "two")]
    assert [(b.line, b.reason) for b in bad] == [(4, "signal_type 'video_md5' is not pdq")]


def test_every_malformed_line_is_reported_by_number():
    text = f"{A}\nnot-a-hash\n{A[:60]}\n{B},high\n{B},101\n"
    entries, bad = parse_hash_list(text)
    assert [e.line for e in entries] == [1]
    assert [b.line for b in bad] == [2, 3, 4, 5]
    assert "64 hex digits, got 60" in bad[1].reason and "'high'" in bad[2].reason and "0-100" in bad[3].reason


def test_written_lists_read_back_the_same():
    entries, _ = parse_hash_list(f"{A},90,one\n{B}\n")
    for fmt in ("txt", "csv"):
        again, bad = parse_hash_list(write_hash_list(entries, fmt=fmt, labels=True))
        assert bad == [] and [(e.signal, e.label) for e in again] == [(e.signal, e.label) for e in entries]
    without = write_hash_list([HashEntry(1, entries[0].signal, "secret-name.jpg")], fmt="csv", labels=False)
    assert "secret-name" not in without


def test_only_ascii_hex_is_a_hash():
    # int(x, 16) takes all of these; a partner's list must not slip them into the index.
    entries, bad = parse_hash_list(f"0x{A[2:]}\n{'٣' * 64}\n{B}\n")
    assert [e.signal.value for e in entries] == [B]
    assert [b.line for b in bad] == [1, 2] and all("not hexadecimal" in b.reason for b in bad)
    _, bad = parse_hash_list(f"0,100,{A},0.0\n1,100,0x{A[2:]},1.0\n2,100,{B},inf\n")
    assert [(b.line, b.reason.split(":")[0]) for b in bad] == [
        (2, "pdq hash is not hexadecimal"), (3, "frame time is not a number of seconds"),
    ]  # fmt: skip


def test_a_stream_is_read_line_by_line_with_long_and_undecodable_lines_reported():
    import io

    from matcher.hashlist import MAX_LINE_BYTES, read_hash_list

    data = f"{A}\n".encode() + b"0" * (3 * MAX_LINE_BYTES) + b"\n" + b"\xc3\x28 bad utf-8\n" + f"{B},,n\n".encode()
    bad = []
    entries = list(read_hash_list(io.BytesIO(data), bad.append))
    assert [(e.line, e.signal.value, e.label) for e in entries] == [(1, A, None), (4, B, "n")]
    assert [(b.line, b.reason) for b in bad] == [
        (2, f"line longer than {MAX_LINE_BYTES:,} bytes"), (3, "not UTF-8 text (byte 1 of the line)"),
    ]  # fmt: skip


def test_labels_never_become_lines():
    entries, bad = parse_hash_list(f"{A},90,ok.jpg\n{B},80,\"x\x85y.jpg\"\n")
    assert [e.label for e in entries] == ["ok.jpg"] and "control character" in bad[0].reason
    stored = [HashEntry(1, entries[0].signal, f"a.jpg\n{B},100\u2028")]  # as a label stored before the check
    for fmt in ("txt", "csv"):
        written = write_hash_list(stored, fmt=fmt, labels=True)
        assert len(written.splitlines()) == (2 if fmt == "csv" else 1)
        again, bad = parse_hash_list(written)
        assert bad == [] and [e.label for e in again] == ["a.jpg\\n" + (f"{B},100" if fmt == "csv" else f"{B} 100") + "\\u2028"]
