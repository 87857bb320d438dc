"""``facetrack serve`` (the REST API and dashboard), ``facetrack users`` and ``facetrack keys``
(accounts), ``facetrack audit`` (the audit log).

Accounts live in the event store's database; ``--store`` names it (default: the config's
``store.events_db``, else events.db here). What these commands change is audited as
``cli:USER`` (the operating-system user who ran them).
"""

from __future__ import annotations

import getpass
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from facetrack.cli.common import cli_actor, exit_codes, fail, show
from facetrack.errors import InputError

if TYPE_CHECKING:
    from facetrack.config.service import ServerConfig

users_app = typer.Typer(no_args_is_help=True, help="Accounts of `facetrack serve`: users "
                        "and their roles (viewer, operator, admin).")
keys_app = typer.Typer(no_args_is_help=True, help="API keys of `facetrack serve` for "
                       "machines (same roles as users).")

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="Server or monitor "
                                                   "YAML (its store, clips, api sections).")]
StoreOption = Annotated[str | None, typer.Option("--store", envvar="FACETRACK_STORE",
                                                 help="Event store holding the accounts: a "
                                                 "SQLite file or a postgresql:// URL "
                                                 "(default: the config's, else events.db).")]
RoleOption = Annotated[str, typer.Option("--role", help="viewer, operator or admin.")]


def _load(config: Path | None) -> ServerConfig:
    from facetrack.config.service import ServerConfig

    return ServerConfig.from_yaml(config) if config is not None else ServerConfig()


def _store(store: str | None, config: Path | None) -> str:
    return store or _load(config).store.events_db


def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on (default "
                                             "127.0.0.1, or api.host).")] = None,
    port: Annotated[int | None, typer.Option("--port", min=0, max=65535, help="Port "
                                             "(default 8090, or api.port; 0: any free).")]
    = None,
) -> None:
    """Serve the REST API (/api/docs) and the dashboard (/) over the stores of the current
    folder or of --config, until Ctrl-C."""
    from facetrack.api import create_app
    from facetrack.api.context import open_services
    from facetrack.config import override
    from facetrack.config.api import ApiConfig
    from facetrack.runtime.web import run_in_foreground
    from facetrack.service.wiring import check_accounts

    with exit_codes():
        cfg = _load(config)
        if cfg.api is None:
            cfg = cfg.model_copy(update={"api": ApiConfig()})
        changes = {k: v for k, v in (("api.host", host), ("api.port", port)) if v is not None}
        cfg = override(cfg, changes) if changes else cfg
        api = cfg.api or ApiConfig()
        logging.getLogger("facetrack").setLevel(logging.INFO)
        with open_services(cfg) as services:
            check_accounts(services.accounts, api.host)
            if services.accounts.count_users() == 0:
                typer.echo("no account yet: create one with `facetrack users add NAME --role "
                           "admin`", err=True)
            tls = (api.tls.cert, api.tls.key) if api.tls is not None else None
            scheme = "https" if tls else "http"

            def started(bound: int) -> None:
                typer.echo(f"facetrack serve: {scheme}://{api.host}:{bound}/ (API docs at "
                           f"/api/docs; Ctrl-C to stop)", err=True)

            run_in_foreground(create_app(services), api.host, api.port, tls, started,
                              api.trusted_proxies, api.niceness)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise InputError("no terminal to ask for the password: pipe it with --password-stdin")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise InputError("the passwords differ")
    return first


PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="Read the password from "
                                             "the first line of stdin (for scripts).")]


@users_app.command("add")
def users_add(name: Annotated[str, typer.Argument(help="Login name.")], role: RoleOption,
              store: StoreOption = None, config: ConfigOption = None,
              password_stdin: PasswordStdin = False) -> None:
    """Create an account (asks for its password, 10+ characters)."""
    from facetrack.storage.accounts import AccountStore

    with exit_codes():
        password = _password(password_stdin)
        with AccountStore(_store(store, config)) as accounts:
            user = accounts.add_user(name, role, password)
            accounts.audit(cli_actor(), "user_add", user.name, detail={"role": user.role})
    show(user.to_json(), f"added {user.name} ({user.role})")


@users_app.command("list")
def users_list(store: StoreOption = None, config: ConfigOption = None) -> None:
    """Every account and its role."""
    from facetrack.storage.accounts import AccountStore

    with exit_codes(), AccountStore(_store(store, config)) as accounts:
        users = accounts.users()
    show([u.to_json() for u in users], "\n".join(
        f"{u.name}  {u.role}{'  (disabled)' if u.disabled else ''}" for u in users)
        or "no accounts")


