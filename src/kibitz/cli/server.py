"""`kibitz server`: run a server, make a certificate, migrate, import; the group of every operator command.

The commands run on the configured database and keystore through the operator layer
(`kibitz.server.operator`), imported inside each command so that client commands start without it.
"""

from __future__ import annotations

from pathlib import Path

import click

from kibitz.cli import server_accounts, server_backup, server_keys
from kibitz.cli.context import json_option, print_json
from kibitz.cli.errors import SERVER_CANNOT_LISTEN, SERVER_CANNOT_START, CliError
from kibitz.cli.server_settings import data_dir_option, load_settings
from kibitz.cli.terminal import echo


@click.group()
def server() -> None:
    """Run a Kibitz server (configured by KIBITZ_* variables; flags win)."""


@server.command("run")
@click.option("--host", help="Address to listen on [default: 127.0.0.1].")
@click.option("--port", type=click.IntRange(1, 65535), help="Port to listen on [default: 8383].")
@data_dir_option
@click.option(
    "--tls-cert",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Serve HTTPS and WSS with this PEM certificate (chain) [env: KIBITZ_TLS_CERT].",
)
@click.option(
    "--tls-key",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The certificate's PEM private key [env: KIBITZ_TLS_KEY].",
)
@click.option(
    "--log-format",
    type=click.Choice(["auto", "text", "json"]),
    help="Log readable lines (text) or JSON lines (json); auto: text on a terminal, JSON otherwise "
    "[default: auto; env: KIBITZ_LOG_FORMAT].",
)
def server_run(
    host: str | None,
    port: int | None,
    data_dir: Path | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    log_format: str | None,
) -> None:
    """Serve the API, applying database migrations first.

    Plain HTTP is served only on a loopback address, or with KIBITZ_BEHIND_PROXY=1 and
    KIBITZ_TRUSTED_PROXIES naming the TLS-terminating proxies; anywhere else give --tls-cert and
    --tls-key (`kibitz server gen-cert` makes a self-signed pair for trials).
    """
    # Imported here so that the client commands start without loading the server stack.
    from kibitz.server.operator.database import check_startup
    from kibitz.server.runner import StartupFailure, serve
    from kibitz.server.tls import TlsSetupError

    settings = load_settings(
        host=host, port=port, data_dir=data_dir, tls_cert=tls_cert, tls_key=tls_key, log_format=log_format
    )
    try:
        serve(settings, check=lambda: check_startup(settings))
    except TlsSetupError as error:
        raise CliError(str(error)) from None
    except StartupFailure as error:
        raise CliError(
            error.message, SERVER_CANNOT_LISTEN if error.cannot_listen else SERVER_CANNOT_START
        ) from None


@server.command("gen-cert")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for cert.pem and key.pem [default: tls/ in the data directory].",
)
@click.option(
    "--host",
    "hosts",
    multiple=True,
    metavar="NAME",
    help="A host name or IP address clients use to reach the server (repeatable) "
    "[default: localhost, 127.0.0.1, ::1].",
)
@click.option(
    "--days",
    type=click.IntRange(1, 3650),
    default=365,
    show_default=True,
    help="Days the certificate is valid.",
)
@click.option("--force", is_flag=True, help="Replace an existing cert.pem and key.pem.")
@json_option
@data_dir_option
def server_gen_cert(
    out_dir: Path | None, hosts: tuple[str, ...], days: int, force: bool, as_json: bool, data_dir: Path | None
) -> None:
    """Make a self-signed certificate and key for trials, and print its SHA-256 fingerprint.

    The key file is created readable by you alone (0600). Clients trust the certificate by its
    fingerprint (--cert-sha256 / KIBITZ_CERT_SHA256) or by the certificate itself (--ca-file).
    """
    from kibitz.server.tls import DEFAULT_HOSTS, fingerprint, generate_certificate, write_certificate

    if out_dir is None:
        out_dir = load_settings(data_dir=data_dir).data_dir / "tls"
    try:
        pair = generate_certificate(hosts or DEFAULT_HOSTS, days)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="'--host'") from None
    try:
        cert_path, key_path = write_certificate(pair, out_dir, overwrite=force)
    except FileExistsError as error:
        raise CliError(str(error)) from None
    digest = fingerprint(pair.cert_pem)
    cert, key = cert_path.resolve(), key_path.resolve()
    if as_json:
        names = list(hosts or DEFAULT_HOSTS)
        print_json(
            {"certificate": str(cert), "key": str(key), "hosts": names, "days": days, "sha256": digest}
        )
        return
    echo(f"Wrote a self-signed certificate for {', '.join(hosts or DEFAULT_HOSTS)}, valid {days} days:")
    echo(f"  certificate: {cert}")
    echo(f"  private key: {key}  (mode 0600: keep it secret, never copy it to clients)")
    echo(f"SHA-256 fingerprint: {digest}")
    echo("\nServe with:")
    echo(f"  kibitz server run --host ADDRESS --tls-cert {cert} --tls-key {key}")
    echo("Clients trust it by its fingerprint (or set KIBITZ_CERT_SHA256):")
    echo(f"  kibitz --cert-sha256 {digest} login --server https://HOST:PORT --email EMAIL")
    echo("or by the certificate itself, copied to them (or set KIBITZ_CA_FILE):")
    echo(f"  kibitz --ca-file {cert.name} login --server https://HOST:PORT --email EMAIL")


@server.command("migrate")
@json_option
@data_dir_option
def server_migrate(as_json: bool, data_dir: Path | None) -> None:
    """Bring the database schema up to date, then exit."""
    from kibitz.server.operator.database import migrate

    settings = load_settings(data_dir=data_dir)
    migrate(settings)
    if as_json:
        print_json({"up_to_date": True})
        return
    echo("The database is up to date.")


@server.command("import")
@click.argument("archive", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@data_dir_option
@json_option
def server_import(archive: Path, data_dir: Path | None, as_json: bool) -> None:
    """Load a team export (`kibitz export --team`) into this server's database, all or nothing.

    The team keeps its ids. Members are matched to existing accounts by email; the others get accounts
    that cannot log in until `kibitz server user set-password EMAIL` gives them a password.
    """
    import dataclasses

    from kibitz.server.operator.database import import_team_file

    settings = load_settings(data_dir=data_dir)
    summary = import_team_file(settings, archive)
    if as_json:
        print_json(dataclasses.asdict(summary))
        return
    counts = ", ".join(f"{n} {name}" for name, n in summary.counts.items())
    echo(f"Imported team {summary.team_name} ({summary.team_id}): {counts}.")
    for email in summary.matched_accounts:
        echo(f"  {email}: existing account")
    for email in summary.created_accounts:
        echo(f"  {email}: new account, cannot log in yet: kibitz server user set-password {email}")


for _command in (*server_keys.COMMANDS, *server_accounts.COMMANDS, *server_backup.COMMANDS):
    server.add_command(_command)

COMMANDS: tuple[click.Command, ...] = (server,)
