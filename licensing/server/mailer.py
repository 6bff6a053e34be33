"""Sending the buyer their key by e-mail (plain SMTP, optionally STARTTLS and login)."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from licensing.server.settings import Settings

log = logging.getLogger(__name__)


class MailError(Exception):
    pass


def key_email(
    settings: Settings, to: str, key: str, edition: str, updates_until: str
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = "Your Draftsmith license key"
    message.set_content(
        "Thank you for buying Draftsmith.\n\n"
        f"Your license key:\n\n    {key}\n\n"
        "To activate: open Draftsmith, choose Help > License, and enter the key.\n"
        'On a computer without internet, use "Offline activation" in the same dialog and\n'
        f"open {settings.public_url}/offline on any device that has internet.\n\n"
        f"Edition: {edition}. Your license includes updates released until {updates_until};\n"
        "the versions you own keep working forever.\n\n"
        "Keep this e-mail: the key is what you need to move Draftsmith to a new computer.\n"
    )
    return message


def send(settings: Settings, message: EmailMessage) -> None:
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        log.error(
            "could not send e-mail via %s:%s: %s",
            settings.smtp_host,
            settings.smtp_port,
            type(error).__name__,
        )
        raise MailError(f"could not send e-mail: {type(error).__name__}") from error
    log.info("sent license e-mail")
