"""What a person's new text asks for: clear requests act, anything else goes to a person.

Pure tests of :func:`mailer.inbound.intents.classify`, one group per concern. Each case is
(text, kind, mode); ``None`` for the mode means none was asked for.
"""

from __future__ import annotations

import re

import pytest

from mailer.domain.models import AttendanceMode
from mailer.inbound.clauses import normalise, split_clauses
from mailer.inbound.intents import Intent, IntentKind, classify

IN_PERSON, REMOTE = AttendanceMode.IN_PERSON, AttendanceMode.REMOTE
REGISTER, DECLINE, CHANGE = IntentKind.REGISTER, IntentKind.DECLINE, IntentKind.CHANGE_MODE
LEAVE, JOIN, UNCLEAR = IntentKind.LEAVE, IntentKind.JOIN, IntentKind.UNCLEAR

Case = tuple[str, IntentKind, AttendanceMode | None]


def check(cases: list[Case], answering: str | None = None) -> None:
    """Every case, with all the wrong ones reported at once."""
    wrong = []
    for text, kind, mode in cases:
        got = classify(text, answering=answering)
        if (got.kind, got.mode) != (kind, mode):
            wrong.append(f"{text!r}: expected {kind}/{mode}, got {got.kind}/{got.mode} {got}")
    assert not wrong, "\n".join(wrong)


def unclear_because(reason: str, texts: list[str], answering: str | None = None) -> None:
    wrong = []
    for text in texts:
        got = classify(text, answering=answering)
        if (got.kind, got.reason) != (UNCLEAR, reason):
            wrong.append(f"{text!r}: expected unclear ({reason}), got {got}")
    assert not wrong, "\n".join(wrong)


# --- the contract ------------------------------------------------------------------------------


def test_kinds_compare_equal_to_their_old_strings() -> None:
    assert classify("Please register me").kind == "register"
    assert classify("Sorry, I can't make it").kind == "decline"
    assert classify("Please unsubscribe me").kind == "leave"
    assert classify("What time does it start?").kind == "unclear"
    assert {k.value for k in IntentKind} == {
        "register",
        "decline",
        "change_mode",
        "leave",
        "join",
        "unclear",
    }


def test_an_intent_defaults_to_no_mode_no_question_no_fallback() -> None:
    assert Intent(REGISTER) == Intent(REGISTER, None, False, None, "")


def test_every_intent_has_a_reason_for_the_log() -> None:
    for text in ["Please register me", "Thanks", "", "Please register my colleague", "No"]:
        assert classify(text).reason


def test_reasons_say_what_was_understood() -> None:
    assert classify("Please register me, I'll dial in").reason == "asks to register, remotely"
    assert classify("Please unsubscribe me").reason == "asks to leave the list"
    intent = classify("I'd like to attend in person if there's space, otherwise remotely")
    assert intent.reason == "asks to register, in person, otherwise remotely"


# --- registrations and declines said plainly ---------------------------------------------------


def test_registrations() -> None:
    check(
        [
            ("Please register me", REGISTER, None),
            ("Please register me for the forum.\n\nKind regards\nAlex", REGISTER, None),
            ("register me", REGISTER, None),
            ("Sign me up please.", REGISTER, None),
            ("Sign me up for the forum on the 12th", REGISTER, None),
            ("Count me in!", REGISTER, None),
            ("Please book me a place.", REGISTER, None),
            ("Could you book me in please", REGISTER, None),
            ("Put me down for the meeting please.", REGISTER, None),
            ("Please reserve a place for me.", REGISTER, None),
            ("Please reserve me a seat", REGISTER, None),
            ("I'd like to attend.", REGISTER, None),
            ("I would like to attend the next Leaders Forum.", REGISTER, None),
            ("I'd like to come along", REGISTER, None),
            ("I will attend.", REGISTER, None),
            ("I'll be there.", REGISTER, None),
            ("I'm coming!", REGISTER, None),
            ("Yes - I'll be there. Please register me.", REGISTER, None),
            ("I plan to attend", REGISTER, None),
            ("I hope to attend.", REGISTER, None),
            ("Hoping to come along - please register me.", REGISTER, None),
            ("I'd love to come", REGISTER, None),
            ("I'd be delighted to attend.", REGISTER, None),
            ("Happy to attend.", REGISTER, None),
            ("I am attending.", REGISTER, None),
            ("Will attend.", REGISTER, None),
            ("Definitely attending, thanks", REGISTER, None),
            ("I can make it.", REGISTER, None),
            ("I'm registering myself for the March forum.", REGISTER, None),
            ("Registration please for the March forum.", REGISTER, None),
            ("I accept, thank you", REGISTER, None),
            ("Thank you for the invitation, I'm looking forward to attending.", REGISTER, None),
            ("Apologies for the late reply - please register me.", REGISTER, None),
            ("I haven't registered yet, please register me.", REGISTER, None),
            ("Please add me to the attendee list.", REGISTER, None),
            (
                "Thanks, I'll be there. Please let me know if you need anything else.",
                REGISTER,
                None,
            ),
        ]
    )


