"""`spreadtrace serve`: the dashboard, on loopback unless told otherwise."""

from __future__ import annotations

import ipaddress

import click

from spreadtrace.app import App


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback exposes reported material to the network.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.pass_obj
def serve(app: App, host: str, port: int) -> None:
    """Serve the web dashboard (add accounts first: spreadtrace user add NAME --role ROLE)."""
    import uvicorn  # here: every other command starts without loading the web stack

    from dashboards.web import create_app

    asgi = create_app(app.home, app.settings)
    if _loopback(host):
        click.echo(f"dashboard on http://{host}:{port}/ (loopback only: this machine alone can reach it)", err=True)
    else:
        click.echo(f"dashboard on http://{host}:{port}/", err=True)
        click.echo(f"warning: listening on {host}, not loopback: other machines can reach the dashboard, over "
                   "plain HTTP; put TLS in front of it", err=True)  # fmt: skip
    if not app.store.users():
        click.echo("warning: no accounts yet, nobody can log in (spreadtrace user add NAME --role admin)", err=True)
    uvicorn.run(asgi, host=host, port=port, log_level="warning", server_header=False)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
