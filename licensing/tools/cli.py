"""``draftsmith-license``: the vendor's command line.

    draftsmith-license keygen --out ~/.config/draftsmith-vendor/ds-2027-1.pem --kid ds-2027-1
    draftsmith-license mint --edition standard --seats 3 --email buyer@example.org
    draftsmith-license suspend|revoke|reinstate LICENSE_ID
    draftsmith-license list
    draftsmith-license activations LICENSE_ID
    draftsmith-license inspect license.txt [--private-key KEY.pem]
    draftsmith-license serve --port 8000

The database comes from ``--db`` or ``DRAFTSMITH_LICENSE_DB`` (default ``sqlite:///licenses.db``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)


class ToolError(Exception):
    pass


def _inside_git_work_tree(path: Path) -> Path | None:
    for parent in [path.parent, *path.parent.parents]:
        if (parent / ".git").exists():
            return parent
    return None


def cmd_keygen(args: argparse.Namespace) -> int:
    from licensing.server.signing import write_private_key

    out = Path(args.out).expanduser().resolve()
    repo = _inside_git_work_tree(out)
    if repo is not None:
        raise ToolError(
            f"Refusing to write a private key inside the git repository {repo}. "
            "Choose a path outside any repository (and back it up offline)."
        )
    if out.exists():
        raise ToolError(f"{out} already exists; refusing to overwrite a signing key.")
    signer = write_private_key(out)
    print(f"Private key written to {out} (mode 0600). Keep it secret and backed up.")
    print("Add this line to licensing/client/trusted_keys.py (_COMPILED):")
    print(f'    "{args.kid}": "{signer.public_key_b64()}",')
    print(
        f"Then run the server with DRAFTSMITH_LICENSE_SIGNING_KEY={out} "
        f"DRAFTSMITH_LICENSE_KID={args.kid}"
    )
    return 0


def _sessions(args: argparse.Namespace) -> sessionmaker[Session]:
    from licensing.server.database import make_engine, make_sessions

    url = args.db or os.environ.get("DRAFTSMITH_LICENSE_DB", "sqlite:///licenses.db")
    return make_sessions(make_engine(url))


def cmd_mint(args: argparse.Namespace) -> int:
    from licensing.server import licenses

    purchased = dt.date.fromisoformat(args.purchased) if args.purchased else dt.date.today()
    until = (
        dt.date.fromisoformat(args.updates_until)
        if args.updates_until
        else purchased + dt.timedelta(days=args.updates_days)
    )
    entitlements = [e.strip() for e in args.entitlements.split(",") if e.strip()]
    try:
        with _sessions(args)() as session, session.begin():
            license, key = licenses.mint(
                session,
                edition=args.edition,
                entitlements=entitlements,
                max_machines=args.seats,
                purchased_at=purchased,
                updates_until=until,
                email=args.email,
            )
            license_id = license.id
    except ValueError as error:  # licenses.mint's checks (the app's own edition rule)
        raise ToolError(str(error)) from None
    print(f"license: {license_id}")
    print(f"key:     {key}")
    print("The key is shown only now; the server stores only its hash.")
    return 0


def cmd_set_status(args: argparse.Namespace) -> int:
    from licensing.server import licenses
    from licensing.server.models import ACTIVE, REVOKED, SUSPENDED

    new = {"suspend": SUSPENDED, "revoke": REVOKED, "reinstate": ACTIVE}[args.command]
    with _sessions(args)() as session, session.begin():
        try:
            licenses.set_status(session, args.license_id, new)
        except licenses.LicenseProblem as problem:
            raise ToolError(problem.message) from None
    print(f"{args.license_id}: {new}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from licensing.server import licenses
    from licensing.server.models import License

    with _sessions(args)() as session:
        for license in session.execute(select(License).order_by(License.created_at)).scalars():
            used = licenses.count_machines(session, license)
            print(
                f"{license.id}  {license.status:<9} {license.edition:<10} "
                f"{used}/{license.max_machines} machines  updates until "
                f"{license.updates_until}  {license.email or ''}"
            )
    return 0


def cmd_activations(args: argparse.Namespace) -> int:
    from licensing.server import licenses
    from licensing.server.models import License

    with _sessions(args)() as session:
        license = session.get(License, args.license_id)
        if license is None:
            raise ToolError(f"No license with id {args.license_id}.")
        machines = licenses.machines_of(session, license)
        print(f"{license.id}: {len(machines)} of {license.max_machines} machines")
        for machine in machines:
            info = licenses.machine_json(machine)
            print(
                f"  {info['id']}  {info['name']!r}  activated {info['activated_at']}  "
                f"last seen {info['last_seen']}"
            )
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from licensing.client.certificate import parse_certificate
    from licensing.client.errors import CertificateError
    from licensing.client.trusted_keys import trusted_keys

    keys = dict(trusted_keys())
    if args.private_key:
        from licensing.server.signing import load_signer

        signer = load_signer(Path(args.private_key), args.kid)
        keys = {args.kid: signer.private_key.public_key()}
    try:
        data = Path(args.file).read_bytes()[: 16 * 1024 + 1]
    except OSError as error:
        raise ToolError(f"Cannot read {args.file}: {error.strerror}") from None
    try:
        cert = parse_certificate(data, keys)
    except CertificateError as error:
        print(f"INVALID: {error}")
        return 1
    print("VALID signature")
    print(json.dumps(cert.payload(), indent=2))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from licensing.server.app import app_from_env

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # Behind a reverse proxy, pass its address so rate limits see the real client address.
    uvicorn.run(
        app_from_env(),
        host=args.host,
        port=args.port,
        proxy_headers=bool(args.forwarded_allow_ips),
        forwarded_allow_ips=args.forwarded_allow_ips or None,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="draftsmith-license", description="Draftsmith's vendor license tools."
    )
    parser.add_argument("-d", "--debug", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    keygen = sub.add_parser("keygen", help="create a signing key pair (private key 0600)")
    keygen.add_argument("--out", required=True, help="private key file (outside any repository)")
    keygen.add_argument("--kid", default="ds-2026-1", help="key id for the app's trusted table")
    keygen.set_defaults(run=cmd_keygen)

    def with_db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--db", help="database URL (default: $DRAFTSMITH_LICENSE_DB)")
        return p

    mint = with_db(sub.add_parser("mint", help="create a license and print its key"))
    mint.add_argument("--edition", default="standard")
    mint.add_argument("--seats", type=int, default=3)
    mint.add_argument("--entitlements", default="ai,sync")
    mint.add_argument("--purchased", help="YYYY-MM-DD (default today)")
    mint.add_argument("--updates-until", help="YYYY-MM-DD")
    mint.add_argument("--updates-days", type=int, default=365)
    mint.add_argument("--email")
    mint.set_defaults(run=cmd_mint)

    for name, text in (
        ("suspend", "suspend a license"),
        ("revoke", "revoke a license"),
        ("reinstate", "make a license active again"),
    ):
        p = with_db(sub.add_parser(name, help=text))
        p.add_argument("license_id")
        p.set_defaults(run=cmd_set_status)

    with_db(sub.add_parser("list", help="list licenses")).set_defaults(run=cmd_list)
    acts = with_db(sub.add_parser("activations", help="list a license's machines"))
    acts.add_argument("license_id")
    acts.set_defaults(run=cmd_activations)

    inspect = sub.add_parser("inspect", help="verify and show a license file")
    inspect.add_argument("file")
    inspect.add_argument("--private-key", help="verify with this key pair instead of the app's")
    inspect.add_argument("--kid", default="ds-2026-1")
    inspect.set_defaults(run=cmd_inspect)

    serve = sub.add_parser("serve", help="run the license server (settings from environment)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--forwarded-allow-ips",
        default="",
        help="reverse proxy addresses whose X-Forwarded-For is trusted",
    )
    serve.set_defaults(run=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING)
    try:
        return int(args.run(args))
    except ToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # a clean message instead of a traceback for vendors
        if args.debug:
            raise
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
