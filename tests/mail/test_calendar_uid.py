"""A meeting's calendar UID: written once, read back to the same meeting, ours only."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailer.mail.calendar_uid import meeting_id_of_uid, meeting_uid


@given(st.integers(min_value=1, max_value=2**63 - 1))
def test_a_meetings_uid_names_that_meeting(meeting_id: int) -> None:
    assert meeting_id_of_uid(meeting_uid(meeting_id, "lists.test"), "lists.test") == meeting_id
    assert meeting_id_of_uid(meeting_uid(meeting_id, "lists.test"), "LISTS.TEST") == meeting_id


def test_uids_of_other_domains_or_shapes_name_no_meeting() -> None:
    assert meeting_id_of_uid("meeting-7@elsewhere.example", "lists.test") is None
    assert meeting_id_of_uid("abc123@lists.test", "lists.test") is None
    assert meeting_id_of_uid("meeting-x@lists.test", "lists.test") is None
    assert meeting_id_of_uid("", "lists.test") is None