@users_app.command("passwd")
def users_passwd(name: str, store: StoreOption = None, config: ConfigOption = None,
                 password_stdin: PasswordStdin = False) -> None:
    """Set a user's password (their sessions end)."""
    from facetrack.storage.accounts import AccountStore

    with exit_codes():
        password = _password(password_stdin)
        with AccountStore(_store(store, config)) as accounts:
            accounts.update_user(name, password=password)
            accounts.audit(cli_actor(), "user_change", name, detail={"password_changed": True})
    show({"name": name}, f"password of {name} changed")


@users_app.command("role")
def users_role(name: str, role: Annotated[str, typer.Argument(help="viewer, operator or "
                                                                "admin.")],
               store: StoreOption = None, config: ConfigOption = None) -> None:
    """Change a user's role."""
    from facetrack.storage.accounts import AccountStore

    with exit_codes(), AccountStore(_store(store, config)) as accounts:
        user = accounts.update_user(name, role=role)
        accounts.audit(cli_actor(), "user_change", name, detail={"role": user.role})
    show(user.to_json(), f"{user.name} is now {user.role}")


@users_app.command("remove")
def users_remove(name: str, store: StoreOption = None, config: ConfigOption = None) -> None:
    """Delete an account (its sessions end)."""
    from facetrack.storage.accounts import AccountStore

    with exit_codes(), AccountStore(_store(store, config)) as accounts:
        accounts.remove_user(name)
        accounts.audit(cli_actor(), "user_remove", name)
    show({"removed": name}, f"removed {name}")


@keys_app.command("add")
def keys_add(name: Annotated[str, typer.Argument(help="What the key is for.")],
             role: RoleOption, store: StoreOption = None, config: ConfigOption = None) -> None:
    """Create an API key; it is printed once (send it as `Authorization: Bearer KEY`)."""
    from facetrack.storage.accounts import AccountStore

    with exit_codes(), AccountStore(_store(store, config)) as accounts:
        secret, key = accounts.add_key(name, role, cli_actor())
        accounts.audit(cli_actor(), "key_add", key.name, detail={"id": key.id, "role": key.role})
    show({**key.to_json(), "key": secret},
         f"key {key.id} ({key.name}, {key.role}): {secret}\nit is shown only now")


@keys_app.command("list")
def keys_list(store: StoreOption = None, config: ConfigOption = None) -> None:
    """Every API key (without its secret)."""
    from facetrack.storage.accounts import AccountStore

    with exit_codes(), AccountStore(_store(store, config)) as accounts:
        keys = accounts.api_keys()
    show([k.to_json() for k in keys], "\n".join(
        f"{k.id:>4}  {k.name}  {k.role}  {k.hint}...  by {k.created_by}" for k in keys)
        or "no API keys")


@keys_app.command("remove")
def keys_remove(key_id: Annotated[int, typer.Argument(help="The key's id (keys list).")],
                store: StoreOption = None, config: ConfigOption = None) -> None:
    """Revoke an API key (at once)."""
    from facetrack.storage.accounts import AccountStore

    with exit_codes(), AccountStore(_store(store, config)) as accounts:
        key = accounts.remove_key(key_id)
        accounts.audit(cli_actor(), "key_remove", key.name, detail={"id": key.id})
    show({"removed": key.id}, f"revoked key {key.id} ({key.name})")


def audit(
    since: Annotated[str | None, typer.Option("--since", help="ISO time or a duration back "
                                              "from now: 30s, 15m, 2h, 7d.")] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Only this user (key:NAME for "
                                              "an API key, cli:USER for commands).")] = None,
    action: Annotated[str | None, typer.Option("--action", help="Only this action "
                                               "(person_enrol, clip_download, ...).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="The latest N.")] = 1000,
    store: StoreOption = None, config: ConfigOption = None,
) -> None:
    """Print the audit log, oldest first, one JSON object per line."""
    from facetrack.storage.accounts import AccountStore
    from facetrack.storage.events import is_database_url

    where = _store(store, config)
    if not is_database_url(where) and not Path(where).is_file():
        raise fail(f"{where}: no store here (run `facetrack serve` or `monitor` first)", 2)
    with exit_codes(), AccountStore(where, read_only=True) as accounts:
        rows = accounts.audit_log(since=since, actor=actor, action=action, limit=limit)
    for row in reversed(rows):
        typer.echo(json.dumps(row, ensure_ascii=False))