def test_declines() -> None:
    check(
        [
            ("I can't make it.", DECLINE, None),
            ("Sorry, I can't make it this time. Please keep me on the list.", DECLINE, None),
            ("I cannot attend this one but would like to hear about the next.", DECLINE, None),
            ("I won't be able to attend, sorry.", DECLINE, None),
            ("I won't make it on the day unfortunately.", DECLINE, None),
            ("Unfortunately I'm unable to attend.", DECLINE, None),
            ("Not able to make it, sorry", DECLINE, None),
            ("I'm not able to join on the 12th.", DECLINE, None),
            ("I'm not attending.", DECLINE, None),
            ("Not attending this time, sorry.", DECLINE, None),
            ("I can no longer attend.", DECLINE, None),
            ("No longer able to attend.", DECLINE, None),
            ("I will not be there.", DECLINE, None),
            ("I won't be coming.", DECLINE, None),
            ("I can't do the 12th, sorry.", DECLINE, None),
            ("I don't think I can make it.", DECLINE, None),
            ("I'd rather not attend this one.", DECLINE, None),
            ("Please send my apologies.", DECLINE, None),
            ("Please send my apologies for the next meeting.", DECLINE, None),
            ("Apologies for absence please.", DECLINE, None),
            ("Please accept my apologies.", DECLINE, None),
            ("Apologies, I have a clash.", DECLINE, None),
            ("Sadly I can't come, it clashes with our board.", DECLINE, None),
            ("I have a prior commitment that day.", DECLINE, None),
            ("I've been double booked, so I'll have to decline.", DECLINE, None),
            ("Please count me out.", DECLINE, None),
            ("Count me out for March.", DECLINE, None),
            ("I have to decline this time, apologies.", DECLINE, None),
            ("I'm afraid I must decline.", DECLINE, None),
            ("I'll have to give this one a miss.", DECLINE, None),
            ("I'll sit this one out.", DECLINE, None),
            ("Please cancel my place.", DECLINE, None),
            ("Please cancel my registration, something has come up.", DECLINE, None),
            ("Please remove me from the attendee list.", DECLINE, None),
            ("Please take me off the guest list for Tuesday.", DECLINE, None),
            ("I'd like to withdraw my registration.", DECLINE, None),
            ("I'm unavailable that day.", DECLINE, None),
            ("Please give my place to someone else.", DECLINE, None),
            ("I'd love to come but I can't.", DECLINE, None),
            ("Would love to but can't make it.", DECLINE, None),
            ("I won't be attending in person or online.", DECLINE, None),
        ]
    )


def test_a_decline_may_name_the_meeting_it_will_miss() -> None:
    check(
        [
            (
                "I'm afraid I won't make the June meeting of the forum - it's the same day as our "
                "annual conference. Apologies.",
                DECLINE,
                None,
            ),
            ("I won't make the next meeting.", DECLINE, None),
            ("Can't make March, sorry.", DECLINE, None),
            ("Sorry, I'm on annual leave that whole week so won't make June.", DECLINE, None),
            ("I'll make the March forum.", REGISTER, None),
        ]
    )


def test_both_ways_of_attending_ruled_out_is_a_decline() -> None:
    check(
        [
            (
                "Sadly I won't be able to join in person or online this time - I'm in a tribunal "
                "all day.",
                DECLINE,
                None,
            ),
            ("I can't dial in or come in person this time, sorry.", DECLINE, None),
            ("I won't be able to attend in person or by phone.", DECLINE, None),
        ],
        answering="invitation",
    )
    unclear_because("rules out one way of attending only", ["I can't join in person, sorry."])


def test_an_absence_is_a_decline_in_answer_to_an_invitation_or_with_regret() -> None:
    check([("I'm on leave that day.", DECLINE, None)], answering="invitation")
    check([("I'm on leave that day.", DECLINE, None)], answering="reminder")
    check(
        [
            ("Sorry, I'm on leave.", DECLINE, None),
            ("Unfortunately I will be on holiday then.", DECLINE, None),
        ]
    )
    unclear_because(
        "mentions being away, but not clearly from the meeting",
        ["I'm on leave that day.", "I will be away next week."],
    )
    unclear_because(
        "mentions being away, but not clearly from the meeting",
        ["I'm on leave until Monday."],
        answering="invitation",
    )


# --- negation ----------------------------------------------------------------------------------


def test_a_negated_request_is_never_acted_on() -> None:
    unclear_because(
        "negated",
        [
            "Please don't register me.",
            "please do not register me",
            "Please don't unsubscribe me.",
            "Do not remove me from the mailing list, I still want to hear about the forum.",
            "I'm not leaving the network.",
            "I don't want to be unsubscribed.",
            "Please don't sign me up, I'll book through the website.",
            "I don't want to switch to remote.",
            "I don't want to join the mailing list.",
            "Please do not book me a place.",
        ],
    )


def test_a_negation_in_a_clause_that_only_tells_leaves_the_request_alone() -> None:
    check(
        [
            (
                "Can I attend the March forum? I've only just taken over as chair so I may not be "
                "on your list yet.",
                REGISTER,
                None,
            ),
            ("Please register me. I'm new, so I might not be on your list.", REGISTER, None),
            ("Please register me. I'm not on your list yet.", REGISTER, None),
            ("I'd like to attend. I don't want to join the mailing list though.", REGISTER, None),
            ("I can't attend. Please don't remove me from the list.", DECLINE, None),
        ]
    )


def test_a_negated_request_about_the_same_thing_as_the_request_still_counts() -> None:
    unclear_because(
        "negated",
        [
            "Please do not register me. I will dial in to the stream.",
            "I'm not leaving the list. Please take me off the list.",
            "I'd like to attend. Please don't register my colleague.",
        ],
    )


def test_a_negated_attendance_is_a_decline_unless_it_rules_out_one_mode_only() -> None:
    check(
        [
            ("I will not be attending in person, but I will dial in", REGISTER, REMOTE),
            ("I can't make it in person, but I'll dial in.", REGISTER, REMOTE),
            ("Register me please. Not in person this time, I'll dial in.", REGISTER, REMOTE),
            ("I won't be in the room but will join on Teams.", REGISTER, REMOTE),
            ("I can't join online but I'll come in person.", REGISTER, IN_PERSON),
            ("I'd like to attend, but not in person.", REGISTER, REMOTE),
            ("I'd like to attend, dialling in rather than coming in person.", REGISTER, REMOTE),
            ("Please sign me up - I'll join remotely instead of in person.", REGISTER, REMOTE),
            ("I'll join remotely, not in person.", REGISTER, REMOTE),
        ]
    )
    unclear_because(
        "rules out one way of attending only",
        ["I can't make it in person.", "I won't be attending in person."],
    )


# --- conditionals ------------------------------------------------------------------------------


def test_a_tentative_or_conditional_request_goes_to_a_person() -> None:
    unclear_because(
        "conditional",
        [
            "I might be able to attend.",
            "I may be able to attend, I'll let you know.",
            "I'll probably come.",
            "Hopefully I'll be there.",
            "I will confirm nearer the time.",
            "I'm hoping to attend but will confirm nearer the time.",
            "Not sure yet, I'll get back to you.",
            "Attendance tbc.",
            "Depending on my diary, I'd like to attend.",
            "I'd like to attend, subject to my manager's approval.",
            "If I can get cover, I'll attend.",
            "I'll come if I can.",
            "I'll attend if the train strike is called off.",
            "Please register me provisionally.",
            "I should be able to make it.",
            "I'll try to attend.",
            "I'll do my best to be there.",
            "Pencil me in please.",
            "I'm not sure I can attend.",
            "I'd like to attend unless something comes up.",
            "I can dial in if needed.",
            "Maybe - can I let you know next week?",
        ],
    )


