"""Commands of a team's annotation round: ``annotators PROJECT add|list|revoke|log`` (personal
links) and ``serve PROJECT`` (the app in a browser, opened only by those links)."""
from __future__ import annotations

from datetime import datetime

import click

from ..store import open_project
from . import main, user_errors


def when(timestamp: float | None) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S") if timestamp else ""


@main.group(short_help="Annotators' personal links for 'workbench serve'.")
@click.argument("project", type=click.Path(dir_okay=False))
@click.pass_context
def annotators(ctx: click.Context, project: str) -> None:
    """Annotators' personal links for 'workbench serve': add, list, revoke, and the server's log."""
    ctx.obj = project


@annotators.command("add", short_help="Give NAME a personal link (printed once).")
@click.argument("name")
@click.option("--role", type=click.Choice(["annotator", "reviewer", "lead"]), default="annotator", show_default=True,
              help="annotator: labels their items; reviewer: also decides codebook changes; lead: also assigns, "
                   "closes rounds, adjudicates and sees everyone's labels")
@click.option("--base-url", help="the address annotators reach the server at (the proxy's https address behind "
                                 "one); default: the last one given, else where 'workbench serve' last served, "
                                 "else http://127.0.0.1:8000")
@click.pass_obj
@user_errors
def add(project: str, name: str, role: str, base_url: str | None) -> None:
    """Give NAME a personal link and a role (the link is printed once: only its hash is stored)."""
    from ..annotate.annotators import add_annotator

    url = add_annotator(open_project(project), name, base_url, role)
    click.echo(f"personal link of {name.strip()} ({role}; send it to them only; it is shown this once):\n{url}")


@annotators.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(["annotator", "reviewer", "lead"]))
@click.pass_obj
@user_errors
def role_(project: str, name: str, role: str) -> None:
    """Give NAME another ROLE (annotator, reviewer or lead)."""
    from ..annotate.annotators import set_role

    click.echo(f"{set_role(open_project(project), name, role)} is now {role}")


@annotators.command("list")
@click.pass_obj
@user_errors
def list_(project: str) -> None:
    """Every annotator with a link, and whether it is revoked."""
    from ..annotate.annotators import annotators as all_annotators

    rows = all_annotators(open_project(project))
    if not rows:
        click.echo("no annotators yet: add one with 'workbench annotators PROJECT add NAME'")
    for a in rows:
        if not a.linked:
            click.echo(f"  {a.name:<20} imported {when(a.created)} with their labels, no link yet (add one: "
                       f"'workbench annotators PROJECT add {a.name}')")
            continue
        state = f"revoked {when(a.revoked)}" if a.revoked else "active"
        click.echo(f"  {a.name:<20} {a.role:<10} link of {when(a.created)}  {state}")


@annotators.command(short_help="Revoke NAME's link; their sessions close.")
@click.argument("name")
@click.pass_obj
@user_errors
def revoke(project: str, name: str) -> None:
    """Revoke NAME's link: refused from now on, open sessions closed within seconds."""
    from ..annotate.annotators import revoke_annotator

    revoke_annotator(open_project(project), name)
    click.echo(f"revoked {name.strip()}'s link")


@annotators.command(short_help="The server's audit log.")
@click.option("--last", type=click.IntRange(1), help="only the last N events")
@click.pass_obj
@user_errors
def log(project: str, last: int | None) -> None:
    """The server's audit log: links added and revoked, logins, logouts, refusals (with address)."""
    from ..annotate.annotators import annotator_log

    for e in annotator_log(open_project(project), last):
        click.echo(f"{when(e['time'])}  {e['event']:<8} {e['annotator'] or '-':<16} {e['remote'] or '-':<16} "
                   f"{e['detail'] or ''}".rstrip())


@main.command(short_help="Serve the annotators' app in a browser.")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True, help="address to serve on")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--codebook-version", type=int, help="codebook version every session audits and maps (default: latest)")
@click.option("--certfile", type=click.Path(exists=True, dir_okay=False), help="TLS certificate (PEM)")
@click.option("--keyfile", type=click.Path(exists=True, dir_okay=False), help="TLS private key (PEM)")
@click.option("--behind-proxy", is_flag=True,
              help="trust X-Forwarded-For/-Proto from a reverse proxy on this machine (see the README's recipe)")
@user_errors
def serve(project: str, host: str, port: int, codebook_version: int | None, certfile: str | None,
          keyfile: str | None, behind_proxy: bool) -> None:
    """Serve the annotators' app in a browser: each annotator opens their personal link."""
    from ..annotate.annotators import active_names, remember_served_url
    from ..pipeline.code_view import working_version
    from ..tui.serve import AnnotatorServer, check_port, exposure_warning, port_error, served_url, tls_context

    store = open_project(project)
    if codebook_version is not None:
        working_version(store, codebook_version)
    names = active_names(store)
    context = tls_context(certfile, keyfile)
    check_port(host, port)  # a host not of this machine, or a taken port, first: nothing else matters then
    warning = exposure_warning(host, port, len(names), context is not None)
    if not behind_proxy:  # behind a proxy the links' address is the proxy's, which only --base-url knows
        remember_served_url(store, served_url(host, port, context is not None))
    store.close()
    if warning:
        click.echo(warning, err=True)
    scheme = "https" if context else "http"
    click.echo(f"serving {len(names)} annotators' personal links on {scheme}://{host}:{port}/a/… (Ctrl-C stops)",
               err=True)
    try:
        AnnotatorServer(project, host, port, codebook_version, context, behind_proxy).serve()
    except OSError as exc:  # taken between the check and the bind
        raise port_error(host, port, exc) from None
