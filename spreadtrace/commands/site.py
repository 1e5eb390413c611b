"""`spreadtrace site add|list|status`: the registry of hosting sites to visit, and how their visits went."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from crawler.sites import METADATA_FIELDS, add_site
from spreadtrace.app import App
from spreadtrace.errors import UserError


@click.group()
def site() -> None:
    """Register hosting sites to visit (stored in the sites.toml registry)."""


def _metadata(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    parsed = {}
    for value in values:
        name, sep, query = value.partition("=")
        if not sep or name not in METADATA_FIELDS:
            raise click.BadParameter(f"{value!r}: expected FIELD=SELECTOR, FIELD one of {', '.join(METADATA_FIELDS)}")
        parsed[name] = query
    return parsed


@site.command("add")
@click.argument("name")
@click.argument("start_urls", nargs=-1, required=True, metavar="START_URL...")
@click.option("--allow-domain", "allowed", multiple=True, help="Domain whose pages are followed (repeatable).")
@click.option("--every", default="1d", show_default=True, help="Revisit interval: 30m, 6h, 1d, 2w.")
@click.option("--cron", default=None, help='Revisit on a crontab schedule instead, e.g. "0 */6 * * *" (UTC).')
@click.option("--delay", type=float, default=None, help="Seconds between requests to this site.")
@click.option("--concurrency", type=int, default=None, help="Requests at once to each of the site's hosts.")
@click.option("--no-robots", is_flag=True, help="Do not obey robots.txt (it is obeyed by default).")
@click.option("--follow", multiple=True, metavar="REGEX", help="Follow only pages whose URL matches (repeatable).")
@click.option("--deny", multiple=True, metavar="REGEX", help="Never follow pages whose URL matches (repeatable).")
@click.option("--media", multiple=True, metavar="SELECTOR", help="Extra CSS/XPath selector for media (repeatable).")
@click.option("--metadata", multiple=True, callback=_metadata, metavar="FIELD=SELECTOR",
              help="Selector for title, uploader or uploaded (repeatable).")
@click.option("--removed-text", multiple=True, metavar="REGEX",
              help='Text that means "removed" on a page that still answers 200 (repeatable).')
@click.option("--max-pages", type=int, default=None, help="Pages per visit, at most.")
@click.option("--max-links", type=int, default=None,
              help="Links recorded per page, at most [default: SPREADTRACE_MAX_LINKS_PER_PAGE].")
@click.option("--abuse-contact", default=None, help="Where takedown notices for this host go.")
@click.option("--allow-private", is_flag=True,
              help="Allow loopback and private addresses (a site on a private network; test sites).")
@click.option("--replace", is_flag=True, help="Replace an existing entry of the same name.")
@click.pass_obj
def site_add(
    app: App, name: str, start_urls: tuple[str, ...], allowed: tuple[str, ...], every: str, cron: str | None,
    delay: float | None, concurrency: int | None, no_robots: bool, follow: tuple[str, ...], deny: tuple[str, ...],
    media: tuple[str, ...], metadata: dict[str, str], removed_text: tuple[str, ...], max_pages: int | None,
    max_links: int | None, abuse_contact: str | None, allow_private: bool, replace: bool,
) -> None:  # fmt: skip
    """Add site NAME, crawled from START_URL within its domains.

    The entry is checked as the registry checks it on load (ranges, patterns, selectors), so a site that
    is saved can be crawled."""
    path = Path(app.settings["SPREADTRACE_SITES_FILE"])
    add_site(
        path, name, start_urls, replace=replace, allowed_domains=allowed, every=every, delay=delay, cron=cron,
        concurrency=concurrency, robots=not no_robots, follow=follow, deny=deny, media=media, metadata=metadata,
        removed_text=removed_text, max_pages=max_pages, max_links=max_links, abuse_contact=abuse_contact,
        allow_private=allow_private,
    )  # fmt: skip
    app.out.print(f"site {name} saved in {path}")


@site.command("list")
@click.pass_obj
def site_list(app: App) -> None:
    """List registered sites."""
    registry = app.sites()
    if not len(registry):
        app.out.print(f"no sites in {registry.path} (add one: spreadtrace site add NAME URL)")
        return
    table = Table("site", "start URLs", "allowed domains", "schedule")
    for s in registry:
        table.add_row(s.name, "\n".join(s.start_urls), ", ".join(s.allowed_domains), s.schedule)
    app.out.print(table)


@site.command("status")
@click.argument("names", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def site_status(app: App, names: tuple[str, ...], as_json: bool) -> None:
    """Last and next visit of each site, and how the last one went."""
    from spreadtrace.status import site_statuses

    registry = app.sites()
    sites = [registry.get(name) for name in names] if names else list(registry)
    if not sites:
        raise UserError(f"no sites in {registry.path} (add one: spreadtrace site add NAME URL)")
    rows = site_statuses(app.store, app.home, sites)
    if as_json:
        import json

        app.out.print_json(json.dumps(rows))
        return
    table = Table("site", "schedule", "last visit", "outcome", "pages", "removed", "failed", "sightings", "next visit")
    for row in rows:
        table.add_row(
            row["site"], row["schedule"], row["last_started"] or "never", row["outcome"], str(row["pages"]),
            str(row["removed_pages"]), str(row["failed_pages"]), str(row["sightings"]), row["next_visit"] or "not scheduled",
        )  # fmt: skip
    app.out.print(table)