def test_a_hedge_in_a_clause_that_only_tells_leaves_the_request_alone() -> None:
    check(
        [
            ("Please register me. Hopefully the trains will be running!", REGISTER, None),
            ("I can't make it this time, sorry. Hopefully next time!", DECLINE, None),
            (
                "Sorry, I'm on annual leave that whole week so won't make June. Hopefully see "
                "you in March though!",
                DECLINE,
                None,
            ),
            (
                "Sorry, I'm on annual leave that whole week so won't make June. Hopefully\nsee "
                "you in March though!\n\nAlex",
                DECLINE,
                None,
            ),
        ],
        answering="invitation",
    )
    # but a condition, a promise to confirm, or a hedge alone holds back a request made elsewhere
    unclear_because(
        "conditional",
        [
            "I'll attend. If I can get cover.",
            "I'm free that morning. If I can get cover, I'll attend.",
            "Please register me. Thanks. I'll confirm nearer the time.",
            "Please register me. Maybe.",
            "Please register me. I'm not sure yet whether I can come.",
        ],
    )
    unclear_because("conditional", ["Yes. Hopefully.", "Maybe"], answering="invitation")


def test_a_way_of_attending_left_open_is_not_a_condition_on_the_registration() -> None:
    for answering in ["invitation", None]:
        check(
            [
                (
                    "Could you register me for this please? I haven't decided yet whether I'll "
                    "come in or join online, I'll let you know.",
                    REGISTER,
                    None,
                ),
                (
                    "Please could you add me to the attendee list for the 12th? I'll confirm "
                    "whether I'm in the room or online once I know my diary.",
                    REGISTER,
                    None,
                ),
                ("Please register me, not sure yet how I'll attend.", REGISTER, None),
                ("Please book me a place. Not sure if in person or remote yet.", REGISTER, None),
            ],
            answering=answering,
        )
    unclear_because(
        "no request found",
        ["I'm not sure whether I'll come in person or online."],
        answering="invitation",
    )


def test_politeness_is_not_a_condition() -> None:
    check(
        [
            ("I'll dial in if that's ok.", REGISTER, REMOTE),
            ("I'd like to join remotely if that's alright.", REGISTER, REMOTE),
            ("Please register me to attend in person if possible.", REGISTER, IN_PERSON),
            ("I'll come in person, if that is OK with you.", REGISTER, IN_PERSON),
            ("Please register me if it's not too late.", REGISTER, None),
            ("Please register me, if there is still space.", REGISTER, None),
            ("I'll dial in, is that ok?", REGISTER, REMOTE),
            ("Please register me. Let me know if you need anything else from me.", REGISTER, None),
            ("I'll be there but may have to leave early.", REGISTER, None),
            ("I'll attend in person, but might be a few minutes late.", REGISTER, IN_PERSON),
        ]
    )


# --- fallbacks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mode", "fallback"),
    [
        ("I'd like to attend in person if there's space, otherwise remotely.", IN_PERSON, REMOTE),
        ("Please register me: in person if there's space, otherwise remotely.", IN_PERSON, REMOTE),
        ("Please register me in person if possible, otherwise I'll dial in.", IN_PERSON, REMOTE),
        ("Please book me in - in person, or online if it's full.", IN_PERSON, REMOTE),
        ("I'd like to come in person, failing that I'll join on Teams.", IN_PERSON, REMOTE),
        ("Register me please. Preferably in person, but happy to dial in.", IN_PERSON, REMOTE),
        ("I'll attend in person, but can dial in if needed.", IN_PERSON, REMOTE),
        ("I'd like to join remotely if possible, otherwise I'll come in.", REMOTE, IN_PERSON),
        ("I'd like to register. In person if there is room; if not, remotely.", IN_PERSON, REMOTE),
        ("Would like to come in person - if it's full I'll join online instead", IN_PERSON, REMOTE),
        (
            "Please register me in person. If that's not possible, I'll dial in instead.",
            IN_PERSON,
            REMOTE,
        ),
    ],
)
def test_a_fallback_is_a_registration_with_a_second_choice(
    text: str, mode: AttendanceMode, fallback: AttendanceMode
) -> None:
    intent = classify(text)
    assert (intent.kind, intent.mode, intent.fallback) == (REGISTER, mode, fallback), intent


@pytest.mark.parametrize(
    "text",
    [
        "Teams ideally, but I can come in if you need the numbers in the room.",
        "I'd like to join online, but can come in person if you need people in the room.",
        "Please register me remotely - I can come in if you'd like more people there.",
    ],
)
def test_if_the_organisers_need_it_is_a_second_choice(text: str) -> None:
    intent = classify(text)
    assert (intent.kind, intent.mode, intent.fallback) == (REGISTER, REMOTE, IN_PERSON), intent
    # with no first choice, it is only a condition
    unclear_because("conditional", ["I can come in if you need me.", "I can dial in if needed."])


def test_both_modes_without_an_order_leave_the_mode_open() -> None:
    for text in [
        "Please register me, I can attend in person or online.",
        "Happy to attend either in person or remotely.",
    ]:
        intent = classify(text)
        assert (intent.kind, intent.mode, intent.fallback) == (REGISTER, None, None), intent


def test_a_fallback_in_answer_to_an_invitation_needs_no_verb() -> None:
    intent = classify("In person if there's space, otherwise remotely.", answering="invitation")
    assert (intent.kind, intent.mode, intent.fallback) == (REGISTER, IN_PERSON, REMOTE)


# --- someone else ------------------------------------------------------------------------------


