"""The report's pictures: the timeline, the spread graph and the hosts to watch as data
(`build_pictures`), and the report as one self-contained HTML page or a PDF of it (`report_document`).
See docs/architecture.md ("Report")."""

from tracker.pictures.build import Pictures, build_pictures
from tracker.pictures.export import ReportDocument, log_export, report_document

__all__ = ["Pictures", "ReportDocument", "build_pictures", "log_export", "report_document"]
