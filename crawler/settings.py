"""Scrapy settings for spreadtrace, and every SPREADTRACE_* default, commented.

The CLI loads this module, then applies its own overrides (``--home``, ``-s NAME=VALUE``). Each
SPREADTRACE_* name is documented in docs/settings.md; tests/test_docs.py checks that.
"""

BOT_NAME = "spreadtrace"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# Politeness. Per-site delay, concurrency and robots.txt obedience come from the site registry.
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.5
DOWNLOAD_TIMEOUT = 30
REDIRECT_MAX_TIMES = 5
RETRY_TIMES = 2
COOKIES_ENABLED = False
# AutoThrottle slows down for a host that answers slowly; DOWNLOAD_DELAY (or the site's delay) is the floor.
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DOWNLOADER_MIDDLEWARES = {
    # First of all: nothing reaches a private address, robots.txt and redirect targets included.
    "crawler.middlewares.PrivateAddressMiddleware": 50,
    # Before RetryMiddleware (550) sees the response: 429/503 with Retry-After wait as long as asked.
    "crawler.middlewares.RetryAfterMiddleware": 560,
    # After RedirectMiddleware (600): each redirect is kept for the capture before it is followed.
    "crawler.exchange.RedirectRecordMiddleware": 650,
}
# No control servers: a tracker has no business opening ports on an analyst's machine.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# Never on: a cached copy would make a removed page look online (DESIGN.md, known traps).
HTTPCACHE_ENABLED = False

# Pages above this are cut off; media carry their own caps (SPREADTRACE_IMAGE_MAX_BYTES, SPREADTRACE_VIDEO_MAX_BYTES).
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 0

# Media (requests marked for spooling) are written to nameless files as they arrive; pages go to Scrapy's handler.
DOWNLOAD_HANDLERS = {
    "http": "crawler.spool.SpoolingDownloadHandler",
    "https": "crawler.spool.SpoolingDownloadHandler",
}

# The crawl's parts beside the spider, in the order they are built: the Tracker (opened here only when the
# runner handed none in, as under `scrapy crawl`), the visit's journal, and the once-per-visit media fetcher.
# CrawlStop comes first: it says why a crawl stops early (time, disk, error), and every other part listens.
EXTENSIONS = {
    "crawler.stop.CrawlStop": 5,
    "crawler.tracking.TrackerExtension": 10,
    "crawler.visit.VisitExtension": 20,
    "crawler.media_fetch.MediaFetcher": 30,
}
ITEM_PIPELINES = {"crawler.pipelines.record.RecordPipeline": 300}
# Warnings only by default: one line per skipped file or failed page. INFO adds each match and Scrapy's own lines.
LOG_LEVEL = "WARNING"

