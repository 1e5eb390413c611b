"""The SQLite schema, versioned with PRAGMA user_version: SCHEMA is version 1, MIGRATIONS lead on from it."""

SCHEMA_VERSION = 3

SCHEMA = """
CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);
CREATE TABLE refs (
    id INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    kind TEXT NOT NULL,
    sha256 TEXT,
    md5 TEXT,
    label TEXT,
    added_at TEXT NOT NULL,
    UNIQUE (case_id, sha256)
);
CREATE TABLE ref_signals (
    ref_id INTEGER NOT NULL REFERENCES refs(id),
    kind TEXT NOT NULL,
    version INTEGER NOT NULL,
    value TEXT NOT NULL,
    quality INTEGER,
    variant TEXT NOT NULL
);
CREATE INDEX ref_signals_ref ON ref_signals(ref_id);
CREATE TABLE media (
    sha256 TEXT PRIMARY KEY,
    md5 TEXT,
    size INTEGER NOT NULL,
    kind TEXT,
    width INTEGER,
    height INTEGER,
    hashed_at TEXT NOT NULL,
    error TEXT
);
CREATE TABLE media_signals (
    sha256 TEXT NOT NULL REFERENCES media(sha256),
    kind TEXT NOT NULL,
    version INTEGER NOT NULL,
    value TEXT NOT NULL,
    quality INTEGER,
    variant TEXT NOT NULL
);
CREATE INDEX media_signals_sha256 ON media_signals(sha256);
CREATE TABLE observations (
    id INTEGER PRIMARY KEY,
    observed_at TEXT NOT NULL,
    site TEXT,
    page_url TEXT NOT NULL,
    media_url TEXT NOT NULL,
    host TEXT NOT NULL,
    http_status INTEGER,
    sha256 TEXT,
    content_type TEXT,
    size INTEGER,
    error TEXT,
    claimed_at TEXT,
    claimed_source TEXT
);
CREATE INDEX observations_sha256 ON observations(sha256);
CREATE TABLE sightings (
    id INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    reference_id INTEGER NOT NULL REFERENCES refs(id),
    media_url TEXT NOT NULL,
    page_url TEXT NOT NULL,
    host TEXT NOT NULL,
    site TEXT,
    sha256 TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    status TEXT NOT NULL,
    distance INTEGER NOT NULL,
    decided_by TEXT NOT NULL,
    signals TEXT NOT NULL,
    claimed_at TEXT,
    claimed_source TEXT,
    UNIQUE (reference_id, page_url, media_url)
);
CREATE INDEX sightings_case ON sightings(case_id);
"""

# Each step takes the schema from version i + 1 to i + 2; a new store runs SCHEMA and then every step.
MIGRATIONS = (
    # 2: verdicts ("needs_review" beside "match") with a confidence; an audit log of exports and reveals.
    """
    ALTER TABLE sightings ADD COLUMN verdict TEXT NOT NULL DEFAULT 'match';
    ALTER TABLE sightings ADD COLUMN confidence REAL;
    CREATE TABLE audit_events (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        case_id TEXT,
        detail TEXT NOT NULL
    );
    """,
    # 3: video: the length of a media file, in seconds (its signals are vPDQ frame lists and a videohash).
    """
    ALTER TABLE media ADD COLUMN duration REAL;
    """,
)