def test_a_request_about_someone_else_goes_to_a_person() -> None:
    unclear_because(
        "about someone else",
        [
            "Please register my colleague.",
            "My deputy will come instead of me, is that ok?",
            "My manager would like to attend.",
            "A colleague would like to come along too.",
            "I'm writing on behalf of the Disability Network to register.",
            "Jo Bloggs will attend in my place.",
            "Can Sam come instead of me?",
            "Please register me and a colleague.",
            "Please register me and Sam Jones.",
            "Both of us would like to attend.",
            "Please register us both.",
            "We will be there.",
            "We'd like to attend in person.",
            "Please register Jo Bloggs.",
            "Please register Jo Bloggs for the forum, she'll dial in.",
            "PLEASE REGISTER JO BLOGGS",
            "Could you book two places please?",
            "Please reserve a place for Priya.",
            "Can I register someone else from my network?",
            "Please unsubscribe my colleague, she has left the department.",
            "My team would like to join the mailing list.",
            "Can I bring a guest?",
            "Jo and I will both be there.",
            "Please sign Jo up.",
            "My deputy can't make it.",
        ],
    )


def test_someone_else_named_in_a_clause_that_only_tells_leaves_the_request_alone() -> None:
    check(
        [
            (
                "I've moved to a new role and no longer chair the Race Equality Network, so please "
                "remove me from the list. My successor will be in touch.",
                LEAVE,
                None,
            ),
            ("Please take me off the mailing list. My deputy will be in touch.", LEAVE, None),
            ("I'll attend in person. We're all looking forward to it.", REGISTER, IN_PERSON),
            ("Please register me. We are really looking forward to it.", REGISTER, None),
        ]
    )


def test_someone_else_added_or_stood_in_for_anywhere_still_counts() -> None:
    unclear_because(
        "about someone else",
        [
            "Please register me. I'm standing in for Jo.",
            "Please register me, I'm covering for our chair.",
            "Please register me. My deputy too.",
            "Please register me. And my colleague Jo Bloggs.",
            "Please register me. My colleague Sam would also like to come.",
            "Please register me, though I might have to send a deputy.",
        ],
    )
    unclear_because("about someone else", ["Yes - and my colleague too"], answering="invitation")


def test_the_sender_alone_is_the_sender() -> None:
    check(
        [
            ("I'm registering myself.", REGISTER, None),
            ("Please register me - just me, thanks.", REGISTER, None),
            ("My manager has approved my attendance, please register me.", REGISTER, None),
            ("A colleague forwarded me this - please register me.", REGISTER, None),
            (
                "As chair of the DWP network I'd like to register. I'll come in person.",
                REGISTER,
                IN_PERSON,
            ),
            ("Please register me for the March forum", REGISTER, None),
            ("Please book me a place for Tuesday.", REGISTER, None),
        ]
    )


# --- mode changes ------------------------------------------------------------------------------


def test_mode_changes() -> None:
    check(
        [
            ("Please change my registration from in person to remote.", CHANGE, REMOTE),
            ("Could you switch me from in person to remote please?", CHANGE, REMOTE),
            ("Please switch me to Teams.", CHANGE, REMOTE),
            ("Can you change me to remote?", CHANGE, REMOTE),
            ("Please change me to remote, I can no longer travel.", CHANGE, REMOTE),
            ("I'll come in person instead.", CHANGE, IN_PERSON),
            ("Can I switch to dialling in?", CHANGE, REMOTE),
            ("I'd like to switch to online attendance please.", CHANGE, REMOTE),
            ("Change of plan: I'll dial in instead.", CHANGE, REMOTE),
            ("Could I move from remote to in person?", CHANGE, IN_PERSON),
            ("I can come in person after all.", CHANGE, IN_PERSON),
            ("Please update my booking to in person.", CHANGE, IN_PERSON),
            ("I'd like to change from online to face to face.", CHANGE, IN_PERSON),
            ("Instead, I'll join on Zoom.", CHANGE, REMOTE),
            ("I can't come in person any more, please switch me to online.", CHANGE, REMOTE),
            ("I'll now be joining remotely.", CHANGE, REMOTE),
        ]
    )
    unclear_because(
        "question only",
        ["Can I change my registration?", "Is it possible to change how I attend?"],
    )


# --- mode vocabulary ---------------------------------------------------------------------------


def test_ways_of_attending() -> None:
    remote = [
        "remotely",
        "remote",
        "online",
        "virtually",
        "by dialling in",
        "via dial-in",
        "on Teams",
        "via Teams",
        "on Zoom",
        "by video",
        "by phone",
        "from home",
    ]
    in_person = [
        "in person",
        "in-person",
        "face to face",
        "on site",
        "in the room",
        "physically",
        "at the venue",
    ]
    check([(f"Please register me to attend {w}.", REGISTER, REMOTE) for w in remote])
    check([(f"Please register me to attend {w}.", REGISTER, IN_PERSON) for w in in_person])
    check(
        [
            ("I'll dial in.", REGISTER, REMOTE),
            ("I'll join the call.", REGISTER, REMOTE),
            ("I'd like to attend the virtual session.", REGISTER, REMOTE),
            ("I'll be dialling in.", REGISTER, REMOTE),
            ("I'll be coming in.", REGISTER, IN_PERSON),
            ("Please register me, I'll come to London for it.", REGISTER, IN_PERSON),
            ("Please book me a place, I'll come in.", REGISTER, IN_PERSON),
            ("I will attend, in person.", REGISTER, IN_PERSON),
            ("Count me in, I'll join on Teams.", REGISTER, REMOTE),
            ("Registration please for the March forum - remote.", REGISTER, REMOTE),
            ("I'd like to register and join online.", REGISTER, REMOTE),
            ("Please register me, I'll come in the afternoon.", REGISTER, None),
        ]
    )


# --- polite requests and questions --------------------------------------------------------------


def test_polite_requests_phrased_as_questions_are_requests() -> None:
    check(
        [
            ("Can I attend?", REGISTER, None),
            ("Could you register me?", REGISTER, None),
            ("Could you register me please? I'll join remotely.", REGISTER, REMOTE),
            ("May I come?", REGISTER, None),
            ("Is it possible to register?", REGISTER, None),
            ("Would it be possible to book me a place?", REGISTER, None),
            ("Please could you put me down for Tuesday?", REGISTER, None),
            ("Can I attend remotely?", REGISTER, REMOTE),
            ("Is it possible to join remotely?", REGISTER, REMOTE),
            ("I was wondering if I could come along?", REGISTER, None),
            ("Could I have a place please?", REGISTER, None),
            ("can i come", REGISTER, None),
            ("Can you take me off this list? I've moved roles.", LEAVE, None),
            ("Could you unsubscribe me please?", LEAVE, None),
            ("How do I unsubscribe?", LEAVE, None),
        ]
    )
    for text in ["Can I attend?", "Could you register me?"]:
        assert not classify(text).question


