"""What a person's new text asks for.

Deliberately cautious: registering, moving or removing someone by mistake is
far worse than asking an organiser, so anything that is not clearly one
request, by the sender, about themselves, is ``unclear`` and goes to triage,
with a reason in plain words.

The text is read clause by clause (:mod:`mailer.inbound.clauses`), because
what decides a request sits beside its verb: a "not" or an "if" in the same
clause, who the verb is about, and which way of attending is named with it.
:func:`_read` turns one clause into a :class:`_Reading`, blanking out the
words it has accounted for so that no later step counts them again;
:func:`_combine` decides for the whole message. The phrase tables are the
vocabulary; the functions say what is done with it.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from mailer.domain.models import AttendanceMode
from mailer.inbound.clauses import Clause, split_clauses

IN_PERSON, REMOTE = AttendanceMode.IN_PERSON, AttendanceMode.REMOTE


class IntentKind(enum.StrEnum):
    REGISTER = "register"
    DECLINE = "decline"
    CHANGE_MODE = "change_mode"
    LEAVE = "leave"
    JOIN = "join"
    UNCLEAR = "unclear"


@dataclass(frozen=True)
class Intent:
    """What a message asks for.

    ``mode`` is the way of attending asked for (register, change_mode), the
    first choice when there is a ``fallback``; ``question`` says the message
    also asks the organisers something only a person can answer; ``reason``
    is for the inbound log: what was understood, or why it is unclear.
    """

    kind: IntentKind
    mode: AttendanceMode | None = None
    question: bool = False
    fallback: AttendanceMode | None = None
    reason: str = ""


#: Our messages after which a bare "yes" or "no" answers whether the person will come.
MEETING_MESSAGES = frozenset({"invitation", "agenda", "reminder", "offer"})
#: Our messages about a meeting the person may already be down for.
ABOUT_A_MEETING = MEETING_MESSAGES | {"confirmation", "update"}


def classify(text: str, subject: str = "", *, answering: str | None = None) -> Intent:
    """The request in a message's new text.

    ``answering`` is the kind of our message this one replies to, if any: a
    bare "Yes" means something only after an invitation, agenda or reminder.
    ``subject`` (already without "Re:" and the like) is read, before the
    body, only when the body says nothing: no words, or only names, job
    titles and pleasantries (a signature). The caller gives it only when it
    is the sender's own words: in a reply that kept our subject, it is ours.
    """
    clauses = split_clauses(text)
    readings = _read_all(clauses)
    if subject and all(_says_nothing(r) for r in readings):
        readings = _read_all(split_clauses(subject) + clauses)
    return _combine(readings, answering)


def _read_all(clauses: list[Clause]) -> list[_Reading]:
    readings: list[_Reading] = []
    for index, clause in enumerate(clauses):
        # "If that is not possible, I'll dial in instead": a condition alone in the clause before
        # makes this one a second choice.
        before = readings[-1] if readings else None
        after_condition = (
            before is not None and before.second_choice and not before.acts and not before.wanted
        )
        readings.append(_read(clause, first=index == 0, after_condition=after_condition))
    return readings


# --- vocabulary --------------------------------------------------------------------------------


def _phrases(*patterns: str) -> re.Pattern[str]:
    """One pattern matching any of ``patterns`` as whole words. (Every phrase starts with a
    letter, so a look-behind is the same as a word boundary there, and faster to search for.)"""
    return re.compile(r"(?<!\w)(?:" + "|".join(patterns) + r")\b")


_REMOTE_PHRASES = [
    r"remote(?:ly)?",
    r"on ?line",
    r"virtual(?:ly)?",
    r"dial(?:l?ing|l?ed)? (?:in|into|up)",
    r"phon(?:e|ing) in",
    r"(?:by|via|on the|over the) (?:tele)?phone",
    r"(?:on|via|through|by|over|using|to|into|onto) (?:ms |microsoft )?teams",
    r"(?:ms |microsoft )?teams (?:call|link|meeting|invite|invitation)",
    r"(?:on|via|through|by|over|using|to|into|onto) zoom",
    r"zoom (?:call|link|meeting|invite)",
    r"(?:by|via|on|over) video",
    r"video (?:call|link|conference|conferencing)",
    r"videoconferenc\w*",
    r"webex",
    # the bare name of a video service leading a clause: "Teams ideally", "Zoom for me please"
    r"^(?:ms |microsoft )?(?:teams|zoom)"
    r"(?=(?: +(?:ideally|preferably|please|for me|if possible))* *$)",
    r"join(?:ing)? the (?:call|video call|teams call|zoom call|stream|livestream)",
    r"from (?:home|my desk|my home)",
    r"live ?stream\w*",
]
_CITIES = (
    "london|leeds|manchester|birmingham|bristol|sheffield|newcastle|glasgow|edinburgh|cardiff"
    "|belfast|york|liverpool|nottingham|croydon|darlington"
)
_IN_PERSON_PHRASES = [
    r"in person",
    r"face to face",
    r"on ?site",
    r"in the room",
    r"(?<!thanks )(?<!thank you )for the room\b(?! (?:booking|hire))",  # "count me in for the room"
    r"in the flesh",
    r"physically",
    r"at the venue",
    r"see(?:ing)? you there",
    # "come in" is in person, but "come in the afternoon" says only when
    r"com(?:e|ing) in(?! (?:the |a |an )?(?:morning|afternoon|evening|time|late|early|lunch|\d))",
    r"com(?:e|ing) (?:in)?to (?:the )?(?:office|venue|building|room|meeting room|hq)",
    rf"(?:come|coming|travel|travelling|traveling|get|getting|make it) (?:up |down |over )?to "
    rf"(?:{_CITIES}|the venue)",
]
_MODE = "(?:" + "|".join(_REMOTE_PHRASES + _IN_PERSON_PHRASES) + ")"
_REMOTE = _phrases(*_REMOTE_PHRASES)
_IN_PERSON = _phrases(*_IN_PERSON_PHRASES)
_ANY_MODE = re.compile(rf"\b{_MODE}\b")

#: Lists of people at a meeting, as opposed to the mailing list itself.
_MEETING_LIST = (
    r"(?:attendee|attendees|attendance|guest|delegate|delegates|invite|invitation|registration"
    r"|sign up|waiting|speaker|participant|participants) list|list of attendees"
)
_LIST_WORD = (
    r"(?:mailing list|mailing|distribution list|distribution|e ?mail list|contact list"
    r"|circulation list|circulation|list|network|newsletter)"
    r"(?! (?:meeting|call|session|event|forum|webinar|workshop))"
)
#: Up to three words that are not about a meeting ("the Leaders Network", "your mailing").
_SOME_WORDS = r"(?:(?!meeting|call|session|event|forum|webinar|workshop)[a-z']+ ){0,3}?"
#: A list named as a mailing list, after any few words: "the Leaders of Networks Forum mailing
#: list" is the list, whatever it is the list of.
_MAILING_LIST = (
    r"(?:[a-z']+ ){0,6}?(?:mailing|distribution|e ?mail|circulation|contact) list"
    r"(?! (?:meeting|call|session|event|forum|webinar|workshop))"
)
_THE_LIST = rf"(?:{_MAILING_LIST}|{_SOME_WORDS}{_LIST_WORD})"

#: Words that say nothing about what is asked, blanked out first: politeness that looks like a
#: condition ("if that's ok"), wishes to stay on the list, lateness, complaints about a link.
_NEUTRAL = _phrases(
    r"(?:if|assuming|provided|as long as) (?:that|this|it) (?:is|would be|will be|works)"
    r"(?: ok| okay| alright| all right| fine| acceptable| possible| convenient| no trouble"
    r"| not a problem| not too late| of use| helpful| useful| for you)(?: with you| for you)?",
    r"if (?:you can|you could|you would(?! (?:like|prefer|want|rather))|you do not mind"
    r"|you are able to)",
    r"if (?:it is )?not too (?:late|much trouble)",
    r"(?:please )?(?:do )?let me know if (?:you need|there is anything|you require|you have any)"
    r".*$",
    r"if you (?:need|require|have) (?:any|anything|more|further).*$",
    r"is (?:that|this) (?:ok|okay|alright|all right|fine|acceptable).*$",
    r"hope (?:that|this) is (?:ok|okay|alright|fine)",
    r"(?:just )?(?:writing )?to let you know(?: that)?",
    r"my name is [a-z]+(?: [a-z]+)?",  # "My name is Sam Jones and I ...": the sender
    r"this is [a-z]+ (?:from|at|here)",
    r"if (?:that|it|this) (?:would|will|might|could) help",
    r"(?:please accept )?(?:my )?(?:apologies|sorry)(?: again)? for (?:the |my |this )?"
    r"(?:late|delayed|slow|belated|short notice|delay|confusion|any confusion|not replying)\w*"
    r"(?: reply| response| notice)?",
    r"(?:please )?(?:do )?keep me (?:on (?:the |your |this )?(?:\w+ )?(?:list|circulation)"
    r"|informed|posted|in the loop|updated|on)",
    r"(?:would like|want|wish|like) to (?:stay|remain) on (?:the |your |this )?(?:\w+ )?list",
    r"still (?:want|wish|like) to (?:receive|get|hear)",
    r"stay on the list",
    r"(?:might|may|will|could|shall|would) (?:need to |have to )?(?:be (?:a (?:bit|little|few "
    r"minutes) |slightly |\w+ minutes |\d+ (?:mins|minutes) )?late|arrive late|join late"
    r"|come late|leave (?:a (?:bit|little) )?early|drop off early|step out)",
    r"(?:the|your|this|that|an|my) unsubscribe (?:link|button|option|page|url|process|form"
    r"|function|feature)",
    r"(?:a|my) (?:colleague|manager|line manager) (?:has |kindly )?(?:forwarded|sent|shared"
    r"|passed on|passed|mentioned|told me about|recommended)(?: me)?(?: this| it)?",
    r"my (?:line )?manager (?:has |have )?(?:asked|agreed|approved|suggested|said|wants"
    r"|encouraged|recommended|is happy|supports)(?: me| that i)?",
)
#: A first choice of way of attending, conditional only on there being room for it.
_SPACE_CONDITION = _phrases(
    r"if there (?:is|are) (?:still )?(?:space|room|places?|a place|spaces|seats?|capacity"
    r"|availability)(?: left| available| remaining)?",
    r"(?:space|capacity|room) permitting",
    r"if (?:at all )?possible",
    r"where possible",
    r"if you have (?:space|room|a place|capacity)",
)
_PREFERENCE = _phrases(r"preferably", r"ideally", r"prefer(?:ence|red)?", r"first choice")
#: A second choice of way of attending, for when the first cannot be had.
_SECOND_CHOICE = _phrases(
    r"if (?:there is|there are) (?:no|not enough) (?:space|room|places?|seats?)(?: left)?",
    r"if (?:it is|the room is|the venue is|in person is|you are|we are|that is) (?:full|fully "
    r"booked|oversubscribed|at capacity)",
    r"if full",
    r"if (?:you|we) run out of (?:space|room|places|seats)",
    r"if (?:it|in person|the room) (?:gets|is) (?:too )?(?:full|busy|oversubscribed)",
    r"if (?:it is|that is|this is) not possible",
    r"as a (?:fallback|backup|back up|last resort|second choice)",
    r"(?:is|would be) (?:also )?(?:fine|ok|okay|good)",
)
#: A choice of way of attending left open: "I haven't decided whether I'll come in or join
#: online", "I'll confirm how I'm attending". A clause holding one asks for no way of attending,
#: and what is uncertain in it is the way, not the attendance.
_OPEN_CHOICE = re.compile(
    rf"\b(?:whether|if)\b(?: [a-z']+){{0,5}}? {_MODE}(?: [a-z']+){{0,3}}? (?:or|nor)"
    rf"(?: [a-z']+){{0,3}}? {_MODE}\b"
    r"|\bhow (?:i|i will|i am|i would|i shall|i am going to)(?: be)? (?:attend(?:ing)?|join(?:ing)?"
    r"|tak(?:e|ing) part|participat(?:e|ing))\b"
)
_SECOND_OPENERS = frozenset(
    {"otherwise", "failing that", "if not", "or else", "alternatively", "or"}
)
_ONLY_IF_NEEDED = _phrases(
    r"if (?:needed|necessary|required|need be|i have to|i must)",
    r"if (?:you|they|the organisers) (?:really )?(?:need|want|would like|prefer)(?: me| us| more"
    r"| the numbers| numbers| people| bodies| someone)?",
)
#: Words that make what their own clause says uncertain: "I might come", "hopefully see you in
#: March". "might I" and "may I" are polite, not tentative.
_HEDGES = _phrases(
    r"might(?! i\b)",
    r"maybe",
    r"perhaps",
    r"possibly",
    r"probably",
    r"hopefully",
    r"(?:un)?likely",
    r"potentially",
    r"(?:i|we) may",
    r"may (?:be able|not|well|or may not)",
    r"should (?:be able|be ok|be fine|be there|make it|manage)",
    r"try(?:ing)?",
    r"aim(?:ing)?",
    r"endeavour",
    r"do my best",
    r"hop(?:e|ing) (?:that )?i (?:can|will|could|should|am able|would be able)",
    r"doubt(?:ful)?",
)
#: Words that hold a request back until something is settled: a condition ("if I can get
#: cover") or a promise to confirm later ("I'll let you know", "not sure yet"). "if I could"
#: after "wondering" is a polite frame, rewritten before this is read.
_CONDITIONS = _phrases(
    r"if",
    r"unless",
    r"will confirm",
    r"confirm (?:nearer|closer|later|in due course|once|when|by|next)",
    r"(?:not|never) (?:yet )?(?:sure|certain|definite|confirmed|decided|clear)",
    r"unsure",
    r"uncertain",
    r"tbc",
    r"tbd",
    r"to be confirmed",
    r"depend(?:s|ing|ent)?(?: on| upon)?",
    r"subject to",
    r"provisional(?:ly)?",
    r"tentative(?:ly)?",
    r"pencil(?:led)? (?:me |it )?in",
    r"assuming",
    r"as long as",
    r"provided",
    r"all being well",
    r"in (?:principle|theory)",
    r"(?:will|shall|can|could|would|then) let you know",
    r"let you know (?:nearer|later|next|once|when|by|if|whether|asap|in due course|soon)",
    r"get back to you",
    r"come back to you",
    r"fingers crossed",
    r"hope so",
    r"(?:need to |have to )?check(?:ing)?",
    r"waiting (?:to hear|for)",
    r"permitting",
    r"once i (?:know|hear|have)",
)
#: "Can I ...?", "Could you ...?", "Is it possible to ...?": polite requests, not questions. Each
#: is rewritten as a plain "i" so the request reads like a statement.
_POLITE_FRAMES = _phrases(
    r"(?:please )?(?:can|could|may|might|shall) i(?: please)?",
    r"(?:please )?(?:can|could|would|will) you(?: please| kindly)?(?: be able to)?",
    r"(?:is|would) it (?:be )?(?:possible|ok|okay|alright|all right) (?:for me )?(?:to|if i)",
    r"(?:i was |i am |just )?wonder(?:ing|ed)? (?:if|whether) i (?:could|can|might|may)",
    r"(?:is there )?any chance (?:i|you) (?:could|can|might)",
    r"how (?:do|can|could|would) i(?= (?:unsubscribe|leave|opt out|be removed|get off|stop))",
    r"(?:i would be |i am )?grateful if you (?:could|would)",
    r"do you mind if i",
    r"would you mind(?: if i)?",
)
#: Asking the organisers for something only a person can give or answer.
_ASKS = _phrases(
    r"(?:send|share|forward|circulate|email) (?:me |us |over |on )?(?:the |a |any |your )?"
    r"(?:slides|agenda|papers|link|details|recording|minutes|notes|joining|dial in|teams"
    r"|invite|invitation|calendar|information|materials|pack|presentation|address|directions)",
    r"(?:receive|get|have|see) (?:a copy of )?(?:the )?(?:slides|papers|minutes|notes|recording"
    r"|pack|materials)",
    r"let me know",
    r"please (?:advise|confirm|tell me)",
    r"(?:can|could|would) you (?:confirm|tell me|advise|check)",
    r"i would like to know",
    r"wonder(?:ing|ed)? (?:if|whether|what|when|where|how)",
    r"do you know",
    r"dietary",
    r"vegan",
    r"vegetarian",
    r"gluten",
    r"allerg\w*",
    r"halal",
    r"kosher",
    r"wheelchair",
    r"step free",
    r"accessib\w*",
    r"access (?:needs|requirements)",
    r"hearing loop",
    r"bsl",
    r"interpreter",
    r"reasonable adjustments?",
    r"parking",
    r"captions",
)
#: Thanks for something done: what follows is not asked for ("thanks for sorting the accessible
#: room last time").
_THANKS_FOR = _phrases(r"thank(?:s| you)(?: (?:so |very )?much)? for")
#: Where what is thanked for ends: at a word that starts a request ("thanks for the invite
#: please send me the slides").
_THANKED_UNTIL = re.compile(r"\b(?:please|could|can|would|will|send|let|i|and|but)\b")
_WH_WORDS = frozenset("what when where who whom whose which why how".split())
_AUXILIARIES = frozenset(
    "is are was were will would could can do does did should shall may might has have".split()
)
#: After an auxiliary, a subject makes a question ("Will there be lunch"); anything else is a
#: statement without its subject ("Will attend", "will watch the livestream").
_SUBJECT_STARTS = frozenset(
    """i you we they it there he she this that these those the a an any my your our their his
    her some anyone someone everyone""".split()
)
_EXCLAMATION = re.compile(r"^(?:what an?|how (?:lovely|kind|exciting|nice|great|wonderful|good))\b")

#: Someone other than the sender named: colleagues, deputies, "we". Such a mention matters in a
#: clause that asks for something ("please register me and my deputy"), not in one that only
#: tells ("my successor will be in touch").
_SOMEONE_ELSE = _phrases(
    r"my (?:line |new |old )?(?:colleague|colleagues|deputy|deputies|manager|boss|director|team"
    r"|team members?|assistant|pa|secretary|replacement|successor|stand in|counterpart|staff"
    r"|direct reports?|chair|head|partner|senior|officer|apprentice|intern|new starter|cover"
    r"|delegate|representative|substitute|team ?mates?|peers?)\b(?!')",  # not "my manager's"
    r"(?:a|another|one of my|two|three|some|other|our) (?:colleague|colleagues|member of "
    r"(?:my |our )?(?:team|staff)|team members?|guests?|friend|person|people|deputy"
    r"|representative|substitute)",
    r"(?<!to )(?:someone|somebody|anyone|anybody) (?:else|from|in)",  # not "give it to someone"
    r"we (?:will|would|shall|are|can|both|all|plan|hope|intend|expect|look forward)",
    r"our (?:team|colleagues|staff|members|group|delegation|representatives?)",
)
#: Words that say whom a request is for, wherever they stand: "on behalf of", "I'm standing in
#: for Jo", "both of us", "two places".
_PROXY = _phrases(
    r"on behalf of",
    r"in (?:my|his|her|their) place",
    r"in place of",
    r"instead of me",
    r"to represent (?:me|us|my|our)",
    r"represent(?:ing)? (?:my|our|the) (?:manager|director|chair|team|boss)",
    r"stand(?:ing|s)? in for",
    r"cover(?:ing)? for me",
    r"covering for",
    r"deputi[sz](?:e|ing) for",
    r"send (?:a|my|someone|somebody) (?:deputy|colleague|representative|substitute"
    r"|replacement|delegate)",
    r"both of us",
    r"all of us",
    r"the (?:two|three|four|five) of us",
    r"us (?:both|all|two)",
    r"(?:register|book|sign|count|put|add|reserve|save|enrol|include) us",
    r"for us",
    r"(?:two|three|four|five|\d+|a few|some|a couple of|several) (?:places|seats|tickets"
    r"|spaces|people|colleagues)",
    r"the following",
    r"these people",
    r"the people (?:below|listed)",
    r"(?:me|myself) and (?:a|my|another|one|two|some|our|his|her|the)",
    r"and i (?:are|both)",
)
#: "me and Jo", "Jo and I": a named companion, told by the capital letter.
_NAMED_COMPANION = re.compile(r"\b(?:me|myself) and [A-Z][a-z]+\b|\b[A-Z][a-z]+ and I\b(?! am)")
#: After these verbs, any word but these (and the words of when, below) names whom the verb is
#: for: "register Jo Bloggs".
_VERB_OBJECTS: dict[str, str | frozenset[str]] = {
    "register": """me myself for to please my as on at in and now asap today again online remotely
        virtually a an the this that it via by with through interest attendance here if too also
        thanks straight immediately when once before early""",
    "enrol": "me myself for on onto in please my",
    "book": """me myself a an my in on onto for the it now please online through via your""",
    "reserve": "me myself a an my the",
    "include": "me myself my",
    "add": "me myself my to it",
    "unsubscribe": """me myself from please my now immediately asap and i link button""",
}
#: Words of when, and words that begin another thought, after which a verb names no one: "I tried
#: to unsubscribe last month", "I registered earlier but ...".
_WHEN_AFTER_VERB = """last next earlier already again previously before twice recently yesterday
    today tomorrow now asap immediately but and so yet or as when since because""".split()
_VERB_OBJECTS = {
    verb: frozenset(str(words).split() + _WHEN_AFTER_VERB) for verb, words in _VERB_OBJECTS.items()
}
_VERB_OBJECT = re.compile(
    r"\b(?:(the|a|your|my|our) )?(" + "|".join(_VERB_OBJECTS) + r") ([a-z']+)"
)
_PARTICLE_OBJECT = re.compile(
    r"\b(?:sign|put|count|take|opt)\s+(?!me\b|myself\b|my\b|part\b|it\b|up\b|down\b|in\b"
    r"|off\b|out\b)([a-z']+)\s+(?:up|down|in|off|out)\b"
)
_PLACE_FOR = re.compile(r"\b(?:place|seat|space|spot|ticket)s? for ([a-z']+)")
_PLACE_FOR_OK = frozenset(
    """me myself my the this that next tomorrow today it one each a an monday tuesday wednesday
    thursday friday january february march april may june july august september october
    november december""".split()
)

#: Requests, by what they ask for. Order matters: each table's matches are blanked out before
#: the next is read, so "remove me from the attendee list" is a decline and never a leave.
_DECLINE = _phrases(
    r"send(?:ing)? (?:my |our )?apologies",
    r"apologies for (?:my )?absence",
    r"(?:accept|note|record|take|pass on|give) (?:my|our) apologies",
    r"(?:i|have to|must|need to|regretfully|sadly|unfortunately|afraid) (?:[a-z]+ ){0,2}?"
    r"declin(?:e|ing)",
    r"declin(?:e|ing) (?:the|this|your) (?:invitation|invite|meeting)",
    r"(?:count|rule) me out",
    r"give (?:this|it|that|the meeting|this meeting|this session)(?: one)? a miss",
    r"sit (?:this|that)(?: one)? out",
    r"skip (?:this|that) one",
    r"pass on (?:this|that)(?: one)?",
    r"have to pass",
    r"cancel (?:my|the) (?:place|registration|booking|attendance|seat|rsvp|reservation|ticket)",
    r"cancel me",
    r"withdraw (?:my (?:registration|attendance|place|name|booking)|from (?:the|this) "
    r"(?:meeting|forum|session|event))",
    r"withdraw me",
    r"(?:de|un)register(?: me)?",
    r"(?:release|free up|give up) my (?:place|seat|space|spot)",
    r"give my (?:place|seat) to (?:someone|somebody) else",
    r"my (?:place|seat) (?:can|could) go to (?:someone|somebody) else",
    rf"(?:remove|take) (?:me|my name) (?:off|from) (?:the |this |your )?(?:{_MEETING_LIST}"
    r"|meeting|forum|session|event|invite|invitation|calendar invite|meeting invite)",
    r"(?:i have|i have got|i now have|got|have)(?: now)? (?:a |an |another |other )?(?:diary "
    r"|unavoidable |last minute |prior |competing |other )?(?:clash|conflict|commitment"
    r"|engagement)",
    r"clash(?:es|ing)? with",
    r"(?:it|this|that) clashes",
    r"double booked",
    r"(?:i am|i will be|i shall be) (?:not |un)available",
    r"^(?:sadly |unfortunately |sorry )?(?:not |un)available",
    r"put me down as (?:a )?no",
    r"something (?:has )?(?:come|came) up",
)
_MEETING_LIST_REGISTER = _phrases(
    rf"(?:add|put) (?:me|my name) (?:on|to|onto) (?:the |your )?(?:{_MEETING_LIST})",
)
_JOIN = _phrases(
    r"(?:add|subscribe|put|sign) (?:me|myself|my name|my email(?: address)?)(?: up)? (?:to|on"
    rf"|onto|for|into) (?:the |this |your |a |our )?{_THE_LIST}",
    r"subscribe me",
    r"(?<!un)subscribe",
    r"(?:join|joining|be added to|be on|be put on|subscribe to|sign up to|sign up for"
    r"|become a member of|be included (?:on|in))(?: the| this| your| a| our)? "
    rf"{_THE_LIST}",
    r"^(?:please )?join(?: please)?$",
)
_LEAVE = _phrases(
    r"(?:tried|attempted|been trying) (?:several times |many times |repeatedly )?to unsubscribe",
    r"unsubscrib(?:e|ing)",
    r"be (?:unsubscribed|removed|taken off)",
    r"(?:remove|take|delete|drop) (?:me|my (?:name|details|address|email(?: address)?)) (?:off"
    r"|from) (?:the "
    r"|this |your |all |any |future |of )*(?:(?:mailing|distribution|e ?mail|circulation"
    r"|contact) )?(?:list|lists|network|group|emails|mailings|circulation|distribution"
    r"|newsletters?)",
    r"stop (?:emailing|sending|mailing|contacting|spamming|messaging|e mailing)",
    r"stop (?:these|the|your|all) (?:emails|e mails|messages|mailings)",
    r"no more (?:emails|e mails|messages)",
    rf"leav(?:e|ing) (?:the |this |your )?{_SOME_WORDS}(?:list|mailing list|network|group"
    r"|distribution list|circulation)",
    r"opt (?:me )?out",
    r"(?:no longer|do not|not) (?:wish|want|need|like) to (?:receive|get|be sent|be on|hear"
    r"|be included|be part)",
    r"do not (?:send|email|contact) me",
    r"(?:still|keep) (?:getting|receiving|being sent|get|receive) (?:[a-z]+ )?(?:these|them"
    r"|emails|e mails|messages|mail|this|invitations|invites|mailings)",
    r"^(?:please )?(?:leave|stop)(?: please)?$",
)
#: "Remove me" with nothing after it: from the list, or from a meeting the message was about?
_REMOVE_ME = _phrases(r"(?:remove me|take me off)(?! (?:from|off|the))")
#: The mailing list named in so many words, which a bare "remove me" then is about. A list of
#: the people at a meeting is blanked out before this is looked for.
_LIST_NAMED = _phrases(
    r"(?:this|the|your|our|that|a|mailing|distribution|circulation|e ?mail|contact) lists?",
    r"mailings?",
    r"newsletters?",
)
_A_MEETING_LIST = _phrases(_MEETING_LIST)
#: Where a change of mode goes: a way of attending, or the bare name of a video service.
_TARGET = rf"(?:{_MODE}|(?:ms |microsoft )?teams|zoom)"
_CHANGE = re.compile(
    r"\b(?:chang(?:e|ing)|switch(?:ing)?|swap(?:ping)?|mov(?:e|ing)|convert(?:ing)?|amend"
    r"|updat(?:e|ing)|transfer|alter)\b(?P<between>(?: [a-z']+){0,6}?) (?:to|into|for|over to)"
    rf"(?: [a-z']+){{0,2}}? (?P<new>{_TARGET})\b"
)
_FROM_TO = re.compile(rf"\bfrom (?P<old>{_MODE}) (?:to|over to|into) (?P<new>{_TARGET})\b")
_FROM = re.compile(rf"\bfrom (?P<old>{_MODE})")
#: A way of attending ruled out: "rather than in person", "not remotely".
_REFUSED = re.compile(
    r"\b(?:rather than|instead of|as opposed to|not|never|no longer|cannot|unable to)"
    rf"(?: [a-z']+){{0,3}}? (?P<mode>{_MODE}(?: (?:or|nor) {_MODE})?)\b"
)
_REGISTER = _phrases(
    r"^(?:yes |yep |yeah )?i am (?:definitely |also |so )?in$",  # "I'm in."
    r"register(?:ing)?",
    r"enrol(?:l)?(?:ing)?",
    r"sign(?:ing)? (?:me |myself )?up",
    r"book(?:ing)? (?:me|myself|a place|a seat|my place|my seat|in|on|onto)",
    r"count me in",
    r"put (?:me|my name|myself) (?:down|forward)",
    r"reserve (?:me |myself )?(?:a|my) (?:place|seat|space|spot)",
    r"save (?:me )?(?:a|my) (?:place|seat|spot)",
    r"(?:a|my) (?:place|seat|space|spot) (?:for me )?please",
    r"(?:like|want|have|get|request) (?:a|one) (?:place|seat|ticket)",
    r"^(?:please )?(?:registration|booking)(?! (?:link|form|page|details|closes|is|was"
    r"|confirmation|deadline))",
    r"registration please",
    r"i accept",
    r"accept(?:ing)? (?:the|your|this) (?:invitation|invite)",
    r"(?:happy|pleased|delighted) to accept",
    r"accept with thanks",
    r"confirm(?:ing)? (?:my )?attendance",
)
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
#: "See you there": a yes in answer to an invitation, otherwise a pleasantry.
_SEE_YOU = _phrases(
    r"see(?:ing)? you (?:there|then|on (?:the )?[a-z0-9]+|at the (?:meeting|venue|forum|event"
    r"|session))"
)
_ATTEND = re.compile(
    r"\b(?:attend(?:ing)?|com(?:e|ing)(?: along)?|make (?:it|the (?:[a-z]+ ){0,2}?(?:meeting"
    rf"|session|date|day|event|forum|call)|{_MONTHS}|this one|that one|that date|this date"
    r"|(?:mon|tues|wednes|thurs|fri)day|the \d+\w*)|be (?:there|present|along|in attendance)"
    r"|take part|taking part|participat(?:e|ing)|join(?:ing)?|dial(?:l?ing)? in(?:to)?"
    r"|phon(?:e|ing) in|do (?:so|it|that date|this date|the date|that day|the day|this one"
    rf"|that one|the \d+\w*|(?:mon|tues|wednes|thurs|fri)day)|be (?={_MODE})"
    r"|watch(?:ing)? (?=(?:it |the )?(?:live ?stream|online|live)))\b"
)
#: A clause that is all negation, its verb left out: "... but I can't."
_ELIDED_NEGATION = re.compile(
    r"^(?:(?:sadly|unfortunately|sorry|but|afraid|alas|i am afraid) )*(?:i )?(?:cannot|will not"
    r"|am not able to|am unable to|unable to|would not be able to|will not be able to|can not"
    r"|am not|shall not)(?: (?:sadly|unfortunately|sorry|i am afraid|this time|on this "
    r"occasion))*$"
)
_ABSENCE = _phrases(
    r"i (?:am|will be|shall be|would be|will now be|am now|am going to be) (?:[a-z]+ )?"
    r"(?:on (?:annual |sick |study |parental |maternity |paternity )?leave|on holiday"
    r"|on vacation|away|off|out of (?:the )?office|abroad|travel?ling|on a course|on training"
    r"|at another [a-z]+|in another meeting|off sick|unwell)",
    r"i have (?:annual )?leave (?:booked|planned)",
    r"(?:on (?:annual )?leave|on holiday|away|off|out of (?:the )?office) (?:that day|on the day"
    r"|then|that week)",
)
_DAY_NAMED = _phrases(
    r"that day",
    r"on the day",
    r"on that day",
    r"then",
    r"that week",
    r"that date",
    r"on that date",
    r"on the \d+\w*",
    r"on (?:mon|tues|wednes|thurs|fri)day",
    r"that (?:morning|afternoon)",
    r"at that time",
    r"during the meeting",
    r"for the meeting",
)
_REGRET = _phrases(
    r"sorry",
    r"apologies",
    r"apologi[sz]e",
    r"unfortunately",
    r"sadly",
    r"regret\w*",
    r"afraid",
    r"alas",
)


def _literal_words(pattern: re.Pattern[str]) -> set[str]:
    """Words of two letters or more that any match of ``pattern`` must contain one of: its
    literal words (escapes and character classes removed; a letter made optional by ``?``,
    ``*`` or ``{0,`` dropped). Holds as long as every alternative has such a word, which every
    phrase in these tables has; tests/inbound/test_intents.py checks the gate changes nothing."""
    source = re.sub(r"\[[^\]]*\]", " ", re.sub(r"\\.", " ", pattern.pattern))
    words = set()
    for found in re.finditer(r"[a-z]+", source):
        word = found.group(0)
        if source.startswith(("?", "*", "{0"), found.end()):
            word = word[:-1]
        if len(word) >= 2:
            words.add(word)
    return words


#: Every pattern a clause is read with; a clause containing none of their words is left unread.
_READ_WITH = (
    _ASKS, _POLITE_FRAMES, _REGRET, _NEUTRAL, _SPACE_CONDITION, _PREFERENCE, _SECOND_CHOICE,
    _ONLY_IF_NEEDED, _HEDGES, _CONDITIONS, _PROXY, _OPEN_CHOICE, _LIST_NAMED, _THANKS_FOR,
    _SOMEONE_ELSE, _NAMED_COMPANION, _PARTICLE_OBJECT, _PLACE_FOR,
    _VERB_OBJECT, _CHANGE, _FROM_TO, _REFUSED, _DECLINE, _MEETING_LIST_REGISTER, _JOIN, _LEAVE,
    _REGISTER, _REMOVE_ME, _ELIDED_NEGATION, _ATTEND, _SEE_YOU, _REMOTE, _IN_PERSON, _ABSENCE,
    _DAY_NAMED,
)  # fmt: skip
_ANY_LITERAL = re.compile(
    "|".join(sorted(set().union(*map(_literal_words, _READ_WITH)), key=len, reverse=True))
)

# --- who a verb is about, and whether it is negated ---------------------------------------------

_NEGATORS = frozenset({"not", "never", "cannot", "unable", "nor", "neither"})
#: Words between a subject and its verb that change neither who nor whether: "I would really
#: like to be able to attend".
_FRAME = frozenset(
    """will would shall should can am be to able going like love want wish plan planning hope
    hoping intend intending expect expecting look looking forward happy delighted pleased glad
    keen eager thrilled excited definitely certainly surely absolutely gladly happily indeed
    still also now really very much more than just do need have must got please kindly actually
    then confirm confirmed confirming prefer rather sorry sadly unfortunately regrettably alas
    afraid yes hi hello ok okay great thanks of course""".split()
)
#: Words at which the search for a verb's subject stops: what is before them is another clause.
_STOPS = frozenset({"and", "so", "as", "because", "since", "but", "or", "that", "which", "who"})
_OTHER_PEOPLE = frozenset(
    """he she they them him her someone somebody anyone anybody everyone everybody nobody people
    colleague colleagues deputy manager boss director team staff guest guests""".split()
)
#: Words that add a person to a request made elsewhere: "and my deputy too".
_ADDING = frozenset({"and", "too", "also", "as", "well", "plus", "both", "with"})
_STOP = re.compile(r"\b(?:" + "|".join(sorted(_STOPS)) + r")\b")
_TOKEN = re.compile(r"[a-z']+")


class _Who(enum.Enum):
    ME = "me"
    YOU = "you"  # "could you register me": asked of the organisers
    US = "us"
    OTHER = "other"
    NONE = "none"  # no person at all: "the slides will come later"


# --- reading one clause ------------------------------------------------------------------------


@dataclass
class _Reading:
    """What one clause says."""

    opener: str = ""
    text: str = ""
    acts: list[IntentKind] = field(default_factory=list)
    #: Requests with "not" beside their verb: "please don't register me".
    negated: list[IntentKind] = field(default_factory=list)
    conditional: bool = False  # a condition or a promise to confirm: "if I can", "tbc"
    hedged: bool = False  # what the clause says is uncertain: "I might", "hopefully"
    someone_else: bool = False  # someone besides the sender named: "my deputy", "we"
    mentions_only: bool = False  # ... and nothing else said: "and my deputy too"
    for_someone_else: bool = False  # a request about someone else: "Jo will attend", "for Jo"
    open_choice: bool = False  # the way of attending left open: "not sure whether in person or"
    says_nothing_else: bool = False  # no word left but frame words: "I'll let you know"
    names_list: bool = False  # the mailing list named: "I asked to be removed from this list"
    question: bool = False  # asks the organisers something
    interrogative: bool = False  # phrased as a question
    polite: bool = False  # a request phrased as a question: "could you register me?"
    wanted: list[tuple[int, AttendanceMode]] = field(default_factory=list)
    refused: set[AttendanceMode] = field(default_factory=set)
    first_choice: bool = False
    second_choice: bool = False
    only_if_needed: bool = False
    absence: bool = False
    day_named: bool = False
    regret: bool = False
    overrides_previous: bool = False  # "... but I can't": the clause before was wishful
    remove_me: bool = False  # "remove me", from what is not said
    bare_join: bool = False  # "I'd like to join", the list or the meeting not said
    see_you: bool = False  # "see you there"
    leftover: list[tuple[str, str]] = field(default_factory=list)  # (cased, lower) words unread
    first_clause: bool = True


class _Text:
    """A clause being read. Words already accounted for are blanked out, keeping the length, so
    that later steps do not count them twice and positions still match the cased text."""

    def __init__(self, clause: Clause) -> None:
        lower = clause.lower
        self.low = lower
        self.case = clause.text if len(clause.text) == len(lower) else lower
        self.sentence_start = clause.sentence_start

    def find(self, pattern: re.Pattern[str]) -> list[re.Match[str]]:
        """The matches of ``pattern`` in what is left of the clause."""
        return list(pattern.finditer(self.low))

    def has(self, pattern: re.Pattern[str]) -> bool:
        return pattern.search(self.low) is not None

    def take(self, pattern: re.Pattern[str], keep: str = "") -> list[re.Match[str]]:
        """The matches of ``pattern``, each then blanked out (or replaced by ``keep``)."""
        found = self.find(pattern)
        for match in found:
            self.blank(match.start(), match.end(), keep)
        return found

    def blank(self, start: int, end: int, keep: str = "") -> None:
        filler = (keep + " " * (end - start))[: end - start]
        self.low = self.low[:start] + filler + self.low[end:]
        self.case = self.case[:start] + filler + self.case[end:]

    def leftover(self) -> list[tuple[str, str]]:
        """The words no step has read, each as (cased, lower)."""
        return [(self.case[m.start() : m.end()], m.group(0)) for m in _TOKEN.finditer(self.low)]

    def words_outside(self, matches: list[re.Match[str]]) -> list[tuple[str, str]]:
        """The words left when ``matches`` are left out, each as (cased, lower)."""
        spans = [(m.start(), m.end()) for m in matches]
        return [
            (self.case[m.start() : m.end()], m.group(0))
            for m in _TOKEN.finditer(self.low)
            if not any(start <= m.start() < end for start, end in spans)
        ]

    def words_before(self, position: int) -> list[tuple[str, str, bool]]:
        """The words before ``position``, each as (lower, cased, whether first in the clause)."""
        found = list(_TOKEN.finditer(self.low, 0, position))
        return [(m.group(0), self.case[m.start() : m.end()], i == 0) for i, m in enumerate(found)]


def _read(clause: Clause, first: bool = True, after_condition: bool = False) -> _Reading:
    """What one clause says, step by step; each step blanks out what it accounted for."""
    text = _Text(clause)
    reading = _Reading(opener=clause.opener, text=clause.text, first_clause=first)
    reading.interrogative = clause.question or _asks_by_word_order(text.low)
    if not _ANY_LITERAL.search(text.low):  # a name, a job title, "xxxx": nothing to read
        reading.leftover = text.leftover()
        reading.question = reading.interrogative
        return reading
    _note_question(text, reading)
    _note_neutral_and_choices(text, reading)
    reading.second_choice |= after_condition
    _note_open_choice(text, reading)
    _note_tentative(text, reading)
    _note_someone_else(text, reading)
    _read_changes(text, reading)
    _read_refusals(text, reading)
    _read_requests(text, reading)
    _read_attendance(text, reading)
    reading.see_you = text.has(_SEE_YOU)
    _read_modes(text, reading)
    _note_absence(text, reading)
    _settle_question(text, reading)
    return reading


def _asks_by_word_order(low: str) -> bool:
    """ "what time does it start", "will there be lunch": a question without its "?"."""
    words = _TOKEN.findall(low)
    while words and words[0] in ("hi", "hello", "so", "also", "and", "just", "ok", "okay"):
        words = words[1:]
    if not words or _EXCLAMATION.match(" ".join(words[:3])):
        return False
    if words[0] in _WH_WORDS:
        return True
    return words[0] in _AUXILIARIES and len(words) > 1 and words[1] in _SUBJECT_STARTS


def _note_question(text: _Text, reading: _Reading) -> None:
    """Whether the clause asks the organisers for something, and whether a question is a polite
    request instead ("could you register me?"); the polite frame is rewritten as a plain "i".
    What someone is thanked for is not asked for; and the list named here is the mailing list,
    not a list of the people at a meeting."""
    thanked = (0, 0)
    for thanks in text.find(_THANKS_FOR)[:1]:
        then = _THANKED_UNTIL.search(text.low, thanks.end())
        thanked = (thanks.start(), then.start() if then else len(text.low))
    reading.question = any(not thanked[0] <= m.start() < thanked[1] for m in text.find(_ASKS))
    reading.polite = bool(text.take(_POLITE_FRAMES, keep="i"))
    reading.names_list = bool(_LIST_NAMED.search(_A_MEETING_LIST.sub(" ", text.low)))


def _note_neutral_and_choices(text: _Text, reading: _Reading) -> None:
    """Blank out politeness that looks like a condition, and note a first or second choice of way
    of attending ("in person if there's space", "otherwise remotely")."""
    reading.regret = text.has(_REGRET)
    text.take(_NEUTRAL)
    space_condition = bool(text.take(_SPACE_CONDITION))
    reading.first_choice = space_condition or text.has(_PREFERENCE)
    second_condition = bool(text.take(_SECOND_CHOICE))
    reading.second_choice = second_condition or reading.opener in _SECOND_OPENERS
    if text.take(_ONLY_IF_NEEDED):
        reading.second_choice = reading.only_if_needed = True


def _note_open_choice(text: _Text, reading: _Reading) -> None:
    """ "I'll confirm whether I'm in the room or online": the choice is blanked out, so that it
    asks for neither way, nor attends by its verbs."""
    reading.open_choice = bool(text.take(_OPEN_CHOICE))


def _note_tentative(text: _Text, reading: _Reading) -> None:
    """Conditions and hedges. In a clause that leaves the way of attending open, they are about
    the way ("not decided yet whether in person or online"), and taken to be only that."""
    conditional, hedged = bool(text.take(_CONDITIONS)), bool(text.take(_HEDGES))
    if not reading.open_choice:
        reading.conditional, reading.hedged = conditional, hedged


def _note_someone_else(text: _Text, reading: _Reading) -> None:
    """Whether the clause names someone besides the sender ("my colleague", "we"), and whether
    it says a request is for someone else: "both of us", "please register Jo Bloggs"."""
    mentions = text.find(_SOMEONE_ELSE)
    reading.someone_else = bool(mentions)
    reading.mentions_only = bool(mentions) and all(
        word in _ADDING or word in _FILLERS or _is_name(cased, word)
        for cased, word in text.words_outside(mentions)
    )
    reading.for_someone_else = bool(
        text.has(_PROXY)
        or (" and " in text.low and _NAMED_COMPANION.search(text.case))
        or text.has(_PARTICLE_OBJECT)
        or any(m.group(1) not in _PLACE_FOR_OK for m in text.find(_PLACE_FOR))
        or any(
            m.group(3) not in _VERB_OBJECTS[m.group(2)]
            for m in text.find(_VERB_OBJECT)
            if not m.group(1)  # "the register", "your unsubscribe link": nouns
        )
    )


def _read_changes(text: _Text, reading: _Reading) -> None:
    """ "Switch me to Teams", "from in person to remote": a change to the mode named after "to";
    the one after "from" is the old one."""
    for pattern in (_CHANGE, _FROM_TO):
        for match in text.take(pattern):
            who, negated = _who(text, match.start())
            if pattern is _FROM_TO and who is _Who.NONE:
                who = _Who.ME  # "from in person to remote, please": about the sender's place
            old = match.group("old") if pattern is _FROM_TO else None
            for found in _FROM.finditer(match.group("between") if old is None else ""):
                old = found.group("old")
            if old:
                reading.refused.add(_mode_of(old))
            _act(reading, IntentKind.CHANGE_MODE, who, negated)
            reading.wanted.append((match.start("new"), _mode_of(match.group("new"))))


def _read_refusals(text: _Text, reading: _Reading) -> None:
    for match in text.take(_REFUSED):
        reading.refused.update(_modes_in(match.group("mode")))


def _read_requests(text: _Text, reading: _Reading) -> None:
    """Requests said in so many words, table by table (see the order of the tables)."""
    for kind, pattern in (
        (IntentKind.DECLINE, _DECLINE),
        (IntentKind.REGISTER, _MEETING_LIST_REGISTER),
        (IntentKind.JOIN, _JOIN),
        (IntentKind.LEAVE, _LEAVE),
        (IntentKind.REGISTER, _REGISTER),
    ):
        for match in text.take(pattern):
            who, negated = _who(text, match.start())
            _act(reading, kind, who, negated)
            reading.wanted.extend((match.start(), mode) for mode in _modes_in(match.group(0)))
    for match in text.take(_REMOVE_ME):
        who, negated = _who(text, match.start())
        _act(reading, IntentKind.LEAVE, who, negated)
        reading.remove_me = True


def _read_attendance(text: _Text, reading: _Reading) -> None:
    """Verbs of attending: the sender's own "I will attend" registers, "I can't attend" declines,
    and "I can't attend in person" only rules that way out."""
    if _ELIDED_NEGATION.match(text.low.strip()):
        reading.acts.append(IntentKind.DECLINE)
        reading.overrides_previous = True
        return
    for match in text.find(_ATTEND):
        if text.low[match.start() : match.end()] != match.group(0):
            continue  # blanked out with a way of attending ruled out before it
        who, negated = _who(text, match.start())
        if who is not _Who.ME:
            reading.for_someone_else |= _about_someone_else(reading, who)
            continue
        if not negated:
            if _joins_nothing_named(text.low, match):
                reading.bare_join = True
            else:
                reading.acts.append(IntentKind.REGISTER)
            continue
        ruled_out = _modes_in(text.low[match.start() : _scope_end(text.low, match.end())])
        if len(set(ruled_out)) == 1:
            reading.refused.update(ruled_out)
            text.blank(match.start(), _scope_end(text.low, match.end()))
        else:
            reading.acts.append(IntentKind.DECLINE)


def _joins_nothing_named(low: str, match: re.Match[str]) -> bool:
    """ "I'd like to join", with neither a meeting nor a way of attending after it."""
    return match.group(0).startswith("join") and not low[match.end() :].strip(" .!")


def _read_modes(text: _Text, reading: _Reading) -> None:
    """The ways of attending named in what is left of the clause; a trailing "instead", "after
    all" or "now" beside them makes an attendance a change of mode, except in a second choice
    ("if it's full I'll join online instead" is a fallback, not a change)."""
    for pattern, mode in ((_REMOTE, REMOTE), (_IN_PERSON, IN_PERSON)):
        reading.wanted.extend((m.start(), mode) for m in text.take(pattern))
    reading.wanted.sort(key=lambda pair: pair[0])
    changes = reading.opener == "instead" or re.search(
        r"\binstead\b(?! of)|\bafter all\b|\bnow\b", text.low
    )
    if (
        changes
        and not reading.second_choice
        and reading.wanted
        and IntentKind.REGISTER in reading.acts
    ):
        reading.acts = [
            IntentKind.CHANGE_MODE if act is IntentKind.REGISTER else act for act in reading.acts
        ]


def _note_absence(text: _Text, reading: _Reading) -> None:
    reading.absence = text.has(_ABSENCE)
    reading.day_named = text.has(_DAY_NAMED)


def _settle_question(text: _Text, reading: _Reading) -> None:
    """A question that is not a polite request asks; whatever it mentions is not asked for ("Do
    I need to register?"), nor are its "if"s conditions on a request. What no step read is kept
    for short replies ("Yes please", "Noted")."""
    reading.leftover = text.leftover()
    reading.says_nothing_else = not (reading.negated or reading.refused) and all(
        word in _SAYS_NOTHING for _, word in reading.leftover
    )
    if not reading.interrogative or (reading.polite and (reading.acts or reading.bare_join)):
        return
    reading.question = reading.question or any(w not in _FILLERS for _, w in reading.leftover)
    reading.acts, reading.wanted, reading.negated = [], [], []
    reading.conditional = reading.hedged = reading.overrides_previous = False
    reading.bare_join = reading.see_you = False
    reading.refused.clear()


def _act(reading: _Reading, kind: IntentKind, who: _Who, negated: bool) -> None:
    """Count a request if it is the sender's own; a negated one is noted, never counted."""
    if who in (_Who.ME, _Who.YOU):
        if negated:
            reading.negated.append(kind)
        else:
            reading.acts.append(kind)
    else:
        reading.for_someone_else |= _about_someone_else(reading, who)


def _about_someone_else(reading: _Reading, who: _Who) -> bool:
    """Whether a request verb whose subject is not the sender is someone else's: it is when its
    subject is a person, or when it has none but the clause names someone ("Jo and I will both
    be there")."""
    return who in (_Who.US, _Who.OTHER) or (who is _Who.NONE and reading.someone_else)


def _who(text: _Text, position: int) -> tuple[_Who, bool]:
    """Who the verb at ``position`` is about, and whether a negation stands between them.

    Walks back from the verb over words that change neither ("would really like to be able
    to"), noting negations, to the first word that does: "I" is the sender; the start of the
    clause is the sender too ("Can't make it", "Will attend"); "we" is several people; a name
    or "my colleague" is someone else; anything else ("the slides will come") no one.
    """
    words = text.words_before(position)
    negated = False
    index = len(words) - 1
    while index >= 0:
        low, cased, first = words[index]
        if low in _NEGATORS:
            negated = True
        elif low == "longer" and index > 0 and words[index - 1][0] == "no":
            negated = True
            index -= 1
        elif low == "i":
            if index and words[index - 1][0] in _WH_WORDS | {"whether", "if"}:
                return _Who.NONE, negated  # "how I attend": a thing asked about, not said
            return _Who.ME, negated or _raised_negation([w for w, _, _ in words[:index]])
        elif low in ("we", "us"):
            return _Who.US, negated
        elif low == "you":
            return _Who.YOU, negated
        elif low in _STOPS:
            break
        elif low in _OTHER_PEOPLE or (
            cased.istitle() and low not in _KNOWN and not (first and text.sentence_start)
        ):
            return _Who.OTHER, negated
        elif low not in _FRAME:
            return _Who.NONE, negated
        index -= 1
    return _Who.ME, negated


def _raised_negation(before_subject: list[str]) -> bool:
    """ "I don't think I can make it": the negation sits before the subject."""
    tail = " ".join(before_subject[-4:])
    return bool(re.search(r"\b(?:do not|did not|don't) (?:think|believe|expect|imagine)$", tail))


def _scope_end(low: str, start: int) -> int:
    """Where a negation's reach ends: at the next word that starts another thought, but not at
    an "or" between ways of attending ("I can't join in person or online")."""
    for found in _STOP.finditer(low, start):
        if found.group(0) in ("or", "nor") and _ANY_MODE.match(low, found.end() + 1):
            continue
        return found.start()
    return len(low)


def _modes_in(phrase: str) -> list[AttendanceMode]:
    found = [(m.start(), REMOTE) for m in _REMOTE.finditer(phrase)]
    found += [(m.start(), IN_PERSON) for m in _IN_PERSON.finditer(phrase)]
    return [mode for _, mode in sorted(found, key=lambda pair: pair[0])]


def _mode_of(phrase: str) -> AttendanceMode:
    """The way of attending a phrase names; "Teams" or "Zoom" alone is remote."""
    return IN_PERSON if _IN_PERSON.search(phrase) else REMOTE


# --- short replies -----------------------------------------------------------------------------

_FILLERS = frozenset(
    """please thanks thank you many much very kind regards best wishes cheers ta hi hello hiya
    dear all team morning afternoon good and so x""".split()
)
_YES = frozenset(
    "yes yep yup yeah yea aye sure definitely absolutely certainly course accept accepted".split()
)
_WITH_YES = _YES | frozenset(
    "of i happy to that is would be great lovely sounds count me in will can shall do thing".split()
)
_PREFERRING = frozenset({"ideally", "preferably"})  # "Teams ideally"
_NO = frozenset("no nope decline declined apologies cannot not".split())
_WITH_NO = _NO | frozenset(
    "sorry i am afraid unfortunately sadly regretfully this time one must will have to".split()
)
#: Words that say which meeting a short answer is about: "Yes for June", "Not this time".
_NAMING_THE_MEETING = frozenset(
    f"""for me this that time one the meeting forum session event next on in th st nd rd
    monday tuesday wednesday thursday friday {_MONTHS.replace("|", " ")}""".split()
)
#: The stems of requests, which a remark after a short answer must not have.
_REQUEST_WORD = re.compile(
    r"\b(?:regist|attend|book|sign|join|enrol|come|coming|came|make|made|unsub|subscri|remov"
    r"|cancel|declin|accept|place|seat|instead|switch|chang)\w*"
)
_ACKNOWLEDGED = frozenset(
    """thanks thank noted received acknowledged understood ok okay got great lovely brilliant
    perfect cheers ta fab excellent""".split()
)
_WITH_ACKNOWLEDGED = _ACKNOWLEDGED | frozenset(
    """it will do for the this that invitation invite email message information info update
    reminder agenda with""".split()
)
_GREETINGS = frozenset({"hi", "hello", "hiya", "dear", "morning", "afternoon"})
#: Words left in a clause that has said nothing of its own besides a hedge or condition: "I'll
#: let you know", "maybe not", "will confirm nearer the time".
_SAYS_NOTHING = (
    _FRAME
    | _FILLERS
    | _NEGATORS
    | frozenset("i it so yet that this you me nearer closer later soon shortly time date".split())
)
_KNOWN = _FRAME | _FILLERS | _WITH_YES | _WITH_NO | _WITH_ACKNOWLEDGED | _NEGATORS | _STOPS


def _short_reply(readings: list[_Reading]) -> str:
    """ "yes", "no" or "thanks" when all the words no step read are one of those, pleasantries
    and words naming the meeting ("Yes for June", "Remote for me please"; a way of attending
    named alone is a yes); else "". Questions are left out: they are marked already, and "Yes.
    What time is it?" is a yes. A yes or a no may be followed by a remark that asks for nothing
    ("Not this time, sorry - we've got inspectors in that week"): the answer is in the clauses
    before it."""
    kept = [
        (reading, _unread_words(reading))
        for reading in readings
        if not (
            reading.interrogative or (not reading.first_clause and _signs_off(reading.leftover))
        )
    ]
    answer = _answer_in(kept)
    for end in range(len(kept) - 1, 0, -1):
        if answer or not all(_is_remark(reading) for reading, _ in kept[end:]):
            break
        answer = _answer_in(kept[:end])
        if answer == "thanks":
            answer = ""
    return answer


def _unread_words(reading: _Reading) -> list[str]:
    """The words of a clause no step read, without the name after a greeting ("Hi Jo")."""
    words, previous = [], ""
    for cased, word in reading.leftover:
        if not (previous in _GREETINGS and _is_name(cased, word)):
            words.append(word)
        previous = word
    return words


def _answer_in(clauses: list[tuple[_Reading, list[str]]]) -> str:
    """The short answer the unread words of these clauses make, or ""."""
    words = [word for _, clause_words in clauses for word in clause_words]
    found = set(words) - _FILLERS - _NAMING_THE_MEETING
    wanted = any(reading.wanted for reading, _ in clauses)
    if found & _YES and found <= _WITH_YES:
        return "yes"
    if wanted and found <= _WITH_YES | _PREFERRING:
        return "a way of attending"
    if found & _NO and found <= _WITH_NO and not wanted:
        return "no"
    if words and not found - _WITH_ACKNOWLEDGED and (found or set(words) & _ACKNOWLEDGED):
        return "thanks"
    return ""


def _is_remark(reading: _Reading) -> bool:
    """A clause after a short answer that neither asks nor answers anything ("I'll be up for
    the week anyway"), nor has a word of a request in it ("No, I've already registered")."""
    return not (
        reading.acts
        or reading.negated
        or reading.wanted
        or reading.refused
        or reading.see_you
        or reading.bare_join
        or reading.absence
        or _REQUEST_WORD.search(reading.text.lower())
    )


#: A word of a signature as written; a letter after a digit is part of a number ("16th Floor").
_CASED_WORD = re.compile(r"(?<![^\W_])[^\W\d_]+(?:'[^\W\d_]+)?")
_TITLE_WORDS = frozenset({"of", "for", "and", "the", "in", "at", "to", "on"})


def _says_nothing(reading: _Reading) -> bool:
    """A clause of names, job titles and pleasantries only, in which nothing was noted: "Alex
    Seddon", "Chair, LGBT+ Staff Network", "Kind regards"."""
    noted = (
        reading.acts
        or reading.negated
        or reading.wanted
        or reading.refused
        or reading.question
        or reading.interrogative
        or reading.see_you
        or reading.bare_join
        or reading.remove_me
        or reading.absence
        or reading.conditional
        or reading.hedged
        or reading.someone_else
        or reading.for_someone_else
    )
    return not noted and all(
        word.lower() in _FILLERS or word.lower() in _TITLE_WORDS or _is_name(word, word.lower())
        for word in _CASED_WORD.findall(reading.text)
    )


def _signs_off(tokens: list[tuple[str, str]]) -> bool:
    """A line of a signature: a name, a job title, a department ("Head of Policy")."""
    names = [cased for cased, word in tokens if _is_name(cased, word)]
    small = [word for _, word in tokens if word in ("of", "for", "and", "the", "in", "at")]
    return bool(names) and len(tokens) <= 8 and len(names) + len(small) == len(tokens)


def _is_name(cased: str, word: str) -> bool:
    return word not in _KNOWN and (cased.istitle() or cased.isupper())


# --- the whole message -------------------------------------------------------------------------

_MODE_WORDS = {IN_PERSON: "in person", REMOTE: "remotely"}


def _combine(readings: list[_Reading], answering: str | None) -> Intent:
    """One intent for the message, from its clauses, the most cautious reading winning."""
    question = any(r.question for r in readings)
    caution = _caution(readings)
    if caution:
        return _unclear(caution, question)
    kinds = _requests(readings)
    if not kinds and any(r.bare_join for r in readings):
        if answering not in MEETING_MESSAGES:
            return _unclear("join what: the list or the meeting", question)
        kinds = {IntentKind.REGISTER}
    if not kinds and any(r.see_you for r in readings):
        if answering not in MEETING_MESSAGES:
            return _unclear("acknowledgement", question)
        kinds = {IntentKind.REGISTER}
    if not kinds:
        found = _understood_from_context(readings, answering)
        if isinstance(found, str):
            return _unclear(found, question)
        kinds = found
    if IntentKind.CHANGE_MODE in kinds:
        kinds.discard(IntentKind.REGISTER)
    if len(kinds) > 1:
        return _unclear("several requests", question)
    kind = kinds.pop()
    if kind is IntentKind.LEAVE and any(r.remove_me for r in readings):
        if answering in ABOUT_A_MEETING and not any(r.names_list for r in readings):
            return _unclear("remove from what: the list or the meeting", question)
    if kind not in (IntentKind.REGISTER, IntentKind.CHANGE_MODE):
        reason = _understood(kind, None, None, question)
        return Intent(kind, question=question, reason=reason)
    if kind is IntentKind.CHANGE_MODE:  # the new mode is the one the change names
        readings = [r for r in readings if IntentKind.CHANGE_MODE in r.acts] + [
            _Reading(refused=set().union(*(r.refused for r in readings)))
        ]
    mode, fallback, conditional = _modes(readings)
    if conditional:
        return _unclear("conditional", question)
    if kind is IntentKind.CHANGE_MODE and mode is None:
        return _unclear("change of mode, but to which is not clear", question)
    reason = _understood(kind, mode, fallback, question)
    return Intent(kind, mode, question, fallback, reason)


#: What a request is about: attending a meeting, or being on the mailing list.
_SUBJECT_OF = {
    IntentKind.REGISTER: "meeting",
    IntentKind.DECLINE: "meeting",
    IntentKind.CHANGE_MODE: "meeting",
    IntentKind.JOIN: "list",
    IntentKind.LEAVE: "list",
}


def _caution(readings: list[_Reading]) -> str:
    """Why what the message asks for must go to a person: it is about someone else, negated or
    conditional; "" when none of these.

    A clause that asks for something (a request, a way of attending, "see you there") counts
    whole. A clause that only tells counts for what reaches a request made elsewhere:

    - a request for someone else ("on behalf of", "Jo will come"), or a person added with
      nothing else said ("and my deputy too"); not a person just named ("my successor will be
      in touch");
    - a negated request about the same thing, attending or the list; not "I may not be on your
      list yet" beside "Can I attend?";
    - a condition or a promise to confirm ("if I can get cover", "I'll let you know"), unless
      it follows a way of attending left open, which is what it is about; a hedge only when the
      clause says nothing else ("Maybe."), not "hopefully see you in March".

    When nothing is asked for, every clause counts, to say why.
    """
    asking = [_asks(r) for r in readings]
    subjects = {_SUBJECT_OF[kind] for r in readings for kind in r.acts}
    someone_else = negated = conditional = False
    for index, reading in enumerate(readings):
        counts = asking[index] or not any(asking)
        after_open_choice = index > 0 and readings[index - 1].open_choice
        someone_else |= reading.for_someone_else or (
            reading.someone_else and (counts or reading.mentions_only)
        )
        negated |= any(counts or _SUBJECT_OF[kind] in subjects for kind in reading.negated)
        conditional |= (
            reading.conditional
            and (counts or not (after_open_choice and reading.says_nothing_else))
        ) or (reading.hedged and (counts or reading.says_nothing_else))
    for cause, present in (
        ("about someone else", someone_else),
        ("negated", negated),
        ("conditional", conditional),
    ):
        if present:
            return cause
    return ""


def _asks(reading: _Reading) -> bool:
    """Whether a clause asks for something, its own or someone else's."""
    return bool(
        reading.acts
        or reading.wanted
        or reading.see_you
        or reading.bare_join
        or reading.for_someone_else
    )


def _requests(readings: list[_Reading]) -> set[IntentKind]:
    """The requests the clauses make; an elided "but I can't" takes back the wish before it."""
    kinds: set[IntentKind] = set()
    for index, reading in enumerate(readings):
        if reading.overrides_previous and index and IntentKind.REGISTER in readings[index - 1].acts:
            kinds.discard(IntentKind.REGISTER)
        kinds.update(reading.acts)
    return kinds


#: Taking a place offered, in so many words: "I'll take it", "happy to accept the place".
_TAKES_THE_PLACE = re.compile(
    r"\b(?:take|taking|accept|accepting|have|grab)\b(?:\s+\w+){0,2}?\s+"
    r"(?:it|that|this|the\s+(?:place|spot|offer|seat)|a\s+place)\b",
    re.IGNORECASE,
)


_NOT_TAKING = re.compile(
    r"(?:\bnot\b|n't\b|\bcannot\b|\bnever\b|\bunable\b|\bno longer\b)[^.!?]{0,20}?"
    r"\b(?:take|taking|accept|accepting|have|grab)\b",
    re.IGNORECASE,
)


def _understood_from_context(
    readings: list[_Reading], answering: str | None
) -> set[IntentKind] | str:
    """With no request in so many words: an absence or a bare "yes" or "no" may still be an
    answer, given what the message replies to. Returns the request, or why it is unclear."""
    about_meeting = answering in MEETING_MESSAGES
    regret = any(r.regret for r in readings)
    if any(r.absence for r in readings):
        if regret or (about_meeting and any(r.day_named for r in readings)):
            return {IntentKind.DECLINE}
        return "mentions being away, but not clearly from the meeting"
    if answering == "offer" and any(
        _TAKES_THE_PLACE.search(r.text)
        and not _NOT_TAKING.search(r.text)
        and not (r.negated or r.hedged or r.regret)
        for r in readings
    ):
        return {IntentKind.REGISTER}  # "I'll take it", to "A place is held for you"
    reply = _short_reply(readings)
    if reply == "thanks":  # "Thanks. Is there parking?" asks something, which a person answers
        return "question only" if any(r.question for r in readings) else "acknowledgement"
    if reply == "a way of attending" and not about_meeting:
        return "a way of attending alone, not in answer to an invitation"
    if reply and not about_meeting:
        return f'a bare "{reply}", not in answer to an invitation'
    if reply in ("yes", "a way of attending"):
        return {IntentKind.REGISTER}
    if reply == "no":
        return {IntentKind.DECLINE}
    refused: set[AttendanceMode] = set().union(*(r.refused for r in readings))
    if refused == {IN_PERSON, REMOTE}:
        return {IntentKind.DECLINE}  # "neither in person nor online"
    if refused:
        return "rules out one way of attending only"
    if any(r.question for r in readings):
        return "question only"
    return "no request found"


def _modes(
    readings: list[_Reading],
) -> tuple[AttendanceMode | None, AttendanceMode | None, bool]:
    """The mode asked for, the fallback, and whether what was said is only conditional.

    Each way of attending named is a first or a second choice, or plain. One plain or first
    choice and a different second choice make a fallback ("in person if there's space,
    otherwise remotely"). Two plain ones leave the mode open; one ruled out and none named
    means the other ("register me, but not in person").
    """
    refused = set().union(*(r.refused for r in readings)) if readings else set()
    first: list[AttendanceMode] = []
    second: list[AttendanceMode] = []
    needed_only = False
    preferred_before = False
    for reading in readings:
        if not reading.wanted:
            continue
        modes = [mode for _, mode in reading.wanted if mode not in refused]
        modes = list(dict.fromkeys(modes))
        is_second = reading.second_choice or (reading.opener == "but" and preferred_before)
        if len(modes) > 1 and (reading.second_choice or reading.first_choice):
            first.append(modes[0])
            second.extend(modes[1:])
        elif is_second:
            second.extend(modes)
            needed_only |= reading.only_if_needed
        else:
            first.extend(modes)
        preferred_before |= reading.first_choice
    firsts = list(dict.fromkeys(first))
    seconds = [m for m in dict.fromkeys(second) if m not in firsts]
    if len(firsts) == 1:
        return firsts[0], (seconds[0] if seconds else None), False
    if len(firsts) > 1:
        return None, None, False
    if needed_only:
        return None, None, True
    if seconds:
        return seconds[0], None, False
    if len(refused) == 1:
        return (REMOTE if IN_PERSON in refused else IN_PERSON), None, False
    return None, None, False


def _unclear(reason: str, question: bool) -> Intent:
    return Intent(IntentKind.UNCLEAR, question=question, reason=reason)


def _understood(
    kind: IntentKind,
    mode: AttendanceMode | None,
    fallback: AttendanceMode | None,
    question: bool,
) -> str:
    words = {
        IntentKind.REGISTER: "asks to register",
        IntentKind.DECLINE: "cannot come",
        IntentKind.CHANGE_MODE: "asks to change how they attend",
        IntentKind.LEAVE: "asks to leave the list",
        IntentKind.JOIN: "asks to join the list",
    }[kind]
    if mode:
        words += f", {_MODE_WORDS[mode]}"
    if fallback:
        words += f", otherwise {_MODE_WORDS[fallback]}"
    if question:
        words += "; also asks a question"
    return words
