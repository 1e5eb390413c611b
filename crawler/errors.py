"""Exceptions raised by the crawler package."""


class CrawlerError(Exception):
    """Base class for crawler errors."""


class SiteConfigError(CrawlerError):
    """Raised by the site registry for a bad entry or file; the message names the file and the field."""


class UnknownSite(CrawlerError):
    """Raised by `SiteRegistry.get` for a name not in the registry."""

    def __init__(self, name: str, path: object) -> None:
        super().__init__(f"unknown site {name!r} in {path} (see: spreadtrace site list)")


class MediaTooLarge(CrawlerError):
    """Raised by `crawler.spool` when a media body is (or declares itself) larger than its cap."""

    def __init__(self, size: int, cap: int, url: str) -> None:
        super().__init__(f"larger than the {cap:,}-byte media cap ({size:,} bytes)")
        self.size, self.cap, self.url = size, cap, url
