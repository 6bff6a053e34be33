"""The offline activation page (``/offline``): what a buyer on another device submits."""

from __future__ import annotations

import requests

from licensing.client import import_license, offline_request
from tests.licensing.conftest import RunningServer


def test_a_pasted_request_gives_a_license_file(server: RunningServer) -> None:
    _, key = server.mint()
    reply = requests.post(
        f"{server.url}/offline", files={"request_text": (None, offline_request(key))}, timeout=10
    )
    assert reply.status_code == 200
    assert import_license(reply.content).product == "draftsmith"


def test_malformed_forms_answer_400_with_a_plain_message(server: RunningServer) -> None:
    """`curl -F request_file=null -F request_text=x`, or a request text over 16,384 characters."""
    for files in (
        {"request_file": (None, "null"), "request_text": (None, "x")},
        {"request_text": (None, "x" * 16_385)},
    ):
        reply = requests.post(f"{server.url}/offline", files=files, timeout=10)
        assert reply.status_code == 400, reply.text
        assert reply.headers["content-type"].startswith("text/html")
        assert "activation request" in reply.text and "Traceback" not in reply.text


def test_garbage_pasted_answers_400(server: RunningServer) -> None:
    reply = requests.post(
        f"{server.url}/offline", files={"request_text": (None, "hello")}, timeout=10
    )
    assert reply.status_code == 400 and "not a valid activation request" in reply.text
