"""The Scrapy project: site registry, the generic site spider, media discovery and the record pipeline.

See docs/architecture.md ("crawler").
"""

__version__ = "0.1.0"