def test_a_question_alone_goes_to_a_person_and_is_marked() -> None:
    texts = [
        "What time does it start?",
        "Is there step-free access?",
        "Will slides be shared?",
        "Could you send me the slides afterwards?",
        "Is the venue step-free? I use a wheelchair.",
        "Will the agenda be circulated before the meeting?",
        "I'm vegan - will there be lunch?",
        "Will the session be recorded?",
        "Do I need to register?",
        "How do I register?",
        "Who else is attending from DWP?",
        "Will there be a dial-in option?",
        "Is it in person or online?",
        "what time does it finish",
        "I might be late, is that a problem?",
        "Please could you send me the joining instructions.",
    ]
    unclear_because("question only", texts)
    assert all(classify(t).question for t in texts)


def test_a_request_that_also_asks_a_question_keeps_both() -> None:
    for text, kind in [
        ("Please register me. What time does it start?", REGISTER),
        ("I'll be there. Is there parking nearby?", REGISTER),
        ("Please register me, and could you send me the slides?", REGISTER),
        ("I'll attend in person - is there step-free access?", REGISTER),
        ("Sorry, I can't make it. Will the session be recorded?", DECLINE),
        ("I'm afraid I can't make it, is there a recording?", DECLINE),
        ("Please unsubscribe me. Why am I getting these?", LEAVE),
    ]:
        intent = classify(text)
        assert (intent.kind, intent.question) == (kind, True), (text, intent)
    assert classify("I'll attend in person - is there step-free access?").mode == IN_PERSON


def test_a_way_of_attending_named_in_a_question_is_not_asked_for() -> None:
    intent = classify("Please register me. Will there be a dial-in option?")
    assert (intent.kind, intent.mode, intent.question) == (REGISTER, None, True)


# --- one-word and short replies ----------------------------------------------------------------

YES = ["Yes", "Yes please", "Yes please!", "yes", "YES", "Accept", "Accepted", "Count me in",
       "\U0001f44d", "\U0001f44d\U0001f3fd", "Yes please.\n\nAlex", "Hi Jo,\n\nYes please.\n\nSam",
       "Yes, definitely", "Yes thanks"]  # fmt: skip
NO = ["No", "No, sorry.", "Decline", "Sorry no", "No thank you", "Not this time, sorry",
      "Unfortunately not", "no sorry", "Declined"]  # fmt: skip
THANKS = ["Thanks!", "Thank you", "Noted", "Received", "Thanks, noted.", "Many thanks\n\nAlex",
          "OK thanks"]  # fmt: skip


@pytest.mark.parametrize("answering", ["invitation", "agenda", "reminder"])
def test_short_replies_to_an_invitation(answering: str) -> None:
    check([(t, REGISTER, None) for t in YES], answering=answering)
    check([(t, DECLINE, None) for t in NO], answering=answering)
    unclear_because("acknowledgement", THANKS, answering=answering)
    check(
        [
            ("Yes please, in person.", REGISTER, IN_PERSON),
            ("Yes - remotely please", REGISTER, REMOTE),
            ("In person please", REGISTER, IN_PERSON),
            ("Yes please. I'll dial in.", REGISTER, REMOTE),
        ],
        answering=answering,
    )


def test_short_answers_may_name_the_meeting_and_the_way_of_attending() -> None:
    check(
        [
            ("I'm in.", REGISTER, None),
            ("Yes, I'm in", REGISTER, None),
            ("Remote for me please", REGISTER, REMOTE),
            ("Online for me, thanks", REGISTER, REMOTE),
            ("Yes for the 12th please", REGISTER, None),
            ("Teams ideally", REGISTER, REMOTE),
            ("Zoom please", REGISTER, REMOTE),
            (
                "Count me in for the room please - it's been ages since we were all together.",
                REGISTER,
                IN_PERSON,
            ),
        ],
        answering="invitation",
    )
    unclear_because("no request found", ["I'm in London that day."], answering="invitation")


def test_a_short_answer_may_be_followed_by_a_remark() -> None:
    check(
        [
            (
                "In person for me. And thanks for sorting the accessible room last time.",
                REGISTER,
                IN_PERSON,
            ),
            (
                "Yes - in person for June please. I'll be up for the week anyway.",
                REGISTER,
                IN_PERSON,
            ),
            ("Not this time, sorry - we've got inspectors in that week.", DECLINE, None),
            ("No, sorry. We have an inspection that week.", DECLINE, None),
            ("No thanks, I'll pass.", DECLINE, None),
        ],
        answering="invitation",
    )
    # a remark with a word of a request in it is not a remark, and a no names no way of attending
    unclear_because(
        "no request found",
        ["No, I've already registered.", "No, in person"],
        answering="invitation",
    )


def test_what_someone_is_thanked_for_is_not_asked_for() -> None:
    thanked = "In person for me. And thanks for sorting the accessible room last time."
    assert not classify(thanked, answering="invitation").question
    assert classify("In person for me. I need an accessible room.", answering="invitation").question
    assert classify("Thanks for the invite please send me the slides").question


@pytest.mark.parametrize("answering", [None, "confirmation", "update", "news", "consultation"])
def test_the_same_words_answering_anything_else_are_unclear(answering: str | None) -> None:
    for text in [t for t in YES + NO if t != "Count me in"]:
        got = classify(text, answering=answering)
        assert got.kind is UNCLEAR, (text, answering, got)
        assert got.reason.startswith("a bare"), (text, got)
    unclear_because("acknowledgement", THANKS, answering=answering)
    assert classify("Count me in", answering=answering).kind is REGISTER


# --- leave and join ----------------------------------------------------------------------------


