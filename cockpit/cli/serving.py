"""`cockpit serve`: the online prediction service, and `cockpit serve token --rotate`."""

from __future__ import annotations

import contextlib
import signal
import sys
from pathlib import Path
from typing import Any

import click

from cockpit.cli.context import CliContext, cli_context, emit_json
from cockpit.cli.options import FiniteFloat

pass_cli = click.make_pass_decorator(CliContext)


def _listen(host: str, port: int):
    """A bound socket (so a busy port is one clear error, and --port 0 picks a free one)."""
    import socket

    from cockpit.errors import CockpitError

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise CockpitError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise CockpitError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def _server(config):
    """uvicorn's server, except that SIGINT/SIGTERM end it cleanly (exit 0, the request log
    flushed) instead of being raised again after the graceful shutdown."""
    import uvicorn

    class CleanExitServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):
            wanted = (signal.SIGINT, signal.SIGTERM)
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in wanted}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return CleanExitServer(config)


def _stdout_is_terminal() -> bool:
    """A new token is printed only to a person at a terminal, never into a pipe or log file."""
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _routing_line(routing: dict[str, Any]) -> str:
    parts = []
    for alias in ("production", "canary", "shadow"):
        if alias in routing:
            entry = routing[alias]
            percent = f" at {entry['percent']:g}%" if entry.get("percent") else ""
            parts.append(f"{alias} v{entry['version']}{percent}")
    return ", ".join(parts)


# The service's limits (deployment.serving.Limits and the body timeout): each shown with its
# default, in this order in --help.
LIMITS = (
    (
        "--header-timeout",
        10.0,
        FiniteFloat(0.1, 3600),
        "Seconds a connection may take to send its request headers (slow clients are closed).",
    ),
    (
        "--body-timeout",
        30.0,
        FiniteFloat(0.1, 3600),
        "Seconds a request's body may take once its headers are in (slower: 408, counted as aborted).",
    ),
    ("--keep-alive", 5, click.IntRange(1, 3600), "Seconds an idle keep-alive connection stays open."),
    (
        "--max-connections",
        1000,
        click.IntRange(1, 1_000_000),
        "Connections open at once; more are answered 503.",
    ),
    (
        "--max-header-bytes",
        16_384,
        click.IntRange(1024, 1_048_576),
        "Largest request line plus headers, in bytes.",
    ),
)


def _limit_options(function):
    for name, default, kind, text in reversed(LIMITS):
        function = click.option(name, default=default, show_default=True, type=kind, help=text)(function)
    return function


