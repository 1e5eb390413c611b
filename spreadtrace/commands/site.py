"""`spreadtrace site add|list`: the registry of hosting sites to visit."""

from __future__ import annotations

import click
from rich.table import Table

from crawler.sites import Site
from spreadtrace.app import App


@click.group()
def site() -> None:
    """Register hosting sites to visit (stored in the sites.toml registry)."""


@site.command("add")
@click.argument("name")
@click.argument("start_urls", nargs=-1, required=True, metavar="START_URL...")
@click.option("--allow-domain", "allowed", multiple=True, help="Domain whose pages are followed (repeatable).")
@click.option("--every", default="1d", show_default=True, help="Revisit interval: 30m, 6h, 1d, 2w.")
@click.option("--delay", type=float, default=None, help="Seconds between requests to this site.")
@click.option("--replace", is_flag=True, help="Replace an existing entry of the same name.")
@click.pass_obj
def site_add(
    app: App, name: str, start_urls: tuple[str, ...], allowed: tuple[str, ...], every: str, delay: float | None,
    replace: bool,
) -> None:  # fmt: skip
    """Add site NAME, crawled from START_URL within its domains."""
    registry = app.sites()
    registry.add(Site(name, start_urls, allowed, every, delay), replace=replace)
    registry.save()
    app.out.print(f"site {name} saved in {registry.path}", markup=False, highlight=False)


@site.command("list")
@click.pass_obj
def site_list(app: App) -> None:
    """List registered sites."""
    registry = app.sites()
    if not len(registry):
        app.out.print(f"no sites in {registry.path} (add one: spreadtrace site add NAME URL)", markup=False)
        return
    table = Table("site", "start URLs", "allowed domains", "every")
    for s in registry:
        table.add_row(s.name, "\n".join(s.start_urls), ", ".join(s.allowed_domains), s.every)
    app.out.print(table)