def test_leave() -> None:
    check(
        [
            ("Please unsubscribe me.", LEAVE, None),
            ("Unsubscribe", LEAVE, None),
            ("UNSUBSCRIBE", LEAVE, None),
            ("Please remove me from the list.", LEAVE, None),
            ("Please remove me from the mailing list.", LEAVE, None),
            ("Please remove me from your distribution list.", LEAVE, None),
            ("Can you take me off the list please.", LEAVE, None),
            ("Please take me off this list, I've moved roles.", LEAVE, None),
            ("Please stop emailing me.", LEAVE, None),
            ("Please stop sending me these emails.", LEAVE, None),
            ("I'd like to leave the network.", LEAVE, None),
            ("I wish to leave the list.", LEAVE, None),
            ("I'm leaving the department, please remove me from the list.", LEAVE, None),
            ("I'd like to opt out.", LEAVE, None),
            ("Please opt me out of these emails.", LEAVE, None),
            ("I no longer wish to receive these emails.", LEAVE, None),
            ("I don't want to receive these any more.", LEAVE, None),
            ("I tried to unsubscribe and I'm still getting these.", LEAVE, None),
            (
                "I tried to unsubscribe last month and I keep getting these. Please just take me "
                "off the list.",
                LEAVE,
                None,
            ),
            ("I tried to unsubscribe yesterday but I still get them", LEAVE, None),
            ("I unsubscribed last month but I'm still receiving emails.", LEAVE, None),
            ("I clicked the unsubscribe link but I am still getting emails.", LEAVE, None),
            ("Your unsubscribe link doesn't work, please remove me from the list.", LEAVE, None),
            ("Please remove me from the list for the forum.", LEAVE, None),
            ("Please remove me.", LEAVE, None),
        ]
    )
    unclear_because(
        "question only",
        ["Your unsubscribe link is broken, can you fix it?"],
    )
    unclear_because(
        "no request found",
        ["Your unsubscribe link is broken.", "FYI the unsubscribe button at the bottom is broken"],
    )


def test_a_bare_remove_me_in_answer_to_a_meeting_message_is_unclear() -> None:
    unclear_because(
        "remove from what: the list or the meeting", ["Please remove me."], answering="invitation"
    )
    unclear_because(
        "remove from what: the list or the meeting", ["Take me off please"], answering="reminder"
    )


def test_a_bare_remove_me_is_from_the_list_when_the_message_names_it() -> None:
    check(
        [
            (
                "Hello, I asked to be removed from this list back in January and I'm still getting "
                "invitations. I stepped down as network chair last year. Please remove me.",
                LEAVE,
                None,
            ),
            ("Please remove me. I don't want any more emails from this list.", LEAVE, None),
        ],
        answering="invitation",
    )
    unclear_because(
        "remove from what: the list or the meeting",
        ["Thanks for the list of attendees. Please remove me."],
        answering="invitation",
    )


def test_join() -> None:
    check(
        [
            ("Please add me to the mailing list.", JOIN, None),
            ("I'd like to join the network.", JOIN, None),
            ("Subscribe me please", JOIN, None),
            ("subscribe", JOIN, None),
            ("Please sign me up to the network.", JOIN, None),
            ("Sign me up to the mailing list please", JOIN, None),
            ("Please add me to the list for the forum.", JOIN, None),
            ("I'd like to be added to the distribution list.", JOIN, None),
            ("Could I join the Leaders Network mailing list?", JOIN, None),
            ("I would like to subscribe to the newsletter.", JOIN, None),
            ("Could I be added to the forum mailing list, please?", JOIN, None),
            (
                "I'd like to sign up to the Leaders of Networks Forum mailing list please.",
                JOIN,
                None,
            ),
            ("Please add me to the Leaders Forum distribution list", JOIN, None),
            ("Please sign me up for the forum.", REGISTER, None),
            ("Sign me up for the March forum please", REGISTER, None),
            ("I'd like to join the meeting on the 12th.", REGISTER, None),
            ("I'd like to join the Leaders of Networks Forum on Tuesday.", REGISTER, None),
        ]
    )


# --- several requests --------------------------------------------------------------------------


def test_several_different_requests_go_to_a_person() -> None:
    unclear_because(
        "several requests",
        [
            "Please register me. Actually, I can't make it.",
            "Please register me and unsubscribe me from the newsletter.",
            "I can't make it, please remove me from the list.",
            "Please add me to the mailing list and cancel my place.",
        ],
    )


def test_the_same_request_twice_is_that_request() -> None:
    check(
        [
            ("Please register me. I'll be there!", REGISTER, None),
            ("I'm coming! Please register me.", REGISTER, None),
            ("Please register me, I will join by video.", REGISTER, REMOTE),
            ("Unsubscribe. Please remove me from the list.", LEAVE, None),
            ("Sorry, I can't make it. Please send my apologies.", DECLINE, None),
            ("Please register me and I'll dial in. See you on Teams!", REGISTER, REMOTE),
        ]
    )


# --- typos and the way people type ---------------------------------------------------------------


def test_typos() -> None:
    check(
        [
            ("plese register me", REGISTER, None),
            ("pls register me", REGISTER, None),
            ("Please regster me", REGISTER, None),
            ("Please registr me for the forum", REGISTER, None),
            ("Please regiser me", REGISTER, None),
            ("I'd like to attnd in person", REGISTER, IN_PERSON),
            ("I would like to atend remotley", REGISTER, REMOTE),
            ("I cant make it", DECLINE, None),
            ("I cant attend sorry", DECLINE, None),
            ("I wont be able to attend", DECLINE, None),
            ("Im not attending", DECLINE, None),
            ("Ill be there", REGISTER, None),
            ("Id like to attend", REGISTER, None),
            ("please unsubscibe me", LEAVE, None),
            ("Please unsubcribe me", LEAVE, None),
            ("please unsubsribe me", LEAVE, None),
            ("Plz dont register me", UNCLEAR, None),
            ("Please remove me form the list", LEAVE, None),
            ("I'd like to atttend in persn", REGISTER, IN_PERSON),
            ("Apologeis, I can't make it", DECLINE, None),
            ("swich me to remote pls, cant travel now", CHANGE, REMOTE),
            ("Please swtich me to online", CHANGE, REMOTE),
            ("Could you swpa me to in person?", CHANGE, IN_PERSON),
            ("Please chnage me to remote", CHANGE, REMOTE),
        ]
    )


