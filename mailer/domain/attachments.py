"""Files that go with a meeting's invitation and agenda (terms of reference, a map, slides)."""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from mailer.db import read_transaction, transaction
from mailer.domain import audit
from mailer.domain.errors import InvalidInput, NotFound
from mailer.domain.models import Meeting, MeetingAttachment

MAX_BYTES = 10 * 1024 * 1024
MAX_TOTAL = 15 * 1024 * 1024
ALLOWED_TYPES = {
    "application/pdf",
    "text/plain",
    "text/csv",
    "image/png",
    "image/jpeg",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9 ._()-]")


@dataclass(frozen=True)
class AttachmentInfo:
    id: int
    filename: str
    content_type: str
    size: int


def add_attachment(
    session: Session, meeting_id: int, *, filename: str, data: bytes, actor: str
) -> AttachmentInfo:
    name = _SAFE_NAME.sub("_", filename.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")[:150]
    if not name:
        raise InvalidInput("The file needs a name.", field="file")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if content_type not in ALLOWED_TYPES:
        raise InvalidInput(
            "Attach a PDF, Word, Excel, PowerPoint, OpenDocument, text, CSV, PNG or JPEG file.",
            field="file",
        )
    if not data:
        raise InvalidInput("The file is empty.", field="file")
    if len(data) > MAX_BYTES:
        raise InvalidInput("Files can be at most 10 MB.", field="file")
    with transaction(session):
        meeting = session.get(Meeting, meeting_id)
        if meeting is None:
            raise NotFound("There is no such meeting.")
        existing = sum(
            session.scalars(
                select(MeetingAttachment.size).where(MeetingAttachment.meeting_id == meeting_id)
            )
        )
        if existing + len(data) > MAX_TOTAL:
            raise InvalidInput(
                "A meeting's files can be at most 15 MB together, so emails still arrive.",
                field="file",
            )
        row = MeetingAttachment(
            meeting_id=meeting_id,
            filename=name,
            content_type=content_type,
            data=data,
            size=len(data),
        )
        session.add(row)
        session.flush()
        audit.record(
            session, actor=actor, action="meeting.attach", target=f"meeting:{meeting_id}", file=name
        )
        return AttachmentInfo(row.id, row.filename, row.content_type, row.size)


def list_attachments(session: Session, meeting_id: int) -> list[AttachmentInfo]:
    with read_transaction(session):
        return [
            AttachmentInfo(a.id, a.filename, a.content_type, a.size)
            for a in session.scalars(
                select(MeetingAttachment)
                .options(defer(MeetingAttachment.data))
                .where(MeetingAttachment.meeting_id == meeting_id)
                .order_by(MeetingAttachment.id)
            )
        ]


def attachment_ids(session: Session, meeting_id: int) -> list[int] | None:
    """Within the caller's transaction: what to attach to a message about this meeting."""
    ids = list(
        session.scalars(
            select(MeetingAttachment.id)
            .where(MeetingAttachment.meeting_id == meeting_id)
            .order_by(MeetingAttachment.id)
        )
    )
    return ids or None
