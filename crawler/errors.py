"""Exceptions raised by the crawler package."""


class CrawlerError(Exception):
    """Base class for crawler errors."""


class SiteConfigError(CrawlerError):
    """Raised by the site registry for a bad entry or file; the message names the file and the field."""


class UnknownSite(CrawlerError):
    """Raised by `SiteRegistry.get` for a name not in the registry."""

    def __init__(self, name: str, path: object) -> None:
        super().__init__(f"unknown site {name!r} in {path} (see: spreadtrace site list)")
