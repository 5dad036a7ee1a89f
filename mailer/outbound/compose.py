"""Turn an outbox row into the exact MIME message that goes on the wire."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime

from mailer.domain.models import OutboxMessage

# Headers a template or a caller may set; anything else in the row is ignored.
_ALLOWED_HEADERS = ("From", "Reply-To", "In-Reply-To", "References", "Auto-Submitted", "List-Id",
                    "List-Unsubscribe", "List-Unsubscribe-Post", "List-Post", "List-Help", "Precedence")


def compose(row: OutboxMessage) -> EmailMessage:
    """multipart/alternative (text first, then HTML) with the row's fixed Message-ID.

    ``email.policy.SMTP`` encodes non-ASCII names and subjects (RFC 2047) and
    refuses any header value containing CR or LF, so nothing a member or
    organiser typed can add a header.
    """
    message = EmailMessage()
    for name in _ALLOWED_HEADERS:
        value = row.headers.get(name)
        if value:
            message[name] = value
    message["To"] = row.recipient
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = row.message_id
    message["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    message.set_content(row.body_text, cte="quoted-printable")
    if row.body_html:
        message.add_alternative(row.body_html, subtype="html", cte="quoted-printable")
    return message
