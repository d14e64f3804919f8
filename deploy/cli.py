"""``cadre``: the operator's command line.

    cadre clients create --name 门户 --role portal [--unit-scope UNIT ...] [--client-id ID]
    cadre clients list
    cadre clients disable CLIENT_ID | enable CLIENT_ID | rotate-secret CLIENT_ID

It works on the gateway's database directly (GATEWAY_DATABASE_URL / CADRE_DATABASE_URL, as
the gateway reads them), so the first admin client exists before anyone can call the API.
Secrets are printed once, as JSON, and stored only as scrypt hashes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any

from cadrekit.auth import Role
from cadrekit.problems import Problem


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cadre", description="Operate the Cadre Placement Platform.")
    sub = p.add_subparsers(dest="group", required=True)
    clients = sub.add_parser("clients", help="API clients of the gateway").add_subparsers(dest="action", required=True)
    create = clients.add_parser("create", help="create a client; its secret is printed once")
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--unit-scope", nargs="*", default=None, metavar="UNIT_ID")
    create.add_argument("--client-id", default=None)
    clients.add_parser("list", help="list clients (never their secrets)")
    for action in ("disable", "enable", "rotate-secret"):
        clients.add_parser(action).add_argument("client_id")
    return p


async def _run(args: argparse.Namespace) -> Any:
    from cadrekit.runtime import ServiceRuntime
    from gateway import clients
    from gateway.app import MIGRATIONS
    from gateway.models import metadata
    from gateway.settings import GatewaySettings

    runtime = ServiceRuntime(GatewaySettings(), metadata, MIGRATIONS)
    try:
        if args.action == "create":
            return await clients.create_client(
                runtime,
                name=args.name,
                role=args.role,
                unit_scope=args.unit_scope or None,
                created_by="cli",
                client_id=args.client_id,
            )
        if args.action == "list":
            return await clients.list_clients(runtime)
        if args.action in ("disable", "enable"):
            return await clients.set_disabled(runtime, args.client_id, args.action == "disable")
        return await clients.rotate_secret(runtime, args.client_id)
    finally:
        await runtime.engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result = asyncio.run(_run(args))
    except Problem as exc:
        print(f"cadre: {exc.detail}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
