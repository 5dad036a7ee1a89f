"""Our addresses: every kind we build is routed back to what it was built from."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailer.mail.addresses import (
    Addresses,
    LocalRecipient,
    NotOurDomain,
    join_recipient,
    mailbox_of,
    same_mailbox,
    split_recipient,
)

DOMAIN = "lists.test"
#: Slugs as lists have them: lower case letters, digits and inner hyphens, none of our own names.
slugs = st.from_regex(r"[a-z][a-z0-9]{0,10}(-[a-z0-9]{1,8})?", fullmatch=True).filter(
    lambda s: (
        s not in ("bounces", "postmaster")
        and not any(s.endswith(x) for x in ("-join", "-leave", "-request", "-answer"))
    )
)
#: Tokens as itsdangerous and uuid make them (URL-safe, case kept).
tokens = st.from_regex(r"[A-Za-z0-9_.-]{1,60}", fullmatch=True)
recipients = st.one_of(
    st.builds(
        LocalRecipient,
        st.sampled_from(["list", "join", "leave", "request", "answer"]),
        slugs,
        st.none() | tokens,
    ),
    st.builds(LocalRecipient, st.just("bounce"), st.none(), st.none() | tokens),
    st.just(LocalRecipient("postmaster")),
)


@given(recipients)
def test_every_address_we_build_routes_back_to_what_it_was_built_from(
    recipient: LocalRecipient,
) -> None:
    assert split_recipient(join_recipient(recipient, DOMAIN), DOMAIN) == recipient


@given(slugs, tokens)
def test_each_named_address_is_the_kind_it_says(slug: str, token: str) -> None:
    addresses = Addresses(DOMAIN)
    built = {
        addresses.list_address(slug): LocalRecipient("list", slug),
        addresses.join_address(slug): LocalRecipient("join", slug),
        addresses.leave_address(slug): LocalRecipient("leave", slug),
        addresses.leave_address(slug, token): LocalRecipient("leave", slug, token),
        addresses.request_address(slug): LocalRecipient("request", slug),
        addresses.answer_address(slug, token): LocalRecipient("answer", slug, token),
        addresses.bounce_address(token): LocalRecipient("bounce", detail=token),
        addresses.bounce_address(): LocalRecipient("bounce"),
        addresses.postmaster_address(): LocalRecipient("postmaster"),
    }
    for address, recipient in built.items():
        assert split_recipient(address, DOMAIN) == recipient, address


def test_the_addresses_read_as_people_see_them() -> None:
    addresses = Addresses(DOMAIN, bounce_local_part="return")
    assert addresses.list_address("forum") == "forum@lists.test"
    assert addresses.leave_address("forum", "T0k.en") == "forum-leave+T0k.en@lists.test"
    assert addresses.request_address("forum") == "forum-request@lists.test"
    assert addresses.answer_address("forum", "abc") == "forum-answer+abc@lists.test"
    assert addresses.bounce_address("abc") == "return+abc@lists.test"
    assert split_recipient("return+abc@lists.test", DOMAIN, "return") == LocalRecipient(
        "bounce", detail="abc"
    )


def test_a_new_message_and_its_bounce_address_share_one_token() -> None:
    addresses = Addresses(DOMAIN)
    identity = addresses.new_identity()
    bounce = split_recipient(identity.envelope_from, DOMAIN)
    assert bounce.kind == "bounce" and bounce.detail is not None
    assert addresses.message_id_for_verp_token(bounce.detail) == identity.message_id
    assert addresses.new_identity() != identity


def test_addresses_that_are_not_ours_or_not_addresses_are_refused() -> None:
    with pytest.raises(NotOurDomain):
        split_recipient("forum@elsewhere.example", DOMAIN)
    with pytest.raises(ValueError):
        split_recipient("no-at-sign", DOMAIN)
    with pytest.raises(ValueError):
        join_recipient(LocalRecipient("join"), DOMAIN)
    # Case and angle brackets as MTAs write them; the token keeps its case.
    assert split_recipient("<Forum-Leave+AbC@Lists.Test.>", DOMAIN) == LocalRecipient(
        "leave", "forum", "AbC"
    )


@pytest.mark.parametrize(
    ("address", "mailbox"),
    [
        ("Jo.Smith@Dept.Example.org", "jo.smith@dept.example.org"),
        ("jo+forum@dept.example.org", "jo@dept.example.org"),
        ("<jo+a+b@dept.example.org>", "jo@dept.example.org"),
        ("prvs=1234abcd=jo@dept.example.org", "jo@dept.example.org"),
        ("PRVS=0a1b2c3d4e=jo+x@dept.example.org", "jo@dept.example.org"),
    ],
)
def test_a_mailbox_is_its_address_without_tags(address: str, mailbox: str) -> None:
    assert mailbox_of(address) == mailbox


def test_an_envelope_sender_is_the_from_mailbox_only_when_it_is_the_same_inbox() -> None:
    assert same_mailbox("prvs=1234abcd=jo@dept.example.org", "Jo@Dept.Example.org")
    assert same_mailbox("jo+bounces@dept.example.org", "jo@dept.example.org")
    assert not same_mailbox("attacker@elsewhere.example", "jo@dept.example.org")
    assert not same_mailbox("jo@other.example", "jo@dept.example.org")
    assert not same_mailbox("", "jo@dept.example.org")  # a bounce (null return path)
    assert not same_mailbox(None, "jo@dept.example.org")
