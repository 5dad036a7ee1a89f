"""Signed links, one salt per purpose.

A link carries only ids and a version number, never an address or a name, so
a forwarded email reveals nothing about the person it was sent to. Bumping a
person's ``link_version`` revokes every link they were ever sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeGuard

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from itsdangerous import (
    BadData,
    SignatureExpired,
    TimestampSigner,
    URLSafeSerializer,
    URLSafeTimedSerializer,
)

from mailer.domain.errors import ExpiredLink, InvalidLink
from mailer.domain.models import AttendanceMode, Meeting, Person, RsvpResponse

RSVP_SALT = "convene.rsvp.v1"
UNSUBSCRIBE_SALT = "convene.unsubscribe.v1"
CONFIRM_SALT = "convene.confirm-join.v1"
ANSWER_SALT = "convene.consultation-answer.v1"
VOLUNTEER_SALT = "convene.volunteer.v1"
LINK_FORM_SALT = "convene.link-form.v1"
SET_PASSWORD_SALT = "convene.organiser-password.v1"
#: How long an organiser's link to set their password works.
SET_PASSWORD_MAX_AGE = timedelta(days=3)


def _text(token: str | bytes) -> str:
    """A token as the URL-safe text it is (a binary serializer makes itsdangerous return bytes)."""
    return token.decode("ascii") if isinstance(token, bytes) else token


class SealedJSON:
    """What a link's token carries (person, meeting or list ids), sealed so that it reads as
    noise: whoever holds a forwarded link cannot tell whose it is, whether two links are the
    same person's, or how many people there are. AES-SIV (RFC 5297) is deterministic, so the
    same ids always give the same token (an unsubscribe link is derived, never stored) and it
    authenticates what it seals; itsdangerous still signs and times the whole token.

    Tokens made before links were sealed (plain JSON) are still read, so mail already sent
    keeps working.
    """

    def __init__(self, key: bytes) -> None:
        self._siv = AESSIV(key)

    def dumps(self, obj: object) -> bytes:
        return self._siv.encrypt(json.dumps(obj, separators=(",", ":")).encode(), None)

    def loads(self, data: bytes) -> object:
        try:
            return json.loads(self._siv.decrypt(bytes(data), None))
        except InvalidTag:
            return json.loads(data)  # an earlier, unsealed token (its signature was checked)

    def seal(self, obj: object, purpose: bytes) -> str:
        """A short sealed token on its own (no itsdangerous signature: AES-SIV authenticates it,
        bound to ``purpose``), for where length counts: an address's local part has 64
        characters at most (RFC 5321)."""
        sealed = self._siv.encrypt(json.dumps(obj, separators=(",", ":")).encode(), [purpose])
        return base64.urlsafe_b64encode(sealed).decode("ascii").rstrip("=")

    def unseal(self, token: str, purpose: bytes) -> object:
        """What :meth:`seal` sealed; raises ``BadData`` for anything else."""
        try:
            sealed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            return json.loads(self._siv.decrypt(sealed, [purpose]))
        except (InvalidTag, ValueError) as exc:
            raise BadData("not a sealed token") from exc


#: How long the form on a signed link's page may be sent after the page was shown.
LINK_FORM_MAX_AGE = timedelta(hours=12)


@dataclass(frozen=True)
class RsvpChoice:
    slug: str
    response: RsvpResponse
    mode: AttendanceMode | None
    label: str


RSVP_CHOICES: dict[str, RsvpChoice] = {
    c.slug: c
    for c in (
        RsvpChoice(
            "in-person", RsvpResponse.ATTENDING, AttendanceMode.IN_PERSON, "Attend in person"
        ),
        RsvpChoice("remote", RsvpResponse.ATTENDING, AttendanceMode.REMOTE, "Join remotely"),
        RsvpChoice("decline", RsvpResponse.DECLINED, None, "Can't attend"),
    )
}


@dataclass(frozen=True)
class RsvpClaim:
    """What a valid RSVP token says: this person may answer for this meeting."""

    person_id: int
    meeting_id: int
    link_version: int


@dataclass(frozen=True)
class UnsubscribeClaim:
    person_id: int
    list_id: int
    link_version: int


@dataclass(frozen=True)
class AnswerClaim:
    """A reply address: an answer to this consultation, from this person (0 when anonymous)."""

    consultation_id: int
    person_id: int
    link_version: int


@dataclass(frozen=True)
class VolunteerClaim:
    person_id: int
    role_id: int
    link_version: int


@dataclass(frozen=True)
class JoinClaim:
    person_id: int
    list_id: int
    link_version: int


class LinkSigner:
    """Makes and checks signed URLs for the public pages."""

    def __init__(
        self,
        secret_key: str,
        base_url: str,
        max_age: timedelta,
        confirm_max_age: timedelta = timedelta(days=7),
    ) -> None:
        sealed = SealedJSON(
            hashlib.blake2b(secret_key.encode(), digest_size=64, person=b"seal.v1").digest()
        )
        self._confirm = URLSafeTimedSerializer(secret_key, salt=CONFIRM_SALT, serializer=sealed)
        self.confirm_max_age = confirm_max_age
        self._rsvp = URLSafeTimedSerializer(secret_key, salt=RSVP_SALT, serializer=sealed)
        # No timestamp: the same member and list always give the same token, so it is
        # derived when a message is composed instead of stored, and it never expires
        # (RFC 8058 expects an unsubscribe link to keep working). Revoked by link_version.
        self._unsubscribe = URLSafeSerializer(secret_key, salt=UNSUBSCRIBE_SALT, serializer=sealed)
        # Without a timestamp: the consultation's own closing date decides what is late. Sealed
        # on its own (short enough for an address); answer addresses sent before, unsealed.
        self._sealed = sealed
        self._earlier_answer = URLSafeSerializer(secret_key, salt=ANSWER_SALT)
        self._volunteer = URLSafeSerializer(secret_key, salt=VOLUNTEER_SALT, serializer=sealed)
        self._form = TimestampSigner(secret_key, salt=LINK_FORM_SALT)
        self._set_password = URLSafeTimedSerializer(
            secret_key, salt=SET_PASSWORD_SALT, serializer=sealed
        )
        self._pseudonym_key = hashlib.blake2b(
            secret_key.encode(), digest_size=32, person=b"pseudonym.v1"
        ).digest()
        self.base_url = base_url.rstrip("/")
        self.max_age = max_age

    def form_token(self, link_token: str) -> str:
        """The token a signed link's page puts in its form: bound to that link and timed.

        It proves a POST was sent from a page this service showed for this very
        link, recently, without a cookie: the public pages set none, so opening
        a link leaves nothing in the browser and a page never depends on one.
        It carries no id, only a digest of the link token.
        """
        return self._form.sign(_digest(link_token)).decode()

    def check_form_token(self, link_token: str, form_token: str) -> bool:
        """Whether ``form_token`` came from :meth:`form_token` for this link within
        LINK_FORM_MAX_AGE."""
        try:
            value = self._form.unsign(form_token, max_age=int(LINK_FORM_MAX_AGE.total_seconds()))
        except BadData:
            return False
        return hmac.compare_digest(value, _digest(link_token))

    def rsvp_token(self, person: Person, meeting: Meeting) -> str:
        return _text(self._rsvp.dumps([person.id, meeting.id, person.link_version]))

    def rsvp_url(self, person: Person, meeting: Meeting, choice: str) -> str:
        if choice not in RSVP_CHOICES:
            raise ValueError(f"unknown RSVP choice {choice!r}")
        return f"{self.base_url}/rsvp/{self.rsvp_token(person, meeting)}/{choice}"

    def rsvp_urls(self, person: Person, meeting: Meeting) -> dict[str, str]:
        token = self.rsvp_token(person, meeting)
        return {slug: f"{self.base_url}/rsvp/{token}/{slug}" for slug in RSVP_CHOICES}

    def unsubscribe_token(self, person_id: int, list_id: int, link_version: int) -> str:
        return _text(self._unsubscribe.dumps([person_id, list_id, link_version]))

    def unsubscribe_url(self, token: str) -> str:
        return f"{self.base_url}/u/{token}"

    def load_unsubscribe(self, token: str) -> UnsubscribeClaim:
        try:
            data = self._unsubscribe.loads(token)
        except BadData:
            raise InvalidLink(
                "This unsubscribe link is not valid. It may have been copied incompletely."
            ) from None
        if not _three_ints(data):
            raise InvalidLink("This unsubscribe link is not valid.")
        return UnsubscribeClaim(*data)

    def answer_token(self, consultation_id: int, person_id: int, link_version: int) -> str:
        """The detail of a per-recipient reply address; ``person_id`` 0 for an anonymous
        consultation."""
        return self._sealed.seal([consultation_id, person_id, link_version], ANSWER_SALT.encode())

    def pseudonym(self, purpose: str, value: str) -> str:
        """A keyed digest of ``value`` for one ``purpose``: the same value always gives the same
        pseudonym, which says nothing of the value without the secret key. Who answered an
        anonymous consultation (see ``ConsultationAnswer``), a client or address that is
        rate-limited (:mod:`mailer.domain.rate_limits`)."""
        message = f"{purpose}\0{value}".encode()
        return hashlib.blake2b(message, key=self._pseudonym_key, digest_size=16).hexdigest()

    def load_answer(self, token: str) -> AnswerClaim:
        try:
            data = (
                self._earlier_answer.loads(token)
                if "." in token
                else self._sealed.unseal(token, ANSWER_SALT.encode())
            )
        except BadData:
            raise InvalidLink("This reply address is not valid.") from None
        if not _three_ints(data):
            raise InvalidLink("This reply address is not valid.")
        return AnswerClaim(*data)

    def volunteer_url(self, person: Person, role_id: int) -> str:
        token = _text(self._volunteer.dumps([person.id, role_id, person.link_version]))
        return f"{self.base_url}/volunteer/{token}"

    def load_volunteer(self, token: str) -> VolunteerClaim:
        try:
            data = self._volunteer.loads(token)
        except BadData:
            raise InvalidLink(
                "This link is not valid. It may have been copied incompletely."
            ) from None
        if not _three_ints(data):
            raise InvalidLink("This link is not valid.")
        return VolunteerClaim(*data)

    def confirm_token(self, person_id: int, list_id: int, link_version: int) -> str:
        return _text(self._confirm.dumps([person_id, list_id, link_version]))

    def confirm_url(self, token: str) -> str:
        return f"{self.base_url}/confirm/{token}"

    def load_confirm(self, token: str) -> JoinClaim:
        try:
            data = self._confirm.loads(token, max_age=int(self.confirm_max_age.total_seconds()))
        except SignatureExpired:
            raise ExpiredLink(
                "This confirmation has expired. Write to the list again to get a new one."
            ) from None
        except BadData:
            raise InvalidLink(
                "This confirmation is not valid. It may have been copied incompletely."
            ) from None
        if not _three_ints(data):
            raise InvalidLink("This confirmation is not valid.")
        return JoinClaim(*data)

    def set_password_url(self, organiser_id: int, password_hash: str) -> str:
        """An organiser's link to choose a password: it works once (it is bound to the password
        it replaces) and for :data:`SET_PASSWORD_MAX_AGE`."""
        token = _text(self._set_password.dumps([organiser_id, self.password_digest(password_hash)]))
        return f"{self.base_url}/set-password/{token}"

    def load_set_password(self, token: str) -> tuple[int, str]:
        """The organiser id and password digest a set-password link carries; raises InvalidLink
        or ExpiredLink."""
        try:
            data = self._set_password.loads(
                token, max_age=int(SET_PASSWORD_MAX_AGE.total_seconds())
            )
        except SignatureExpired:
            raise ExpiredLink(
                "This link to set your password has expired. Ask an admin to send a new one."
            ) from None
        except BadData:
            raise InvalidLink(
                "This link to set your password is not valid. It may have been copied incompletely."
            ) from None
        if not (
            isinstance(data, list)
            and len(data) == 2
            and isinstance(data[0], int)
            and isinstance(data[1], str)
        ):
            raise InvalidLink("This link to set your password is not valid.")
        return data[0], data[1]

    @staticmethod
    def password_digest(password_hash: str) -> str:
        """What a set-password link holds of the password it replaces."""
        return _digest(password_hash).decode()

    def load_rsvp(self, token: str) -> RsvpClaim:
        """Check a token's signature and age; raises InvalidLink or ExpiredLink.

        Revocation and the meeting's own end are checked by the domain rule
        that uses the claim, since they need the database.
        """
        try:
            data = self._rsvp.loads(token, max_age=int(self.max_age.total_seconds()))
        except SignatureExpired:
            raise ExpiredLink("This link has expired.") from None
        except BadData:
            raise InvalidLink(
                "This link is not valid. It may have been copied incompletely."
            ) from None
        if not _three_ints(data):
            raise InvalidLink("This link is not valid.")
        return RsvpClaim(*data)


def _digest(link_token: str) -> bytes:
    return hashlib.blake2b(link_token.encode(), digest_size=12).hexdigest().encode()


def _three_ints(data: object) -> TypeGuard[list[int]]:
    return (
        isinstance(data, list)
        and len(data) == 3
        and all(isinstance(x, int) and not isinstance(x, bool) for x in data)
    )
