"""The activation API (FastAPI). Every ``/v1`` answer is signed and echoes the client's nonce.

Run it with ``draftsmith-license serve`` (uvicorn), configured from the environment
(``settings.Settings.from_env``). The OpenAPI schema is at ``/openapi.json``.
"""

from __future__ import annotations

import html
import json
import logging
import math
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import FastAPI, Form, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from licensing.client.certificate import MAX_FILE_BYTES as MAX_CERTIFICATE
from licensing.client.certificate import parse_certificate
from licensing.client.errors import CertificateError
from licensing.client.trial import trial_armor
from licensing.client.trusted_keys import trusted_keys
from licensing.protocol import (
    FINGERPRINT,
    FORMAT_VERSION,
    MAX_MACHINE_NAME,
    MAX_OFFLINE_REQUEST,
    PRODUCT,
    PROTOCOL_VERSION,
    RESPONSE_DOCUMENT,
    TOKEN,
    TRIAL_DOCUMENT,
    ActivationMode,
    ErrorCode,
    edition_problem,
    response_payload_binding,
)
from licensing.server import licenses, stripe_webhook, trials
from licensing.server.database import make_engine, make_sessions
from licensing.server.licenses import LicenseProblem
from licensing.server.mailer import MailError
from licensing.server.offline_request import parse_offline_request
from licensing.server.rate_limit import LookupLimiter
from licensing.server.settings import Settings
from licensing.server.signing import Signer, load_signer

log = logging.getLogger(__name__)

Nonce = Annotated[str, Field(pattern=f"^{TOKEN.pattern}$")]
Key = Annotated[str, Field(min_length=1, max_length=200)]
Fingerprint = Annotated[str, Field(pattern=f"^{FINGERPRINT.pattern}$")]
MachineId = Annotated[str, Field(min_length=1, max_length=40)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


Protocol = Annotated[int, Field(ge=1, le=1000)]


def online_mode(protocol: int) -> ActivationMode | None:
    return ActivationMode.ONLINE if protocol >= PROTOCOL_VERSION else None


def offline_mode(version: int) -> ActivationMode | None:
    return ActivationMode.OFFLINE if version >= PROTOCOL_VERSION else None


class ActivateBody(_Body):
    protocol: Protocol = 1
    key: Key
    fingerprint: Fingerprint
    machine_name: Annotated[
        str, Field(min_length=1, max_length=MAX_MACHINE_NAME, pattern=r"^[^\x00-\x1f\x7f]+$")
    ]
    nonce: Nonce


class ValidateBody(_Body):
    protocol: Protocol = 1
    key: Key
    fingerprint: Fingerprint
    nonce: Nonce


class RefreshBody(_Body):
    certificate: Annotated[str, Field(min_length=1, max_length=MAX_CERTIFICATE)]
    fingerprint: Fingerprint
    nonce: Nonce


class TrialBody(_Body):
    fingerprint: Fingerprint
    nonce: Nonce


class DeactivateBody(_Body):
    key: Key
    machine_id: MachineId
    nonce: Nonce


class MachinesBody(_Body):
    """By the key, or (the app without a keyring) by this machine's certificate."""

    key: Key | None = None
    certificate: Annotated[str, Field(min_length=1, max_length=MAX_CERTIFICATE)] | None = None
    fingerprint: Fingerprint | None = None
    nonce: Nonce


class OfflineBody(_Body):
    request: Annotated[str, Field(min_length=1, max_length=MAX_OFFLINE_REQUEST)]
    nonce: Nonce


LOOKUP_FAILURES = {ErrorCode.NOT_FOUND, ErrorCode.BAD_REQUEST}

# What each status means, for the OpenAPI document (the API never answers 422).
_MEANING = {
    200: "Done (an existing seat, a refreshed certificate, a list).",
    201: "A new seat was taken; the answer carries its certificate.",
    400: "The request is malformed (code BAD_REQUEST).",
    403: "The license is suspended, refunded or revoked.",
    404: "No license has this key, or this machine has no seat (NOT_FOUND, MACHINE_NOT_ACTIVATED).",
    409: "Every seat is taken (TOO_MANY_MACHINES); the answer lists the machines.",
    429: "Too many attempts from this address (RATE_LIMITED); see Retry-After.",
    503: "The key e-mail could not be sent; nothing was recorded and Stripe retries.",
}


class SignedAnswer(BaseModel):
    """Every /v1 answer: an Ed25519 envelope (see licensing/client/signed_document.py) whose
    payload holds v, nonce, issued, status, method, path, ok, and data or error."""

    alg: str
    kid: str
    payload: str
    sig: str


def _signed(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": SignedAnswer, "description": _MEANING[code]} for code in codes}


def _plain(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"description": _MEANING[code]} for code in codes}


def _html(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"description": _MEANING[code], "content": {"text/html": {}}} for code in codes}