def test_the_typo_check_leaves_real_words_alone() -> None:
    assert normalise("I am pleased to attend") == "I am pleased to attend"
    assert normalise("remote, not remove") == "remote, not remove"
    assert normalise("I have subscribed") == "I have subscribed"
    assert normalise("I attended last time") == "I attended last time"
    real = "stitch snitch swatch swan sway swamp swaps soap slap snap swam swat swab charge chance"
    assert normalise(real) == real
    assert normalise("the changes, changed") == "the changes, changed"


def test_how_people_type() -> None:
    check(
        [
            ("I won\u2019t be able to attend, sorry.", DECLINE, None),
            ("I can\u2019t make it \u2013 apologies", DECLINE, None),
            ("I\u2019m coming!", REGISTER, None),
            ("Please\u00a0register\u00a0me", REGISTER, None),
            ("Please register me \U0001f60a", REGISTER, None),
            ("PLEASE REGISTER ME, I WILL DIAL IN", REGISTER, REMOTE),
            ("I CANT MAKE IT SORRY", DECLINE, None),
            ("please register me i will join on teams thanks", REGISTER, REMOTE),
            ("hi can i come in person thanks", REGISTER, IN_PERSON),
            ("Please register me\u200b for the forum", REGISTER, None),
            ("Please  register   me\r\n\r\nThanks", REGISTER, None),
            ("  ", UNCLEAR, None),
            ("", UNCLEAR, None),
            ("!!!", UNCLEAR, None),
        ]
    )


# --- the subject -------------------------------------------------------------------------------


def test_the_subject_is_read_only_when_the_body_is_empty() -> None:
    assert classify("", subject="Please register me").kind is REGISTER
    assert classify("", subject="Register").kind is REGISTER
    assert classify("", subject="Unsubscribe").kind is LEAVE
    assert classify("  \n", subject="Apologies - can't make the 12th").kind is DECLINE
    assert classify("What time does it start?", subject="Register").kind is UNCLEAR


def test_the_subject_is_read_when_the_body_is_only_a_signature() -> None:
    signature = "Alex Seddon\nChair, LGBT+ Staff Network\nInsolvency Service | 16th Floor"
    assert classify(signature, subject="Please add me to the mailing list").kind is JOIN
    intent = classify(signature, subject="Register me for 12 March forum - in person")
    assert (intent.kind, intent.mode) == (REGISTER, IN_PERSON)
    assert classify("Thanks\nAlex", subject="Unsubscribe").kind is LEAVE
    assert classify("Thanks\nAlex", subject="Forum").reason == "acknowledgement"
    assert classify("I'll let you know", subject="Register me").kind is UNCLEAR


def test_a_reply_whose_subject_the_sender_rewrote_is_read_by_its_subject() -> None:
    """The caller gives the subject only when it is the sender's own words (a reply that kept our
    subject gets none: see tests/inbound/test_email_answers.py)."""
    signature = "Alex Crowther\nCo-Chair, Early Careers Network"
    intent = classify(signature, subject="Attending remotely", answering="invitation")
    assert (intent.kind, intent.mode) == (REGISTER, REMOTE)
    assert classify(signature, subject="", answering="invitation").kind is UNCLEAR


# --- whole emails as people write them ----------------------------------------------------------

REALISTIC: list[Case] = [
    (
        "Hi,\n\nI'd like to register for the forum on 12 March. I'll be attending in person.\n\n"
        "Many thanks,\nPriya Shah\nDeputy Director, Policy\nHM Treasury",
        REGISTER,
        IN_PERSON,
    ),
    (
        "Hi Sam,\n\nHope you're well. Unfortunately I won't be able to make this one as I'm on "
        "leave. Please keep me posted on the next one.\n\nBest,\nJo",
        DECLINE,
        None,
    ),
    (
        "Morning,\n\nCould you put me down to dial in please? I'm WFH that day.\n\nCheers\nAl",
        REGISTER,
        REMOTE,
    ),
    (
        "Hello\nI am no longer with the department and would like to be removed from the mailing "
        "list.\nRegards",
        LEAVE,
        None,
    ),
    ("Dear all, apologies but I will not be attending on Thursday. Regards, K", DECLINE, None),
    ("Thanks for the reminder - still planning to come in person.", REGISTER, IN_PERSON),
    (
        "Thanks for the reminder. Unfortunately something has come up and I can no longer attend.",
        DECLINE,
        None,
    ),
    (
        "Hi both, I'd be grateful if you could register me for the in-person session.",
        REGISTER,
        IN_PERSON,
    ),  # fmt: skip
    ("Hello, please can you register me to attend virtually. Many thanks", REGISTER, REMOTE),
    ("Hi, just to let you know I won't be able to attend.", DECLINE, None),
    ("Please note that I will now be attending remotely rather than in person.", CHANGE, REMOTE),
    ("I'm no longer able to attend in person, could I join via Teams instead?", CHANGE, REMOTE),
    ("I was registered in person but I now can't travel, can I dial in instead?", CHANGE, REMOTE),
    ("I think I'm registered for in person but I'll need to dial in instead.", CHANGE, REMOTE),
    ("I registered in person but now need to join online", CHANGE, REMOTE),
    (
        "Unfortunately I have a clash with a ministerial briefing so will not be able to attend.",
        DECLINE,
        None,
    ),  # fmt: skip
    (
        "I'm leaving the civil service at the end of the month so please remove me from the "
        "distribution list.",
        LEAVE,
        None,
    ),  # fmt: skip
    ("Hello, I'm a new member of the network. Could I join the mailing list please?", JOIN, None),
    ("I had planned to attend but can no longer do so.", DECLINE, None),
    ("My name is Sam Jones and I'd like to attend in person.", REGISTER, IN_PERSON),
    ("I won't need a place in the room, I'll dial in.", REGISTER, REMOTE),
    (
        "Please book me a place - I'd prefer to attend in person but I'm happy to join online if "
        "you run out of space.",
        REGISTER,
        IN_PERSON,
    ),  # fmt: skip
    ("I'm not coming in person - too far - but I'll dial in.", REGISTER, REMOTE),
    (
        "Hi there, I was at the last one and it was great. Please sign me up again!",
        REGISTER,
        None,
    ),  # fmt: skip
]


def test_whole_emails() -> None:
    check(REALISTIC)