@click.group(invoke_without_command=True)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; any address other than loopback requires the API token.",
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free port, printed at start).",
)
@click.option("--require-token", is_flag=True, help="Require the API token even on loopback.")
@click.option(
    "--bundle",
    "bundle",
    type=click.Path(file_okay=False, path_type=Path),
    help="Serve a bundle (cockpit package) instead of the workspace's registry; "
    "the token then comes from $COCKPIT_SERVE_TOKEN.",
)
@click.option(
    "--log",
    "log_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --bundle: the request log, one JSON line per request (default: requests.jsonl in the bundle).",
)
@_limit_options
@click.option(
    "--keep-days",
    type=click.IntRange(1, 100_000),
    help="Keep the request log's rows this many days (older ones are removed at start and "
    "hourly; their per-day figures are kept for monitoring). Default: keep every row.",
)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    require_token: bool,
    bundle: Path | None,
    log_file: Path | None,
    header_timeout: float,
    body_timeout: float,
    keep_alive: int,
    max_connections: int,
    max_header_bytes: int,
    keep_days: int | None,
) -> None:
    """Run the online prediction service: POST /predict, GET /health, GET /openapi.json,
    GET /metrics (Prometheus).

    Routing follows the registry (production, canary, shadow, overrides, fallback)
    without a restart; every request is logged to the workspace. Ctrl-C stops it
    after the log is written.
    """
    if ctx.invoked_subcommand is not None:
        return
    from cockpit.deployment.serving import Limits, server_config

    limits = Limits(header_timeout, keep_alive, max_connections, max_header_bytes)
    if bundle is not None:
        if keep_days is not None:
            raise click.UsageError("--keep-days is for the workspace's request log, not --bundle")
        _serve_bundle(bundle, log_file, host, port, require_token, limits, body_timeout)
        return
    from cockpit.deployment.serving import Service
    from cockpit.deployment.serving_token import is_loopback, rotate_token, token_hash

    cli_ctx = cli_context(ctx)
    ws, project = cli_ctx.workspace(), cli_ctx.project()
    needs_token = require_token or not is_loopback(host)
    if needs_token and token_hash(ws) is None and not _stdout_is_terminal():
        from cockpit.errors import CockpitError

        raise CockpitError(
            "the service needs an API token and none is set; make one first "
            "with `cockpit serve token --rotate --to-file PATH` (a new token is "
            "printed only on a terminal)"
        )
    sock = _listen(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    service = Service(
        ws.dir,
        project.name,
        needs_token,
        address=f"{shown_host}:{bound_port}",
        keep_days=keep_days,
        body_timeout=body_timeout,
    )
    try:
        service.open()
        # made once the service can start, so a token is never created and not shown
        new_token = rotate_token(ws) if needs_token and token_hash(ws) is None else None
    except BaseException:
        service.close()
        sock.close()
        raise
    click.echo(
        f"serving project {project.name!r} on http://{shown_host}:{bound_port} "
        f"({_routing_line(service.scorer.routing)})"
    )
    if new_token:
        click.echo(f"API token (shown once, keep it secret): {new_token}")
    if needs_token:
        click.echo(
            "requests need 'Authorization: Bearer <token>' (GET /health is open); "
            "`cockpit serve token --rotate` makes a new one"
        )
    click.echo("Ctrl-C stops the service after the request log is written")
    try:
        _server(server_config(service.app(), limits, lifespan="on")).run(sockets=[sock])
    finally:
        service.close()
        sock.close()
    log, counted = service.log, service.log.counted
    apart = [
        f"{counted['refused']} refused for the token" if counted["refused"] else "",
        f"{counted['aborted']} aborted by their client" if counted["aborted"] else "",
        f"{log.spilled} rows written to {ws.dir / 'logs'} instead" if log.spilled else "",
        f"{log.lost} rows LOST (the disk is full)" if log.lost else "",
        f"{log.counts_spilled} refused/aborted counts written to {ws.dir / 'logs'} instead"
        if log.counts_spilled
        else "",
        f"{log.counts_lost} refused/aborted counts LOST (the disk is full)" if log.counts_lost else "",
    ]
    click.echo(
        f"stopped: {service.served} requests answered, {log.written} rows written to the request log"
        + "".join(f"; {part}" for part in apart if part)
    )


def _serve_bundle(
    folder: Path,
    log_file: Path | None,
    host: str,
    port: int,
    require_token: bool,
    limits,
    body_timeout: float,
) -> None:
    import os

    from cockpit.deployment.bundle_server import TOKEN_ENV, BundleService
    from cockpit.deployment.serving import server_config
    from cockpit.deployment.serving_token import is_loopback
    from cockpit.errors import CockpitError

    token = os.environ.get(TOKEN_ENV) or None
    if (require_token or not is_loopback(host)) and not token:
        raise CockpitError(
            f"serving a bundle on {host} needs an API token: set {TOKEN_ENV} "
            f"(e.g. docker run -e {TOKEN_ENV}=...)"
        )
    service = BundleService(folder, log_file or folder / "requests.jsonl", token, body_timeout=body_timeout)
    for warning in service.warnings:
        click.echo(f"warning: {warning}", err=True)
    sock = _listen(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    click.echo(
        f"serving bundle v{service.config['version']} of {service.project.name!r} on "
        f"http://{bound_host}:{bound_port}; requests logged to {service.log_path}"
    )
    try:
        _server(server_config(service.app(), limits)).run(sockets=[sock])
    finally:
        sock.close()
        service.close()
    click.echo(f"stopped: {service.served} requests answered")


@serve.command("token")
@click.option(
    "--rotate", is_flag=True, help="Make a new token (the old one stops working) and print it once."
)
@click.option(
    "--to-file",
    "to_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --rotate: write the new token to this file (0600) instead of printing it.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def token(ctx: CliContext, rotate: bool, to_file: Path | None, as_json: bool) -> None:
    """Show whether the service's API token is set, or rotate it (--rotate prints it once, or
    writes it to --to-file)."""
    from cockpit.deployment.serving_token import rotate_token, rotate_token_to_file, token_info

    if to_file and not rotate:
        raise click.UsageError(
            "--to-file needs --rotate: only the token's hash is stored, so "
            "the current one cannot be shown again"
        )
    ws = ctx.workspace()
    new = None
    if rotate and to_file:
        rotate_token_to_file(ws, to_file)
    elif rotate:
        new = rotate_token(ws)
    info = token_info(ws)
    if as_json:
        emit_json(
            {
                **info,
                **({"token": new} if new else {}),
                **({"file": str(to_file)} if rotate and to_file else {}),
            }
        )
    elif rotate and to_file:
        click.echo(f"new token written to {to_file} (mode 0600); the previous token no longer works")
    elif new:
        click.echo(new)
        click.echo("shown once: the previous token no longer works", err=True)
    elif info["set"]:
        click.echo(f"a token is set (created {info['created_at']}); only its hash is stored")
    else:
        click.echo("no token yet: `cockpit serve token --rotate` makes one")


COMMANDS = [serve]
