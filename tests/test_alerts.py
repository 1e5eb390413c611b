"""Alerts: built from a record the real Tracker filled, delivered to a real SMTP server and a real webhook
receiver on loopback, each once; failures retried with backoff, recorded, and tried again next run; never
the picture itself. One crawl of a simulated site shows `crawl` delivering its visit's alerts."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from matcher import hash_media
from simsites.corpus import TRANSFORMS, encode, sample_image
from tests.local_smtp import LocalSMTP
from tests.test_end_to_end import STARTS, spreadtrace
from tests.test_tracker_store_contract import observation
from tracker import PageState, Tracker, open_store
from tracker.alerts import Alert, InvalidContact, UnsafeAlert, alerts_since, deliver, validate_email, validate_webhook
from tracker.alerts.emails import alert_message
from tracker.alerts.webhook import SCHEMA, payload
from tracker.states import AlertKind, Channel, DeliveryOutcome, Status

BEFORE, REMOVED_AT, SINCE, VISIT = "2026-03-01T10:00:00Z", "2026-03-02T10:00:00Z", "2026-03-03T00:00:00Z", "2026-03-03T10:00:00Z"
BOARD, TUBE = "http://board.example", "http://tube.example"
FAST = {"SPREADTRACE_WEBHOOK_ALLOW_HTTP": "1", "SPREADTRACE_WEBHOOK_BACKOFF": "0.01"}
MAIL_TO = {"c1": "team@helpline.example", "c2": "advocate@support.example"}


@pytest.fixture(scope="module")
def media(hash_options):
    """Three reported pictures' copies: two plain re-encodings, and a watermarked one only local features could
    confirm (hashed without them, it stays a needs-review candidate)."""
    global_only = dataclasses.replace(hash_options, local_features=False)
    copies = {"rocket": encode(sample_image("rocket"), "JPEG", 95), "coffee": encode(sample_image("coffee"), "JPEG", 95),
              "chelsea": TRANSFORMS["watermarked"].apply(sample_image("chelsea"))[0]}  # fmt: skip
    return {name: (data, hash_media(data, global_only)) for name, data in copies.items()}


@pytest.fixture(scope="module")
def references(hash_options):
    names = ("rocket", "coffee", "chelsea")
    return {name: hash_media(encode(sample_image(name), "PNG"), hash_options, reference=True) for name in names}


@pytest.fixture
def store(tmp_path, policy, references, media):
    """Case c1 (rocket, chelsea) and c2 (coffee), observed through the real Tracker: rocket on the board first
    seen before SINCE, removed, back at VISIT; rocket new on the tube, coffee new on the board, and chelsea a
    needs-review candidate, all at VISIT."""
    opened = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    tracker = Tracker(opened, dataclasses.replace(policy, pdq_max_distance=10))  # chelsea's copy lands in the gray zone
    for case_id, names in (("c1", ("rocket", "chelsea")), ("c2", ("coffee",))):
        opened.ensure_case(case_id)
        for name in names:
            tracker.add_reference(case_id, references[name], f"{name}.png")
    for _, hashes in media.values():
        tracker.record_media(hashes)

    def seen(name: str, at: str, site: str, page: str, **changes: object) -> None:
        url = BOARD if site == "board" else TUBE
        tracker.observe(observation(observed_at=at, sha256=media[name][1].sha256, site=site, page_url=f"{url}/{page}",
                                    media_url=f"{url}/m/{name}.jpg", **changes))  # fmt: skip

    seen("rocket", BEFORE, "board", "t/1")
    seen("rocket", REMOVED_AT, "board", "t/1", page_state=PageState.GONE, note="page is up but no longer shows it")
    seen("rocket", VISIT, "board", "t/1")
    seen("rocket", VISIT, "tube", "v/7")
    seen("coffee", VISIT, "board", "t/2")
    seen("chelsea", VISIT, "board", "t/3")
    yield opened
    opened.close()


def sighting_at(store, case_id: str, page: str) -> int:
    return next(s.id for s in store.sightings(case_id) if s.page_url == page)


# -- what alerts are made of -----------------------------------------------------------------------


def test_alerts_since_are_new_sightings_and_reappearances_of_confirmed_matches_only(store, media):
    found = alerts_since(store, SINCE)
    assert [(a.kind, a.case_id, a.page_url) for a in found] == [
        (AlertKind.REAPPEARED, "c1", f"{BOARD}/t/1"),
        (AlertKind.NEW_SIGHTING, "c1", f"{TUBE}/v/7"),
        (AlertKind.NEW_SIGHTING, "c2", f"{BOARD}/t/2"),
    ]
    candidate = next(s for s in store.sightings("c1") if s.page_url == f"{BOARD}/t/3")
    assert not candidate.confirmed and candidate.first_seen == VISIT  # there, but not an alert
    back = found[0]
    board_copy = sighting_at(store, "c1", f"{BOARD}/t/1")
    assert (back.sighting_id, back.at, back.status, back.host) == (board_copy, VISIT, Status.REAPPEARED, "board.example")
    assert (back.media_url, back.media_sha256) == (f"{BOARD}/m/rocket.jpg", media["rocket"][1].sha256)
    assert back.key == f"reappeared:{back.sighting_id}:{VISIT}" and found[1].key == f"new_sighting:{found[1].sighting_id}"
    # The first sighting of the board copy was before SINCE: no new-sighting alert for it, ever again.
    assert [a.kind for a in alerts_since(store, BEFORE) if a.sighting_id == board_copy] == [AlertKind.NEW_SIGHTING, AlertKind.REAPPEARED]
    assert [a.page_url for a in alerts_since(store, SINCE, sites={"tube"})] == [f"{TUBE}/v/7"]
    assert alerts_since(store, "2026-03-03T10:00:01Z") == []


def test_an_alert_never_carries_the_picture(store, media):
    data = media["rocket"][0]
    with pytest.raises(UnsafeAlert, match="media_url"):
        Alert(AlertKind.NEW_SIGHTING, "c1", VISIT, 1, media_url="data:image/jpeg;base64," + base64.b64encode(data).decode())
    with pytest.raises(UnsafeAlert, match="page_url"):
        Alert(AlertKind.NEW_SIGHTING, "c1", VISIT, 1, page_url=f"{BOARD}/p?img=" + base64.urlsafe_b64encode(data).decode())
    with pytest.raises(UnsafeAlert, match="media_sha256"):
        Alert(AlertKind.NEW_SIGHTING, "c1", VISIT, 1, media_sha256=data[:64].hex())
    with pytest.raises(UnsafeAlert, match="urls_online"):
        Alert(AlertKind.OVERDUE_NOTICE, "c1", VISIT, notice_id="n-1", urls_online=("blob:http://board.example/x",))
    found = alerts_since(store, SINCE)
    body = payload("c1", found, VISIT, "d-1").decode()
    text = alert_message("c1", found, "team@helpline.example").as_string()
    for delivered in (body, text):
        for name, (picture, _) in media.items():
            assert base64.b64encode(picture[:48]).decode() not in delivered and picture[:48].hex() not in delivered, name
        assert "data:" not in delivered and "base64" not in delivered.lower()
    for alert in json.loads(body)["alerts"]:  # links, hashes, times, statuses, ids: nothing else
        assert all(isinstance(value, str | int) for value in alert.values())


def test_contacts_are_checked_before_they_are_kept():
    assert validate_email("team@helpline.example") == "team@helpline.example"
    header_injection = "team@helpline.example\nBcc: x@y.example"
    for bad in ("team", "team@", "a@b", "a b@helpline.example", header_injection, "<team@helpline.example>", "a..b@helpline.example"):
        with pytest.raises(InvalidContact):
            validate_email(bad)
    assert validate_webhook("https://hooks.example/spreadtrace", allow_http=False)
    with pytest.raises(InvalidContact, match="need https"):
        validate_webhook("http://hooks.example/spreadtrace", allow_http=False)
    assert validate_webhook("http://127.0.0.1:8080/hook", allow_http=True)
    for bad in ("ftp://hooks.example/x", "https://user:pw@hooks.example/x", "https:///x", "https://hooks.example/a b",
                "hooks.example", "https://hooks.example/x#frag"):  # fmt: skip
        with pytest.raises(InvalidContact):
            validate_webhook(bad, allow_http=True)


# -- e-mail ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smtp() -> Iterator[LocalSMTP]:
    server = LocalSMTP().start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(smtp):
    smtp.received.clear()
    smtp.mode = "ok"
    yield smtp
    smtp.mode = "ok"


def add_mail_contacts(store) -> None:
    for case_id, address in MAIL_TO.items():
        store.add_contact(case_id, Channel.EMAIL, address, None, SINCE)


def test_one_email_per_case_and_contact_a_run_with_links_and_hashes_only(store, mailbox, media):
    add_mail_contacts(store)
    found = alerts_since(store, SINCE)
    report = deliver(found, store, mailbox.settings())
    assert (len(report.delivered), report.failed, report.warnings) == (3, [], [])
    messages = {r.recipients[0]: r.message for r in mailbox.received}
    assert len(mailbox.received) == 2 and set(messages) == set(MAIL_TO.values())
    first = messages["team@helpline.example"]
    assert first["Subject"] == "spreadtrace, case c1: 1 new sighting, 1 reappearance"
    assert messages["advocate@support.example"]["Subject"] == "spreadtrace, case c2: 1 new sighting"
    assert first["From"] == "takedowns@helpline.example" and first["Auto-Submitted"] == "auto-generated"
    assert not first.is_multipart() and first.get_content_type() == "text/plain" and list(first.iter_attachments()) == []
    text = first.get_content()
    for url in (f"{TUBE}/v/7", f"{TUBE}/m/rocket.jpg", f"{BOARD}/t/1", f"{BOARD}/m/rocket.jpg", media["rocket"][1].sha256):
        assert url in text
    assert f"{BOARD}/t/2" not in text and f"{BOARD}/t/3" not in text  # c2's copy, and the candidate
    assert "online again since 2026-03-03T10:00:00Z" in text

    again = deliver(alerts_since(store, BEFORE), store, mailbox.settings())  # a wider window: only the old one is new
    assert [d.alert_key for d in again.delivered] == [f"new_sighting:{sighting_at(store, 'c1', f'{BOARD}/t/1')}"]
    assert deliver(alerts_since(store, BEFORE), store, mailbox.settings()).delivered == []  # a second run: nothing
    assert len(mailbox.received) == 3


def test_a_refused_email_is_recorded_and_sent_at_the_next_run_once(store, mailbox):
    add_mail_contacts(store)
    found = alerts_since(store, SINCE)
    mailbox.mode = "refuse"
    refused = deliver(found, store, mailbox.settings())
    assert refused.delivered == [] and {d.outcome for d in refused.failed} == {DeliveryOutcome.FAILED}
    assert all("550" in d.reason for d in refused.failed) and len(refused.failures()) == 2  # a line per contact
    assert [d.outcome for d in store.deliveries("c1")] == [DeliveryOutcome.FAILED] * 2
    mailbox.mode = "ok"
    retried = deliver([], store, mailbox.settings())  # the next run: nothing new, the refused ones owed
    assert sorted(d.alert_key for d in retried.delivered) == sorted(a.key for a in found)
    assert {d.attempt for d in retried.delivered} == {2}
    assert deliver(found, store, mailbox.settings()).delivered == []  # delivered: never sent twice
    assert len(mailbox.received) == 2


def test_without_smtp_email_contacts_get_one_warning_and_nothing_is_claimed(store, mailbox):
    add_mail_contacts(store)
    report = deliver(alerts_since(store, SINCE), store, {})
    assert (report.delivered, report.failed) == ([], []) and len(report.warnings) == 1
    assert "3 alert(s) not e-mailed" in report.warnings[0] and "SPREADTRACE_SMTP_HOST" in report.warnings[0]
    assert store.deliveries() == []
    assert len(deliver(alerts_since(store, SINCE), store, mailbox.settings()).delivered) == 3  # once it is set


def test_no_contacts_nothing_to_do(store):
    report = deliver(alerts_since(store, SINCE), store, {})
    assert (report.delivered, report.failed, report.warnings) == ([], [], [])


# -- webhooks --------------------------------------------------------------------------------------


class Receiver:
    """A webhook receiver on loopback: answers each POST with the next of ``answers`` (then 200), keeps them."""

    def __init__(self) -> None:
        self.answers: list[int] = []
        self.posts: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.answers.pop(0) if receiver.answers else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture(scope="module")
def receiver_server() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def receiver(receiver_server):
    receiver_server.answers.clear()
    receiver_server.posts.clear()
    return receiver_server


def add_webhook(store, receiver, case_id: str = "c1") -> str:
    secret = "k" * 64
    store.add_contact(case_id, Channel.WEBHOOK, receiver.url, secret, SINCE)
    return secret


def test_one_signed_post_per_case_and_webhook_a_run(store, receiver, media):
    secret = add_webhook(store, receiver)
    found = alerts_since(store, SINCE)
    report = deliver(found, store, FAST)
    assert len(report.delivered) == 2 and report.failed == []
    [(headers, body)] = receiver.posts
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-spreadtrace-signature"], expected)
    assert headers["content-type"] == "application/json" and headers["x-spreadtrace-delivery"]
    document = json.loads(body)
    assert (document["schema"], document["case"], document["delivery"]) == (SCHEMA, "c1", headers["x-spreadtrace-delivery"])
    back, new = document["alerts"]
    assert new == {"key": found[1].key, "kind": "new_sighting", "case": "c1", "at": VISIT, "sighting_id": found[1].sighting_id,
                   "host": "tube.example", "page_url": f"{TUBE}/v/7", "media_url": f"{TUBE}/m/rocket.jpg",
                   "media_sha256": media["rocket"][1].sha256, "status": "online"}  # fmt: skip
    assert (back["kind"], back["status"], back["page_url"]) == ("reappeared", "reappeared", f"{BOARD}/t/1")
    assert deliver(found, store, FAST).delivered == [] and len(receiver.posts) == 1  # a second run: nothing new


def test_a_webhook_answering_500_twice_is_retried_with_backoff_and_delivered(store, receiver):
    add_webhook(store, receiver)
    receiver.answers[:] = [500, 503]
    waits: list[float] = []
    report = deliver(alerts_since(store, SINCE), store, {**FAST, "SPREADTRACE_WEBHOOK_BACKOFF": "1"}, sleep=waits.append)
    assert len(report.delivered) == 2 and report.failed == [] and waits == [1.0, 2.0]  # doubling
    assert len(receiver.posts) == 3 and len({body for _, body in receiver.posts}) == 1  # the same POST each time
    assert {(d.outcome, d.attempt) for d in store.deliveries("c1")} == {(DeliveryOutcome.DELIVERED, 1)}


def test_a_webhook_that_always_fails_is_recorded_failed_and_tried_again_next_runs_up_to_the_limit(store, receiver):
    add_webhook(store, receiver)
    receiver.answers[:] = [500] * 100
    settings = {**FAST, "SPREADTRACE_ALERT_ATTEMPTS": "2"}
    first = deliver(alerts_since(store, SINCE), store, settings)  # no exception escapes
    assert first.delivered == [] and len(first.failed) == 2 and len(receiver.posts) == 3
    [(case_id, channel, target, reason)] = first.failures()
    assert (case_id, channel, target) == ("c1", Channel.WEBHOOK, receiver.url)
    assert reason == f"webhook {receiver.url}: HTTP 500 Internal Server Error, after 3 tries"
    second = deliver([], store, settings)  # the next run tries again, once more (3 tries)
    assert len(second.failed) == 2 and len(receiver.posts) == 6 and {d.attempt for d in second.failed} == {2}
    assert deliver([], store, settings).failed == [] and len(receiver.posts) == 6  # tried as often as allowed
    receiver.answers.clear()
    by_hand = deliver([], store, settings, retry_all=True)  # `alerts send`: whatever the count
    assert len(by_hand.delivered) == 2 and {d.attempt for d in by_hand.delivered} == {3}


def test_a_webhook_refusal_is_not_retried_and_http_needs_the_setting(store, receiver):
    add_webhook(store, receiver)
    receiver.answers[:] = [404]
    refused = deliver(alerts_since(store, SINCE), store, FAST)
    assert len(receiver.posts) == 1 and "HTTP 404 Not Found (not retried)" in refused.failed[0].reason
    https_only = deliver([], store, {"SPREADTRACE_WEBHOOK_BACKOFF": "0.01"})  # the setting turned off since
    assert len(receiver.posts) == 1 and "need https" in https_only.failed[0].reason


def test_alerts_built_elsewhere_are_delivered_the_same_way(store, receiver, mailbox):
    """The deadline loop hands overdue notices over as Alerts."""
    add_webhook(store, receiver, "c2")
    store.add_contact("c2", Channel.EMAIL, MAIL_TO["c2"], None, SINCE)
    overdue = Alert(AlertKind.OVERDUE_NOTICE, "c2", "2026-03-05T10:00:00Z", notice_id="7", deadline="2026-03-05T09:00:00Z",
                    host="board.example", urls_online=(f"{BOARD}/t/2", f"{BOARD}/m/coffee.jpg"))  # fmt: skip
    report = deliver([overdue], store, {**FAST, **mailbox.settings()})
    assert len(report.delivered) == 2
    [alert] = json.loads(receiver.posts[0][1])["alerts"]
    assert alert == {"key": "overdue_notice:7:2026-03-05T09:00:00Z", "kind": "overdue_notice", "case": "c2",
                     "at": "2026-03-05T10:00:00Z", "host": "board.example", "notice_id": "7", "deadline": "2026-03-05T09:00:00Z",
                     "urls_online": [f"{BOARD}/t/2", f"{BOARD}/m/coffee.jpg"]}  # fmt: skip
    [received] = mailbox.received
    assert received.message["Subject"] == "spreadtrace, case c2: 1 overdue notice"
    assert f"online:  {BOARD}/m/coffee.jpg" in received.message.get_content()
    assert deliver([overdue], store, {**FAST, **mailbox.settings()}).delivered == []


# -- the command line --------------------------------------------------------------------------------


def secret_in(out: str, url: str) -> str:
    [secret] = [line.rsplit(" ", 1)[1] for line in out.splitlines() if line.startswith(f"webhook {url}: secret ")]
    assert len(secret) == 64
    return secret


def test_case_contacts_and_alerts_commands(run_cli, home, receiver):
    held = open_store(f"sqlite:///{home / 'spreadtrace.db'}")
    held.ensure_case("c1")
    held.close()
    refused = run_cli("case", "contacts", "c1", "--email", "team@helpline.example", "--webhook", receiver.url)
    assert refused.code == 2 and "need https" in refused.err
    assert "no contacts" in run_cli("case", "contacts", "c1").out  # nothing of a refused command is kept
    assert run_cli("case", "contacts", "c1", "--email", "not-an-address").code == 2
    added = run_cli("-s", "SPREADTRACE_WEBHOOK_ALLOW_HTTP=1", "case", "contacts", "c1", "--email", "team@helpline.example",
                    "--webhook", receiver.url)  # fmt: skip
    assert added.code == 0, added.err
    secret = secret_in(added.out, receiver.url)
    listed = run_cli("case", "contacts", "c1")
    assert "team@helpline.example" in listed.out and receiver.url in listed.out and secret not in listed.out  # shown once
    reopened = open_store(f"sqlite:///{home / 'spreadtrace.db'}")
    try:
        [event] = [e for e in reopened.audit_events("c1") if e.action == "contacts"]
        assert event.detail == {"added": ["team@helpline.example", receiver.url], "removed": []}
    finally:
        reopened.close()
    assert run_cli("case", "contacts", "c1", "--remove", "team@helpline.example").code == 0
    assert run_cli("case", "contacts", "c1", "--remove", "team@helpline.example").code == 2
    assert "nothing to deliver" in run_cli("alerts", "send").out
    assert run_cli("alerts", "send", "--since", "yesterday-ish").code == 2
    assert "no alerts delivered yet" in run_cli("alerts", "list").out


# -- one crawl ---------------------------------------------------------------------------------------


def test_a_crawl_delivers_its_visits_alerts_once(world, tmp_path, receiver, mailbox):
    home = tmp_path / "crawl-home"
    folder = tmp_path / "reported"
    folder.mkdir()
    for name, data in world.reference_files().items():
        (folder / name).write_bytes(data)
    assert spreadtrace(home, "case", "add", "victim-1", str(folder)).returncode == 0
    board = world.sites["board"]
    added = spreadtrace(home, "site", "add", "board", board.url(STARTS["board"]), "--allow-domain", board.host, "--delay", "0",
                        "--allow-private")  # fmt: skip
    assert added.returncode == 0, added.stderr
    overrides = {**FAST, **mailbox.settings(), "SPREADTRACE_EVIDENCE": "0"}
    settings = [arg for name, value in overrides.items() for arg in ("-s", f"{name}={value}")]
    contacts = spreadtrace(home, *settings, "case", "contacts", "victim-1", "--webhook", receiver.url, "--email", MAIL_TO["c1"])
    assert contacts.returncode == 0, contacts.stderr
    secret = secret_in(contacts.stdout, receiver.url)
    crawl = spreadtrace(home, *settings, "crawl", "--no-progress")
    assert crawl.returncode == 0, crawl.stderr
    [(headers, body)] = receiver.posts
    assert headers["x-spreadtrace-signature"] == "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    posted = {a["page_url"] for a in json.loads(body)["alerts"]}
    assert posted <= {p.page_url for p in world.planted if p.site == "board"}
    assert posted >= {p.page_url for p in world.planted if p.site == "board" and p.required}
    [received] = mailbox.received
    assert received.message["Subject"].startswith("spreadtrace, case victim-1: ") and "alerts: " in crawl.stderr
    listed = spreadtrace(home, "alerts", "list", "victim-1")
    assert listed.returncode == 0 and listed.stdout.count(" delivered (try 1)") == 2 * len(posted)
    assert spreadtrace(home, *settings, "alerts", "send", "--since", "1d").stdout.strip() == "nothing to deliver"
    assert len(receiver.posts) == 1 and len(mailbox.received) == 1