def _offline_page_answers() -> dict[int | str, dict[str, Any]]:
    answers = _html(400, 403, 404, 409, 429)
    answers[200] = {
        "description": "The license file to take back to the offline computer.",
        "content": {"text/plain": {}},
    }
    return answers


def _without_422(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """FastAPI documents 422 for every body; this API answers 400 instead (``bad_request``)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    operation.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi


def create_app(
    settings: Settings,
    *,
    signer: Signer | None = None,
    engine: Engine | None = None,
) -> FastAPI:
    if signer is None:
        if settings.signing_key_path is None:
            raise ValueError("DRAFTSMITH_LICENSE_SIGNING_KEY is not set")
        signer = load_signer(settings.signing_key_path, settings.signing_kid)
    problem = edition_problem(settings.default_edition)
    if problem is not None:
        raise ValueError(f"DRAFTSMITH_LICENSE_EDITION: {problem}")
    engine = engine or make_engine(settings.database_url)
    sessions: sessionmaker[Session] = make_sessions(engine)
    limiter = LookupLimiter(
        sessions,
        settings.lookups_per_minute,
        settings.failed_lookups_per_window,
        settings.failed_lookup_window_s,
    )
    app = FastAPI(title="Draftsmith license server", version="1")
    app.openapi = _without_422(app)  # type: ignore[method-assign]
    app.state.sessions = sessions
    app.state.engine = engine
    app.state.signer = signer
    app.state.limiter = limiter

    def signed(
        status: int,
        nonce: str | None,
        request: Request,
        *,
        data: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        payload: dict[str, Any] = {
            "v": 1,
            "nonce": nonce,
            "issued": int(time.time()),
            "status": status,
            "ok": error is None,
            **response_payload_binding(request.method, request.url.path),
        }
        if error is None:
            payload["data"] = data or {}
        else:
            payload["error"] = error
        return Response(
            signer.envelope(RESPONSE_DOCUMENT, payload),
            status_code=status,
            media_type="application/json",
            headers=headers,
        )

    def problem_response(problem: LicenseProblem, nonce: str | None, request: Request) -> Response:
        error: dict[str, Any] = {"code": str(problem.code), "message": problem.message}
        if problem.machines is not None:
            error["machines"] = problem.machines
        if problem.license_id is not None:
            error["license_id"] = problem.license_id
        headers = None
        if problem.retry_after is not None:
            headers = {"Retry-After": str(problem.retry_after)}
        return signed(problem.status, nonce, request, error=error, headers=headers)

    def client_of(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    def lookup(
        request: Request, nonce: str, work: Callable[[Session], tuple[int, dict[str, Any]]]
    ) -> Response:
        """Rate-limit, run ``work`` in one transaction, sign the outcome."""
        client = client_of(request)
        wait = limiter.check(client)
        if wait > 0:
            problem = LicenseProblem(
                ErrorCode.RATE_LIMITED,
                429,
                f"Too many attempts from this address. Please wait {math.ceil(wait)} seconds.",
                retry_after=math.ceil(wait),
            )
            log.warning(json.dumps({"event": "rate_limited", "client": client}))
            return problem_response(problem, nonce, request)
        try:
            with sessions() as session, session.begin():
                status, data = work(session)
        except LicenseProblem as problem:
            if problem.code in LOOKUP_FAILURES:
                limiter.failure(client)
            log.info(json.dumps({"event": "refused", "code": str(problem.code), "client": client}))
            return problem_response(problem, nonce, request)
        return signed(status, nonce, request, data=data)

    def sign_certificate(
        license: Any, machine: Any, nonce: str, activation: ActivationMode | None
    ) -> str:
        """A certificate for ``machine``'s seat on ``license``, signed now."""
        return signer.certificate(
            licenses.certificate_payload(
                license,
                machine,
                nonce=nonce,
                now=int(time.time()),
                refresh_days=settings.refresh_days,
                activation=activation,
            )
        )

    def certificate_answer(
        session: Session,
        key: str,
        fingerprint: str,
        name: str,
        nonce: str,
        activation: ActivationMode | None,
    ) -> tuple[int, dict[str, Any]]:
        license, machine, created = licenses.activate(session, key, fingerprint, name)
        cert = sign_certificate(license, machine, nonce, activation)
        machines = [licenses.machine_json(m) for m in licenses.machines_of(session, license)]
        return (201 if created else 200), {
            "certificate": cert,
            "license": licenses.license_json(license),
            "machine": licenses.machine_json(machine),
            "machines": machines,
        }

    def offline_answer(session: Session, request_text: str) -> tuple[int, dict[str, Any]]:
        """Activate from an offline request's text (the app's file, pasted or uploaded)."""
        parsed = parse_offline_request(request_text)
        return certificate_answer(
            session,
            parsed.key,
            parsed.fingerprint,
            parsed.machine_name,
            parsed.nonce,
            offline_mode(parsed.version),
        )

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        # The body was already read (and, for a form, consumed) by FastAPI: use what it
        # parsed (``exc.body``), never the request stream again.
        fields = sorted({".".join(str(p) for p in e["loc"][1:]) for e in exc.errors()})
        message = "The request is malformed" + (f" ({', '.join(fields)})." if fields else ".")
        if request.url.path == "/offline":
            return HTMLResponse(
                _page(
                    "That is not an activation request. Please paste the request text "
                    "(at most 16,384 characters) or choose its file."
                ),
                status_code=400,
            )
        if request.url.path.startswith("/v1/webhooks"):
            return JSONResponse({"error": message}, status_code=400)
        body = exc.body
        candidate = body.get("nonce") if isinstance(body, dict) else None
        nonce = candidate if isinstance(candidate, str) and TOKEN.fullmatch(candidate) else None
        return signed(
            400, nonce, request, error={"code": ErrorCode.BAD_REQUEST.value, "message": message}
        )

    @app.middleware("http")
    async def access_log(request: Request, call_next: Callable[..., Any]) -> Response:
        started = time.perf_counter()
        response: Response = await call_next(request)
        log.info(
            json.dumps(
                {
                    "event": "request",
                    "method": request.method,
                    "path": request.url.path,
                    "status": response.status_code,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                }
            )
        )
        return response

    @app.get("/v1/health", responses=_plain(200))
    def health() -> dict[str, str]:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok"}

    @app.post("/v1/activate", status_code=201, responses=_signed(200, 201, 400, 403, 404, 409, 429))
    def activate(body: ActivateBody, request: Request) -> Response:
        return lookup(
            request,
            body.nonce,
            lambda s: certificate_answer(
                s,
                body.key,
                body.fingerprint,
                body.machine_name,
                body.nonce,
                online_mode(body.protocol),
            ),
        )

    @app.post("/v1/validate", responses=_signed(200, 400, 403, 404, 429))
    def validate(body: ValidateBody, request: Request) -> Response:
        def work(session: Session) -> tuple[int, dict[str, Any]]:
            license, machine = licenses.validate(session, body.key, body.fingerprint)
            return fresh_certificate(license, machine, body.nonce, online_mode(body.protocol))

        return lookup(request, body.nonce, work)

    def fresh_certificate(
        license: Any, machine: Any, nonce: str, activation: ActivationMode | None
    ) -> tuple[int, dict[str, Any]]:
        cert = sign_certificate(license, machine, nonce, activation)
        return 200, {"certificate": cert, "license": licenses.license_json(license)}

    def seat_of(session: Session, certificate: str, fingerprint: str) -> tuple[Any, Any]:
        """The license and machine a certificate we signed stands for, if still active."""
        keys = {**trusted_keys(), signer.kid: signer.private_key.public_key()}
        try:
            old = parse_certificate(certificate, keys)
        except CertificateError as error:
            raise LicenseProblem(
                ErrorCode.BAD_REQUEST, 400, f"This license file can't be used here: {error}"
            ) from None
        if old.fingerprint != fingerprint:
            raise LicenseProblem(
                ErrorCode.BAD_REQUEST, 400, "This license file is for another computer."
            )
        return licenses.validate_seat(session, old.license_id, old.machine_id, fingerprint)

    @app.post("/v1/refresh", responses=_signed(200, 400, 403, 404, 429))
    def refresh(body: RefreshBody, request: Request) -> Response:
        """Renew by the certificate itself: the app's background check needs no stored key."""

        def work(session: Session) -> tuple[int, dict[str, Any]]:
            license, machine = seat_of(session, body.certificate, body.fingerprint)
            return fresh_certificate(license, machine, body.nonce, ActivationMode.ONLINE)

        return lookup(request, body.nonce, work)

    @app.post("/v1/trial", responses=_signed(200, 400, 429))
    def trial(body: TrialBody, request: Request) -> Response:
        """A signed trial certificate for this fingerprint: one trial per machine, ever."""

        def work(session: Session) -> tuple[int, dict[str, Any]]:
            now = int(time.time())
            started = trials.start_of(session, body.fingerprint, now)
            payload = {
                "v": FORMAT_VERSION,
                "product": PRODUCT,
                "fingerprint": body.fingerprint,
                "started": started,
                "issued": now,
                "nonce": body.nonce,
            }
            armored = trial_armor(signer.envelope(TRIAL_DOCUMENT, payload))
            return 200, {"trial": armored}

        return lookup(request, body.nonce, work)

    @app.post("/v1/deactivate", responses=_signed(200, 400, 404, 429))
    def deactivate(body: DeactivateBody, request: Request) -> Response:
        def work(session: Session) -> tuple[int, dict[str, Any]]:
            license = licenses.deactivate(session, body.key, body.machine_id)
            machines = [licenses.machine_json(m) for m in licenses.machines_of(session, license)]
            return 200, {"machines": machines}

        return lookup(request, body.nonce, work)

    @app.post("/v1/machines", responses=_signed(200, 400, 403, 404, 429))
    def machines(body: MachinesBody, request: Request) -> Response:
        def work(session: Session) -> tuple[int, dict[str, Any]]:
            if body.key is not None:
                license = licenses.find_license(session, body.key)
            elif body.certificate is not None and body.fingerprint is not None:
                license, _ = seat_of(session, body.certificate, body.fingerprint)
            else:
                raise LicenseProblem(
                    ErrorCode.BAD_REQUEST, 400, "Send the license key (or this machine's license)."
                )
            listed = [licenses.machine_json(m) for m in licenses.machines_of(session, license)]
            return 200, {"license": licenses.license_json(license), "machines": listed}

        return lookup(request, body.nonce, work)

    @app.post(
        "/v1/offline/activate",
        status_code=201,
        responses=_signed(200, 201, 400, 403, 404, 409, 429),
    )
    def offline_activate(body: OfflineBody, request: Request) -> Response:
        def work(session: Session) -> tuple[int, dict[str, Any]]:
            return offline_answer(session, body.request)

        return lookup(request, body.nonce, work)

    @app.get("/offline", response_class=HTMLResponse, responses=_html(200))
    def offline_page() -> HTMLResponse:
        return HTMLResponse(_page(""))

    @app.post("/offline", response_model=None, responses=_offline_page_answers())
    async def offline_submit(
        request: Request,
        request_text: Annotated[str, Form(max_length=MAX_OFFLINE_REQUEST)] = "",
        request_file: UploadFile | None = None,
    ) -> Response:
        text_in = request_text
        if request_file is not None and request_file.filename:
            raw = await request_file.read(MAX_OFFLINE_REQUEST + 1)
            if len(raw) > MAX_OFFLINE_REQUEST:
                return HTMLResponse(
                    _page("That file is too large to be an activation request."), status_code=400
                )
            text_in = raw.decode("ascii", errors="replace")
        if not text_in.strip():
            return HTMLResponse(
                _page("Please paste the activation request or choose its file."), status_code=400
            )
        client = client_of(request)
        wait = await run_in_threadpool(limiter.check, client)
        if wait > 0:
            return HTMLResponse(
                _page(f"Too many attempts. Please wait {math.ceil(wait)} seconds."),
                status_code=429,
                headers={"Retry-After": str(math.ceil(wait))},
            )

        def work() -> str:
            with sessions() as session, session.begin():
                _, data = offline_answer(session, text_in)
            return data["certificate"]

        try:
            cert = await run_in_threadpool(work)
        except LicenseProblem as problem:
            if problem.code in LOOKUP_FAILURES:
                await run_in_threadpool(limiter.failure, client)
            return HTMLResponse(_page(problem.message), status_code=problem.status)
        return Response(
            cert,
            media_type="text/plain; charset=us-ascii",
            headers={"Content-Disposition": 'attachment; filename="draftsmith-license.txt"'},
        )

    @app.post("/v1/webhooks/stripe", responses=_plain(200, 400, 503))
    async def stripe(request: Request) -> JSONResponse:
        body = await request.body()
        header = request.headers.get("stripe-signature")

        try:
            outcome = await run_in_threadpool(
                stripe_webhook.handle, body, header, settings=settings, sessions=sessions
            )
        except stripe_webhook.WebhookRejected as error:
            log.warning(json.dumps({"event": "webhook_rejected", "why": str(error)}))
            return JSONResponse({"error": str(error)}, status_code=400)
        except MailError as error:
            # Nothing was recorded; Stripe retries later and the key is minted afresh.
            return JSONResponse({"error": str(error)}, status_code=503)
        return JSONResponse({"received": True, "outcome": outcome})

    return app


def _page(message: str) -> str:
    notice = f'<p class="error">{html.escape(message)}</p>' if message else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Draftsmith offline activation</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em}}
textarea{{width:100%;height:12em;font-family:monospace}}.error{{color:#a00}}</style></head>
<body><h1>Activate Draftsmith offline</h1>
<p>In Draftsmith on the computer without internet, open <b>Help &gt; License &gt; Offline
activation</b> and save or copy the activation request. Paste it here (or choose the file),
then press <b>Get license file</b> and take the downloaded file back to that computer
(<b>Import license file</b>).</p>{notice}
<form method="post" enctype="multipart/form-data">
<textarea name="request_text"
 placeholder="-----BEGIN DRAFTSMITH ACTIVATION REQUEST-----"></textarea>
<p><input type="file" name="request_file" accept=".txt,text/plain"></p>
<p><button type="submit">Get license file</button></p></form></body></html>"""


def app_from_env() -> FastAPI:
    """For ``uvicorn --factory licensing.server.app:app_from_env``."""
    return create_app(Settings.from_env())
