"""The SQLite schema, versioned with PRAGMA user_version: SCHEMA is version 1, MIGRATIONS lead on from it."""

SCHEMA_VERSION = 14

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
    # 4: revisits: visits and their page journal (resumable, shared by workers), sighting status history,
    # one observation per (visit, page, media), outbound links, and validators for conditional requests.
    """
    ALTER TABLE observations ADD COLUMN visit_id TEXT;
    ALTER TABLE observations ADD COLUMN page_state TEXT;
    ALTER TABLE observations ADD COLUMN note TEXT;
    CREATE UNIQUE INDEX observations_once_per_visit ON observations(visit_id, page_url, media_url)
        WHERE visit_id IS NOT NULL;
    ALTER TABLE sightings ADD COLUMN status_at TEXT;
    CREATE INDEX sightings_pair ON sightings(page_url, media_url);
    CREATE INDEX sightings_site ON sightings(site);
    CREATE TABLE sighting_events (
        id INTEGER PRIMARY KEY,
        sighting_id INTEGER NOT NULL REFERENCES sightings(id),
        at TEXT NOT NULL,
        status TEXT NOT NULL,
        reason TEXT,
        observation_id INTEGER
    );
    CREATE INDEX sighting_events_sighting ON sighting_events(sighting_id);
    INSERT INTO sighting_events (sighting_id, at, status, reason)
        SELECT id, first_seen, status, 'first seen' FROM sightings;
    CREATE TABLE visits (
        id TEXT PRIMARY KEY,
        site TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        outcome TEXT,
        pages INTEGER NOT NULL DEFAULT 0,
        detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX visits_site ON visits(site, started_at);
    CREATE TABLE visit_pages (
        visit_id TEXT NOT NULL REFERENCES visits(id),
        url TEXT NOT NULL,
        role TEXT NOT NULL,
        state TEXT NOT NULL,
        http_status INTEGER,
        final_url TEXT,
        outcome TEXT,
        reason TEXT,
        metadata TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (visit_id, url)
    );
    CREATE INDEX visit_pages_state ON visit_pages(visit_id, state);
    CREATE TABLE links (
        from_url TEXT NOT NULL,
        to_url TEXT NOT NULL,
        from_host TEXT NOT NULL,
        to_host TEXT NOT NULL,
        to_site TEXT,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        PRIMARY KEY (from_url, to_url)
    );
    CREATE INDEX links_to ON links(to_url);
    CREATE TABLE url_validators (
        url TEXT PRIMARY KEY,
        etag TEXT,
        last_modified TEXT,
        sha256 TEXT,
        http_status INTEGER,
        content_type TEXT,
        checked_at TEXT NOT NULL
    );
    """,
    # 5: the rules moved out of SQL: a sighting's revision for compare-and-set writes, its status time always
    # set, and observations found by (page, media) to replay a copy's history.
    """
    ALTER TABLE sightings ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
    UPDATE sightings SET status_at = first_seen WHERE status_at IS NULL;
    CREATE INDEX observations_pair ON observations(page_url, media_url);
    """,
    # 6: unchanged revisits: what each page showed when last read, replayed when it answers 304.
    """
    CREATE TABLE page_readings (
        url TEXT PRIMARY KEY,
        etag TEXT,
        last_modified TEXT,
        read_at TEXT NOT NULL,
        content TEXT NOT NULL
    );
    """,
    # 7: retroactive matching at a million media: each hashed media's PDQ hashes and video frames, and its
    # pHash, as one short row streamed in order, so a new case is compared without reading the signals'
    # text (ORB keypoints are ~38 KB a media). Hex, not packed bytes, so that this step fills the table in
    # SQL: SQLite before 3.41 has no unhex(). A vPDQ value is frame lines "NUMBER,QUALITY,HEX,SECONDS\n";
    # the recursive part walks them line by line (at most 200 characters each, as our hasher writes them).
    """
    CREATE TABLE media_codes (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL REFERENCES media(sha256),
        pdq TEXT NOT NULL,
        phash TEXT NOT NULL,
        keypoints INTEGER NOT NULL
    );
    INSERT INTO media_codes (sha256, pdq, phash, keypoints)
    WITH RECURSIVE frame(sha256, value, at, line) AS (
        SELECT sha256, value, 1, NULL FROM media_signals WHERE kind = 'vpdq'
        UNION ALL
        SELECT sha256, value, at + instr(substr(value, at, 200), char(10)), substr(value, at, 200)
        FROM frame WHERE instr(substr(value, at, 200), char(10)) > 0
    ),
    after_number(sha256, rest) AS (
        SELECT sha256, substr(line, instr(line, ',') + 1) FROM frame WHERE line IS NOT NULL
    ),
    code(sha256, kind, hex) AS (
        SELECT sha256, kind, CASE WHEN kind IN ('pdq', 'phash') THEN value END FROM media_signals
        UNION ALL
        SELECT sha256, 'pdq', substr(rest, instr(rest, ',') + 1, 64) FROM after_number
    )
    SELECT m.sha256, coalesce(group_concat(CASE WHEN c.kind = 'pdq' THEN c.hex END, ''), ''),
           coalesce(group_concat(CASE WHEN c.kind = 'phash' THEN c.hex END, ''), ''), max(c.kind = 'orb')
    FROM media m JOIN code c ON c.sha256 = m.sha256
    GROUP BY m.sha256 ORDER BY m.rowid;
    """,
    # 8: withdrawal: a case whose hashes and sightings were deleted at the victim's request stays as a name,
    # so it is not reopened by mistake and its audit events keep their subject.
    """
    ALTER TABLE cases ADD COLUMN withdrawn_at TEXT;
    """,
    # 9: a report reads what each page with a sighting said of itself (its uploader) by URL, across visits.
    """
    CREATE INDEX visit_pages_url ON visit_pages(url);
    """,
    # 10: takedown notices (one per host and case, their items and evidence as JSON) and their history.
    """
    CREATE TABLE notices (
        id INTEGER PRIMARY KEY,
        case_id TEXT NOT NULL REFERENCES cases(id),
        host TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        deadline_at TEXT,
        body TEXT NOT NULL
    );
    CREATE INDEX notices_case ON notices(case_id, status);
    CREATE TABLE notice_events (
        id INTEGER PRIMARY KEY,
        notice_id INTEGER NOT NULL REFERENCES notices(id),
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        what TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE INDEX notice_events_notice ON notice_events(notice_id);
    """,
    # 11: alerts: a case's contacts (e-mail, webhooks with their signing secret) and every attempt to deliver
    # an alert to one, with the alert itself (links and hashes) to retry it as sent; sightings and status
    # moves found by time, for the alerts of a visit.
    """
    CREATE TABLE alert_contacts (
        id INTEGER PRIMARY KEY,
        case_id TEXT NOT NULL REFERENCES cases(id),
        channel TEXT NOT NULL,
        target TEXT NOT NULL,
        secret TEXT,
        added_at TEXT NOT NULL,
        UNIQUE (case_id, target)
    );
    CREATE TABLE alert_deliveries (
        id INTEGER PRIMARY KEY,
        alert_key TEXT NOT NULL,
        case_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        target TEXT NOT NULL,
        at TEXT NOT NULL,
        outcome TEXT NOT NULL,
        reason TEXT,
        attempt INTEGER NOT NULL,
        alert TEXT NOT NULL
    );
    CREATE INDEX alert_deliveries_alert ON alert_deliveries(alert_key, channel, target);
    CREATE INDEX alert_deliveries_case ON alert_deliveries(case_id, at);
    CREATE INDEX sightings_first_seen ON sightings(first_seen);
    CREATE INDEX sighting_events_at ON sighting_events(status, at);
    """,
    # 12: the review queue. A sighting keeps what an analyst decided of it (confirmed, rejected); each
    # decision is kept with who took it, when and why; a rejection puts the media on its reference's
    # allowlist (SHA-256 and PDQ), so the same false candidate is not recorded again. The queue is read
    # through a partial index: the undecided candidates are few beside every sighting.
    """
    ALTER TABLE sightings ADD COLUMN review TEXT;
    CREATE INDEX sightings_awaiting_review ON sightings(first_seen, id) WHERE verdict = 'needs_review' AND review IS NULL;
    CREATE TABLE reviews (
        id INTEGER PRIMARY KEY,
        sighting_id INTEGER NOT NULL REFERENCES sightings(id),
        case_id TEXT NOT NULL REFERENCES cases(id),
        reference_id INTEGER NOT NULL REFERENCES refs(id),
        decision TEXT NOT NULL,
        actor TEXT NOT NULL,
        at TEXT NOT NULL,
        why TEXT NOT NULL
    );
    CREATE INDEX reviews_case ON reviews(case_id);
    CREATE INDEX reviews_sighting ON reviews(sighting_id);
    CREATE TABLE allowlist (
        reference_id INTEGER NOT NULL REFERENCES refs(id),
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        review_id INTEGER NOT NULL REFERENCES reviews(id),
        PRIMARY KEY (reference_id, kind, value)
    );
    CREATE INDEX allowlist_review ON allowlist(review_id);
    """,
    # 13: dashboard accounts: a name, a role and an argon2 hash of the password (never the password).
    """
    CREATE TABLE users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    """,
    # 14: the dashboard's per-account choices (blur strength, a daily reveal limit), the moment before which
    # an account's sessions no longer count (a logout ends every copy of its cookie), and cases restricted
    # to named accounts: a case with no row here is open to every account.
    """
    ALTER TABLE users ADD COLUMN blur INTEGER NOT NULL DEFAULT 12;
    ALTER TABLE users ADD COLUMN daily_reveals INTEGER;
    ALTER TABLE users ADD COLUMN sessions_from TEXT;
    CREATE TABLE case_access (
        case_id TEXT NOT NULL REFERENCES cases(id),
        user_name TEXT NOT NULL,
        PRIMARY KEY (case_id, user_name)
    );
    CREATE INDEX audit_events_actor ON audit_events(actor, action, at);
    """,
)