# -- spreadtrace ------------------------------------------------------------------------------------
# Runs that try to deliver one alert to one contact before a failure is left as it is (`alerts list` shows
# it; `alerts send` tries again whatever the count). Each run makes one attempt per contact, not a loop.
SPREADTRACE_ALERT_ATTEMPTS = 5
# A targeted check (a notice's deadline) captures every copy it sees, with this reason. Empty: a crawl
# captures a copy when first seen and when its status changes.
SPREADTRACE_CAPTURE_WHY = ""
# The Chromium binary that takes screenshots and prints PDF reports (driven by Playwright; never downloaded).
# Empty: `chromium` on the PATH (Debian's package).
SPREADTRACE_CHROMIUM = ""
# Who collects the evidence, named in every capture ("organisation / analyst"). Empty: the user running it.
SPREADTRACE_COLLECTOR = ""
# Contact address (URL or e-mail) put in the User-Agent, so site operators can reach the team.
SPREADTRACE_CONTACT = ""
# dHash distance (of 64 bits) at or under which dHash agrees (shown with each decision; it does not decide).
SPREADTRACE_DHASH_MAX_DISTANCE = 10
# Share each visit's frontier with other workers on Redis (scrapy-redis); `crawl --distributed` sets it.
SPREADTRACE_DISTRIBUTED = False
# Capture each sighting when first seen and at every change of its status: a sealed WARC of the page and
# the media, and a custody entry, in HOME/evidence (tracker/evidence/). Off: sightings are rows only.
SPREADTRACE_EVIDENCE = True
# Where the per-case evidence keys are kept, apart from the evidence they open (another disk, a mounted
# token). Empty: HOME/keys.
SPREADTRACE_EVIDENCE_KEYS = ""
# Pages a crawler hands Scrapy's in-memory queue at once; more claimed pages wait in the journal and are
# handed over as these are fetched, so memory does not grow with the site (crawler/frontier.py).
SPREADTRACE_FRONTIER_IN_MEMORY = 1000
# Worker processes that decode and hash media during a crawl, shared by every site's crawler. 0: one per
# core this process may use (the reactor's own work is mostly waiting on the network).
SPREADTRACE_HASH_WORKERS = 0
# The home folder (set by the CLI from --home): the disk watched by SPREADTRACE_MIN_FREE_BYTES, among others.
SPREADTRACE_HOME = ""
# Largest image file downloaded, in bytes; larger files are recorded as skipped.
SPREADTRACE_IMAGE_MAX_BYTES = 40 * 1024 * 1024
# Largest image decoded, in pixels (checked from the header: a decompression bomb costs nothing).
SPREADTRACE_IMAGE_MAX_PIXELS = 50_000_000
# Smallest crawled picture matched, in pixels on its long side; smaller ones (icons, avatars, spacers) are
# recorded as skipped. The accuracy benchmark's thumbnail rows show where matching stops being reliable.
SPREADTRACE_IMAGE_MIN_SIDE = 80
# Keep ORB local features of references and crawled media, and check crops, rotations, screenshots and
# collages with them. Off: global hashes only (no crop resistance; gray-zone candidates stay "needs review").
SPREADTRACE_LOCAL_FEATURES = True
# Links recorded per page, at most (a site's max_links overrides it): internal links followed and links to
# other hosts kept for the spread graph. A page with more is cut there, and says so in the log.
SPREADTRACE_MAX_LINKS_PER_PAGE = 1000
# Pages fetched per site per visit, at most (a site's max_pages overrides it); media files, re-checks of
# pages with sightings and pages skipped for robots.txt do not count.
SPREADTRACE_MAX_PAGES_PER_VISIT = 500
# Media bodies downloading or waiting to be hashed at once. Each is a file on disk, never in memory, so disk
# use is bounded by this times the media caps, and memory by the one file being hashed.
SPREADTRACE_MEDIA_IN_FLIGHT = 8
# Pixels x frames one animation or video may decode, sampled or not (a GIF of thousands of frames on a huge
# canvas costs the canvas at every frame). Past it, the file is hashed up to there. 0: no bound.
SPREADTRACE_MEDIA_MAX_DECODED_PIXELS = 100_000_000_000
# Seconds one media download may take in all (Scrapy's DOWNLOAD_TIMEOUT bounds pages).
SPREADTRACE_MEDIA_TIMEOUT = 600
# Free bytes, on the home's and the temporary folder's disks, under which a crawl stops (reason "disk"),
# leaving its visit to be resumed: the record must never be the write that fails. 0: not checked.
SPREADTRACE_MIN_FREE_BYTES = 512 * 1024**2
# The notifier's e-mail address: the From of each notice, and where hosts answer.
SPREADTRACE_NOTICE_EMAIL = ""
# The person who signs the notices.
SPREADTRACE_NOTICE_NOTIFIER = ""
# The organisation that sends takedown notices, named in each (the law asks for the notifier's name).
SPREADTRACE_NOTICE_ORGANISATION = ""
# A signature block under each notice (address, registration): text, may hold newlines.
SPREADTRACE_NOTICE_SIGNATURE = ""
# The notice template `takedown draft` uses by default: dsa, takeitdown, dmca, abuse, or one of HOME/templates/takedowns/.
SPREADTRACE_NOTICE_TEMPLATE = "dsa"
# A targeted check visits only these pages (a JSON list) and the media known on them, nothing else
# (`takedown check` sets it). Empty: the whole site.
SPREADTRACE_ONLY_PAGES = ""
# Geometrically consistent ORB keypoints at or over which local features decide a match.
SPREADTRACE_ORB_MATCH_INLIERS = 16
# The share (0-1) of the reference's keypoint area those keypoints must span for a match; fewer spread
# over less is "needs review": two different pictures sharing one object or watermark align on it alone.
SPREADTRACE_ORB_MIN_SPREAD = 0.03
# Consistent ORB keypoints at or over which a candidate is kept as "needs review".
SPREADTRACE_ORB_REVIEW_INLIERS = 9
# PDQ distance up to which a candidate is checked with local features when pHash agrees (the gray zone).
SPREADTRACE_PDQ_CORROBORATED_MAX_DISTANCE = 48
# PDQ distance at or under which PDQ alone decides a match (Meta's recommended 31 of 256 bits).
SPREADTRACE_PDQ_MAX_DISTANCE = 31
# PDQ quality under which a hash is not used (Meta: below 50 it is unreliable).
SPREADTRACE_PDQ_MIN_QUALITY = 50
# pHash distance (of 64 bits) at or under which pHash agrees.
SPREADTRACE_PHASH_MAX_DISTANCE = 8
# Show a live progress display on the terminal while crawling.
SPREADTRACE_PROGRESS = False
# Seconds a media download may go without receiving a byte, before or after its headers.
SPREADTRACE_READ_TIMEOUT = 30
# Redis URL for distributed crawling (`spreadtrace crawl --distributed`): workers share one frontier there.
SPREADTRACE_REDIS_URL = "redis://127.0.0.1:6379/0"
# Go on with a site's unfinished (killed or timed-out) visit rather than start a new one.
SPREADTRACE_RESUME = True
# Longest Retry-After (seconds) waited for on a 429 or 503; a longer one gives the request up as failed.
SPREADTRACE_RETRY_AFTER_MAX = 300
# Take a full-page screenshot of each captured page in headless Chromium (crawler/screenshots.py), apart
# from the crawl; one that fails is owed and taken at the next visit.
SPREADTRACE_SCREENSHOTS = True
# Tallest screenshot in pixels; a taller page is cut there (a page can claim any height), and says so.
SPREADTRACE_SCREENSHOT_MAX_HEIGHT = 16384
# Seconds a page may take to load, and its screenshot to be taken, before it fails as a timeout.
SPREADTRACE_SCREENSHOT_TIMEOUT = 30.0
# Worker processes taking screenshots, each with its own Chromium; 50 per worker may wait.
SPREADTRACE_SCREENSHOT_WORKERS = 1
# The site registry file (TOML). Empty: <home>/sites.toml.
SPREADTRACE_SITES_FILE = ""
# A CA certificate (PEM) to trust for STARTTLS besides the system's: an organisation's own relay.
SPREADTRACE_SMTP_CA = ""
# The sender address of messages that name none.
SPREADTRACE_SMTP_FROM = ""
# The SMTP server notices and alerts are sent through. Empty: nothing is sent by e-mail.
SPREADTRACE_SMTP_HOST = ""
# The environment variable holding the SMTP password.
SPREADTRACE_SMTP_PASSWORD_ENV = "SPREADTRACE_SMTP_PASSWORD"
# Its port (587: submission with STARTTLS).
SPREADTRACE_SMTP_PORT = 587
# STARTTLS: required (refuse to send in clear), optional (use it when offered), off (a relay on loopback).
SPREADTRACE_SMTP_STARTTLS = "required"
# Seconds an SMTP exchange may take before the send fails as a timeout.
SPREADTRACE_SMTP_TIMEOUT = 30.0
# The environment variable holding the SMTP user name (credentials never live in a file of the home).
SPREADTRACE_SMTP_USER_ENV = "SPREADTRACE_SMTP_USER"
# Where the record lives. Empty: sqlite:///<home>/spreadtrace.db.
SPREADTRACE_STORE_URI = ""
# Seconds a crawl may run (`crawl --time-limit`); then it stops, and the next run resumes it. 0: no limit.
SPREADTRACE_TIME_LIMIT = 0
# videohash distance (of 64 bits) at or under which videohash agrees (videohash2's 15%; shown, never decisive).
SPREADTRACE_VIDEOHASH_MAX_DISTANCE = 10
# PDQ distance at or under which two video frames match. vPDQ uses 31 for frames counted in any order;
# here at least SPREADTRACE_VIDEO_MIN_FRAMES must also line up in time, which allows 40 (benchmarks/video.py).
SPREADTRACE_VIDEO_FRAME_MAX_DISTANCE = 40
# Largest video file downloaded or hashed, in bytes; it is streamed to disk, never held in memory.
SPREADTRACE_VIDEO_MAX_BYTES = 2 * 1024**3
# Most frames sampled from one video (about one a second); a longer video is sampled more sparsely.
SPREADTRACE_VIDEO_MAX_FRAMES = 7200
# Largest video or animation frame decoded, in pixels (4096x4096): animations are composited at full canvas size.
SPREADTRACE_VIDEO_MAX_PIXELS = 4096 * 4096
# Wall-clock seconds one video or animation may take to decode; one that takes longer is hashed up to there.
SPREADTRACE_VIDEO_MAX_SECONDS = 600
# Frames of a copy that must line up, in order, with a run of a reference video for a match.
SPREADTRACE_VIDEO_MIN_FRAMES = 3
# Seconds one scheduled visit may run (`spreadtrace watch`); then it is stopped, and the next run resumes it.
SPREADTRACE_VISIT_TIME_LIMIT = 3600
# Allow webhooks over plain http. Off: https only, since a POST carries case data (links, hashes); tests turn
# it on for a receiver on loopback.
SPREADTRACE_WEBHOOK_ALLOW_HTTP = False
# Seconds before a webhook POST that failed is tried again, doubling each time (2 s, then 4 s, ...); a
# Retry-After the receiver sends is waited for instead, up to a minute.
SPREADTRACE_WEBHOOK_BACKOFF = 2.0
# Tries, in all, of one webhook POST in one run before it is recorded as failed (the next run tries again).
SPREADTRACE_WEBHOOK_RETRIES = 3
# Seconds one webhook POST may take, connecting and answering.
SPREADTRACE_WEBHOOK_TIMEOUT = 10.0
