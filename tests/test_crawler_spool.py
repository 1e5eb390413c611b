from __future__ import annotations

import hashlib

import pytest

from crawler.errors import MediaTooLarge
from crawler.spool import Spool


def test_a_spool_hashes_what_it_writes_and_refuses_to_pass_its_cap():
    spool = Spool(maxsize=10, url="http://tube.example/v.mp4")
    spool.write(b"12345")
    spool.write(b"67890")
    with pytest.raises(MediaTooLarge, match="larger than the 10-byte media cap"):
        spool.write(b"!")
    spool.discard()
    assert not spool.path.exists()  # nothing of an oversized download stays on disk

    spool = Spool(maxsize=0, url="http://tube.example/w.mp4")
    for chunk in (b"a" * 70_000, b"b" * 70_000):
        spool.write(chunk)
    spooled = spool.result()
    try:
        assert spooled.size == 140_000
        assert spooled.sha256 == hashlib.sha256(b"a" * 70_000 + b"b" * 70_000).hexdigest()
        assert spooled.path.read_bytes()[:3] == b"aaa"
    finally:
        spooled.path.unlink()
