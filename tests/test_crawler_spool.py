from __future__ import annotations

import hashlib
import os
import tempfile

import pytest

from crawler.errors import MediaTooLarge
from crawler.spool import Spool


def _names_in(folder: str) -> list[str]:
    return sorted(os.listdir(folder))


def test_a_spool_hashes_what_it_writes_and_refuses_to_pass_its_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    spool = Spool(maxsize=10, url="http://tube.example/v.mp4")
    spool.write(b"12345")
    spool.write(b"67890")
    with pytest.raises(MediaTooLarge, match="larger than the 10-byte media cap"):
        spool.write(b"!")
    spool.discard()

    spool = Spool(maxsize=0, url="http://tube.example/w.mp4")
    for chunk in (b"a" * 70_000, b"b" * 70_000):
        spool.write(chunk)
    spooled = spool.result()
    closed: list[bool] = []
    spooled.on_close(lambda: closed.append(True))
    try:
        assert spooled.size == 140_000
        assert spooled.sha256 == hashlib.sha256(b"a" * 70_000 + b"b" * 70_000).hexdigest()
        assert spooled.path.read_bytes()[:3] == b"aaa"  # readable by path, for decoders that want one
        assert spooled.head(4) == b"aaaa" and len(spooled.read_bytes()) == 140_000
        # The file never has a name: a process killed at this point leaves nothing in the folder.
        assert _names_in(str(tmp_path)) == []
    finally:
        spooled.close()
    assert closed == [True]
    spooled.close()
    assert closed == [True]  # closing twice gives the in-flight slot back once