def test_whole_emails_that_need_a_person() -> None:
    for text in [
        "I won't be able to attend but would a colleague be able to attend in my place?",
        "I'd like to attend but I'm not sure if I can get there in time.",
        "Please register me. If I can't make it I'll let you know.",
        "Please register me. My colleague Sam may also want to come, I'll let you know.",
        "Hi, I registered last week but haven't had a confirmation - can you check?",
        "I can't make this one but please register me for the next.",
        "I can come if it's online.",
        "Yes - provided it's hybrid.",
        "Not sure I'll be able to make it but please register me anyway.",
    ]:
        assert classify(text).kind is UNCLEAR, (text, classify(text))


def test_see_you_there_is_a_yes_only_in_answer_to_an_invitation() -> None:
    for text in ["See you there!", "Thank you, I look forward to seeing you there."]:
        intent = classify(text, answering="invitation")
        assert (intent.kind, intent.mode) == (REGISTER, IN_PERSON), intent
        for answering in [None, "confirmation", "update"]:
            intent = classify(text, answering=answering)
            assert (intent.kind, intent.reason) == (UNCLEAR, "acknowledgement"), intent
    intent = classify("Please register me, see you there!")
    assert (intent.kind, intent.mode) == (REGISTER, IN_PERSON)
    assert classify("Great, thanks - see you on Tuesday.", answering="reminder").kind is REGISTER


def test_join_alone_means_the_meeting_only_in_answer_to_an_invitation() -> None:
    for text in ["I'd like to join", "Can I join?", "I'll join."]:
        assert classify(text).reason == "join what: the list or the meeting", text
        assert classify(text, answering="invitation").kind is REGISTER, text
    assert classify("I'd like to join remotely").kind is REGISTER


def test_a_yes_with_a_question_is_a_yes_that_asks() -> None:
    intent = classify("Yes. What time does it start?", answering="invitation")
    assert (intent.kind, intent.question) == (REGISTER, True)


def test_a_signature_does_not_hide_a_short_reply() -> None:
    text = "Yes please\n\nAlex Smith\nSenior Policy Adviser\nDepartment for Work and Pensions"
    assert classify(text, answering="invitation").kind is REGISTER
    thanks = "Thanks\n\nAlex Smith\nHead of Policy"
    assert classify(thanks, answering="invitation").reason == "acknowledgement"


def test_a_way_of_attending_alone_answers_only_an_invitation() -> None:
    assert classify("Remote", answering="agenda").mode is REMOTE
    assert classify("In person.").reason == (
        "a way of attending alone, not in answer to an invitation"
    )


def test_skipping_clauses_with_no_word_of_any_table_changes_no_reading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Clauses in which none of the tables' words occur are not read at all (filler lines,
    names, job titles); reading them anyway must come to the same."""
    from mailer.inbound import intents

    texts = (
        [text for text, _, _ in REALISTIC]
        + YES
        + NO
        + THANKS
        + [
            "xxxxxxxx\nPlease register me\nzzzz",
            "Alex\nHM Treasury\n0207 000 0000",
            "Who?",
            "Regards",
            "Jo Bloggs will attend in my place.",
            *"Unsubscribe Subscribe Remote Online Decline Accept Stop tbc Maybe Teams".split(),
        ]
    )
    answers = ["invitation", None]
    gated = [classify(t, answering=a) for t in texts for a in answers]
    monkeypatch.setattr(intents, "_ANY_LITERAL", re.compile(""))
    assert [classify(t, answering=a) for t in texts for a in answers] == gated


# --- the clause splitter -----------------------------------------------------------------------


def test_abbreviations_end_no_sentence() -> None:
    assert [c.text for c in split_clauses("See you at 10 a.m. on Tuesday, e.g. in Room 1.")] == [
        "See you at 10 a.m. on Tuesday",
        "e.g. in Room 1",
    ]


def test_clauses_are_cut_at_sentence_ends_breaks_and_contrast_words() -> None:
    clauses = split_clauses(
        "I won\u2019t be in the room, but I\u2019ll dial in.\nThanks; see you. However, late?"
    )
    assert [(c.text, c.opener, c.question) for c in clauses] == [
        ("I will not be in the room", "", False),
        ("I will dial in", "but", False),
        ("Thanks", "", False),
        ("see you", "", False),
        ("late", "however", True),
    ]


def test_a_line_wrapped_by_a_mail_client_is_one_line() -> None:
    wrapped = "Sorry, I'm on annual leave that whole week so won't make June. Hopefully\nsee you."
    assert [c.text for c in split_clauses(wrapped)][-1] == "Hopefully see you"
    assert [c.text for c in split_clauses("Yes\nplease\n\nAlex")] == ["Yes", "please", "Alex"]


@pytest.mark.parametrize(
    "text",
    ["\x00\x01", "\ud800", "?" * 500, "if " * 300, "Re: Re: Re:", "\u0130stanbul Register me"],
)
def test_odd_text_never_raises(text: str) -> None:
    assert isinstance(classify(text, text, answering="invitation"), Intent)


def test_a_line_that_ends_a_sentence_is_not_joined_to_the_next() -> None:
    """Only a wrapped sentence is joined back: a request that ends with its full stop stays a
    clause of its own, whatever follows it."""
    text = (
        "Please register me, I will join remotely.\nthe rest of this line is about something else"
    )
    clauses = [c.text for c in split_clauses(text)]
    assert clauses[0] == "Please register me"
    assert "something else" not in " ".join(clauses[:2])


def test_a_yes_to_a_place_held_takes_it_and_a_no_or_a_doubt_does_not() -> None:
    check(
        [
            ("Yes", REGISTER, None),
            ("Yes please!", REGISTER, None),
            ("I'll take it.", REGISTER, None),
            ("Thanks, yes I will take it", REGISTER, None),
            ("Happy to accept the place", REGISTER, None),
            ("Yes please, I'll take the place, in person.", REGISTER, IN_PERSON),
            ("No thanks, I can no longer come", DECLINE, None),
        ],
        answering="offer",
    )
    for doubtful in (
        "I cannot take it, sorry",
        "I won't be able to take the place",
        "I might take it",
    ):
        assert classify(doubtful, answering="offer").kind is UNCLEAR, doubtful
    assert classify("I'll take it", answering="news").kind is UNCLEAR  # only to an offer
