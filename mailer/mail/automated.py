"""Recognising mail that no person wrote to us, so that it is never answered and never acted on.

A reply to an automatic message starts loops, and acting on one records
answers nobody gave: an out-of-office note that quotes "please register me"
is not a registration. :func:`automated_reason` says why a message is
automated, as a short plain reason for the inbound log, or None when a person
wrote it. Its rules, cheapest first:

- reports: RFC 8098 read receipts (``multipart/report;
  report-type=disposition-notification`` or a ``message/disposition-notification``
  part anywhere, as Outlook's "Read:" receipts carry it), RFC 3464 delivery
  reports and any other ``multipart/report``;
- headers that mark generated mail: RFC 3834 ``Auto-Submitted`` (anything but
  "no"), the ``X-Autoreply`` family, ``Precedence: bulk/junk/list/auto_reply``,
  ``X-Auto-Response-Suppress``, Exchange's ``X-MS-Exchange-Inbox-Rules-Loop``
  (stamped when a mailbox rule redirected, forwarded or auto-answered the
  message), ``X-Loop``, ``List-Id``/``List-Unsubscribe``;
- calendar notifications that are not iTIP replies ("Accepted: ..." with no
  ``METHOD:REPLY`` part, Google Calendar's invitation notices);
- what the subject and the top of the body say: out-of-office replies in the
  languages Convene reads (the ``[inbound] reply_languages`` codes), ticket
  acknowledgements, mail gateways' quarantine notices, digests, delivery
  reports in other shapes;
- the null envelope sender, and role senders (mailer-daemon, postmaster,
  no-reply, bounces) in the envelope or in From:.

An out-of-office body must be *about the sender being away from their mail*,
not a person saying they will be away on the day: "I'll be out of the office
that day, so can't attend" is a real decline. So a body counts only when it
says the sender is away together with what auto-replies add (when they will
answer, how to reach someone meanwhile, their access to email), or says it is
an automatic reply; a statement of absence alone counts only under a subject
that reads like an out-of-office reply.

Pure: values in, a reason out. Headers are read raw (``read.py`` explains why).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message
from functools import lru_cache

# -- headers ------------------------------------------------------------------------------------

#: Non-standard headers that vacation programs and hosted auto-responders set on their replies.
_AUTOREPLY_HEADERS = (
    "X-Autoreply",
    "X-Auto-Reply",
    "X-Autorespond",
    "X-Autoresponder",
    "X-Autoresponse",
    "X-Auto-Response",
    "X-Autoreply-From",
    "X-Mail-Autoreply",
)
_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_SUPPRESS = frozenset({"all", "oof", "autoreply"})
#: Local parts of role senders that only machines write from.
_ROLE_SENDER = re.compile(
    r"^(?:mailer-?daemon|postmaster|no[-_.]?reply|do[-_.]?not[-_.]?reply|bounces?)(?:[+._-].*)?$",
    re.IGNORECASE,
)
_REPORT_TYPE = re.compile(r"report-type\s*=\s*\"?([\w.-]+)", re.IGNORECASE)
_METHOD = re.compile(rb"^METHOD:\s*([A-Z-]+)", re.IGNORECASE | re.MULTILINE)

#: Why a report part (RFC 6522 ``multipart/report`` and what it holds) is automated.
_REPORT_REASONS = {
    "disposition-notification": "read receipt (RFC 8098)",
    "message/disposition-notification": "read receipt (RFC 8098)",
    "message/global-disposition-notification": "read receipt (RFC 8098)",
    "delivery-status": "delivery report (RFC 3464)",
    "message/delivery-status": "delivery report (RFC 3464)",
    "message/global-delivery-status": "delivery report (RFC 3464)",
    "feedback-report": "feedback report (RFC 5965)",
    "message/feedback-report": "feedback report (RFC 5965)",
}


def _unfolded(value: object) -> str:
    """A raw header value on one line; raw 8-bit bytes read back as UTF-8."""
    text = str(value).replace("\r", "").replace("\n", "")
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _raw(message: Message, name: str) -> str:
    """The first ``name`` header as written, unfolded."""
    wanted = name.lower()
    for key, value in message.raw_items():
        if key.lower() == wanted:
            return _unfolded(value)
    return ""


def _headers(message: Message) -> dict[str, str]:
    """Every header's first value as written, by lower-case name, read in one pass."""
    found: dict[str, str] = {}
    for key, value in message.raw_items():
        found.setdefault(key.lower(), value)
    return found


def _value(headers: dict[str, str], name: str) -> str:
    value = headers.get(name.lower())
    return "" if value is None else _unfolded(value).strip()


def _decoded(text: str) -> str:
    if "=?" not in text:
        return text
    try:
        return str(make_header(decode_header(text)))
    except (HeaderParseError, LookupError, UnicodeError, ValueError):
        return text


def _content_type(part: Message) -> tuple[str, str]:
    """A part's MIME type and its ``report-type`` parameter, from the raw header."""
    value = _raw(part, "Content-Type")
    kind = value.split(";", 1)[0].strip().lower() or "text/plain"
    match = _REPORT_TYPE.search(value)
    return kind, (match.group(1).lower() if match else "")


def _parts(message: Message, depth: int = 0) -> Iterator[Message]:
    """Every MIME part, the message itself first. Attached messages (``message/*``: a forwarded
    report is a person's message) are not opened, nor nesting deeper than mail clients write."""
    yield message
    if depth > 6 or not message.is_multipart() or _content_type(message)[0].startswith("message/"):
        return
    payload = message.get_payload()
    for part in payload if isinstance(payload, list) else []:
        if isinstance(part, Message):
            yield from _parts(part, depth + 1)


@dataclass(frozen=True)
class _Structure:
    """What the MIME structure says: a report, and the calendar methods it carries."""

    report: str | None
    calendar_methods: frozenset[str]


def _structure(message: Message) -> _Structure:
    report: str | None = None
    methods: set[str] = set()
    for part in _parts(message):
        kind, report_type = _content_type(part)
        if report is None:
            if kind == "multipart/report":
                report = _REPORT_REASONS.get(report_type, "automated report (multipart/report)")
            elif kind in _REPORT_REASONS:
                report = _REPORT_REASONS[kind]
        if kind == "text/calendar" or kind == "application/ics":
            try:
                payload = part.get_payload(decode=True)
            except Exception:  # a broken part says nothing
                payload = None
            if isinstance(payload, bytes):
                methods.update(m.decode("ascii").upper() for m in _METHOD.findall(payload[:4096]))
    return _Structure(report, frozenset(methods))


def _header_reason(headers: dict[str, str]) -> str | None:
    auto = _value(headers, "Auto-Submitted").lower()
    if auto and not auto.startswith("no"):
        return f"Auto-Submitted: {auto}"
    for name in _AUTOREPLY_HEADERS:
        if name.lower() in headers and _value(headers, name).lower() not in ("no", "false", "0"):
            return f"auto-reply header ({name})"
    precedence = _value(headers, "Precedence").lower()
    if precedence in _PRECEDENCE:
        return f"Precedence: {precedence}"
    if _value(headers, "X-Auto-Response-Suppress").lower() in _SUPPRESS:
        return "X-Auto-Response-Suppress"
    if "x-ms-exchange-inbox-rules-loop" in headers:
        return "sent by a mailbox rule (X-MS-Exchange-Inbox-Rules-Loop)"
    if "x-loop" in headers:
        return "loop marker (X-Loop)"
    if _value(headers, "List-Id") or _value(headers, "List-Unsubscribe"):
        return "mailing-list message"
    return None


# -- languages ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Language:
    """One language's phrases, written lower case with ``'`` for any apostrophe.

    ``subjects`` open an out-of-office subject on their own; ``away_subjects``
    only when the body says the sender is away. ``away`` says the sender is
    away; ``markers`` are what auto-replies add to that (when they will
    answer, whom to contact meanwhile, their access to email); ``automatic``
    says outright that the text is an automatic reply. ``calendar`` opens
    a calendar client's response subject ("Accepted:"), ``invitation`` its
    invitation notices.
    """

    subjects: tuple[str, ...] = ()
    away_subjects: tuple[str, ...] = ()
    away: tuple[str, ...] = ()
    markers: tuple[str, ...] = ()
    automatic: tuple[str, ...] = ()
    calendar: tuple[str, ...] = ()
    invitation: tuple[str, ...] = ()


_EN = _Language(
    subjects=(
        r"automatic reply",
        r"automated reply",
        r"auto[- ]?reply",
        r"automatic response",
        r"automated response",
        r"auto[- ]?response",
        r"out of office\s*(?:auto ?reply|reply)?\s*:",
        r"ooo\s*:",
        # Lotus (HCL) Notes: "Sam Jones is out of the office." as the whole subject
        r"[^:]{1,80}? is (?:currently )?out of the office\.?"
        r"(?:\s*(?:\(|until |from |returning |back ).*)?$",
    ),
    away_subjects=(
        r"out of (?:the )?office",
        r"away from (?:the|my) office",
        r"(?:i am|i'm) (?:currently )?out of (?:the )?office",
        r"(?:i am |i'm )?(?:currently )?on (?:annual |parental |maternity |paternity "
        r"|study )?leave",
        r"absence notice",
    ),
    away=(
        r"\b(?:i am|i'm|i will be|i'll be|i shall be)(?: currently| presently| now)? (?:out of "
        r"(?:the )?office|away(?: from (?:the|my) (?:office|desk))?|on (?:annual |parental "
        r"|maternity |paternity |sick |study |long[- ]term |compassionate )?leave|on holiday"
        r"|on vacation|not in the office|travelling|traveling|on (?:a )?business trip)\b",
        r"\bon (?:annual |parental |maternity |paternity |sick |study )?leave until\b",
        r"\bout of (?:the )?office until\b",
    ),
    markers=(
        r"\b(?:will|shall) (?:respond|reply|get back to you|deal with (?:it|your \w+)"
        r"|read (?:it|your \w+)|answer|action (?:it|your \w+))(?: to (?:your|all|it|you)"
        r"(?: \w+)?)?(?: as soon as (?:possible|i can|practicable))?,? (?:up)?on my return\b",
        r"\b(?:will|shall) (?:respond|reply|get back to you|be in touch|answer)[^.]{0,60}"
        r"\b(?:when|once|after) i (?:return|am back|get back|'m back)\b",
        r"\b(?:with|will have|have|having) (?:only )?(?:limited|no|intermittent|restricted"
        r"|occasional|little|sporadic) access to (?:my )?(?:e-?mails?|mail|the internet|my inbox)",
        r"\bif (?:your|the) (?:matter|enquiry|inquiry|query|request|message|e-?mail|issue) "
        r"is urgent\b",
        r"\bfor (?:urgent|immediate) (?:matters|enquiries|inquiries|queries|requests|issues"
        r"|assistance)\b",
        r"\b(?:in|during) my absence,? (?:please )?(?:contact|e-?mail|call|get in touch"
        r"|refer|direct|forward)\b",
        r"\byour (?:e-?mail|message) (?:will not|won't) be (?:forwarded|read)\b",
    ),
    automatic=(
        r"\bthank you for your (?:e-?mail|message)[.!,]? (?:i am|i'm)(?: currently| presently"
        r"| now)? (?:out of (?:the )?office|away(?: from (?:the|my) (?:office|desk))?"
        r"|on (?:\w+ )?leave|on holiday|on vacation|not in the office)"
        r"(?: until\b| from\b| between\b| till\b| and will\b| with\b| returning\b|[.,;]|$)",
        r"\bout of the office starting \S+ and will not return until\b",
        r"\bthis is an auto(?:matic|mated) out[- ]of[- ]office (?:reply|response|message)\b",
    ),
    calendar=(
        r"accepted",
        r"declined",
        r"tentative",
        r"tentatively accepted",
        r"canceled event",
        r"cancelled event",
        r"canceled",
        r"cancelled",
        r"new event",
        r"updated event",
        r"proposed new time",
    ),
    invitation=(r"invitation", r"updated invitation(?: with note)?", r"invitation updated"),
)

_LANGUAGES: dict[str, _Language] = {
    "en": _EN,
    "de": _Language(
        subjects=(
            r"automatische antwort",
            r"autom\. antwort",
            r"abwesenheitsnotiz",
            r"automatische abwesenheitsnotiz",
            r"abwesenheitsmeldung",
            r"abwesenheitsnachricht",
        ),
        away_subjects=(
            r"ich bin .{0,60}?nicht im (?:büro|hause?)",
            r"nicht im (?:büro|hause?)",
            r"abwesend\s*:",
            r"abwesenheit\s*:",
            r"außer haus",
            r"urlaub\s*:",
        ),
        away=(
            r"\bich bin (?:.{0,60}? )?(?:nicht im (?:büro|hause?)|abwesend|außer haus"
            r"|im urlaub|in urlaub|nicht erreichbar|auf dienstreise)\b",
        ),
        markers=(
            r"\bnach meiner rückkehr\b",
            r"\bin dringenden fällen\b",
            r"\bbei dringenden (?:anliegen|angelegenheiten|fragen|fällen)\b",
            r"\b(?:e-?mails?|nachrichten|ihre nachricht) (?:wird|werden) (?:nicht )?"
            r"weitergeleitet\b",
            r"\b(?:eingeschränkten|begrenzten|keinen) (?:zugriff|zugang) auf (?:meine )?"
            r"e-?mails?\b",
            r"\bbin ich wieder (?:im büro|erreichbar|für sie da)\b",
        ),
        automatic=(r"\bdies ist eine automatische (?:antwort|nachricht|benachrichtigung)\b",),
        calendar=(
            r"angenommen",
            r"abgelehnt",
            r"mit vorbehalt angenommen",
            r"vorläufig angenommen",
            r"abgesagt",
        ),
        invitation=(r"einladung", r"aktualisierte einladung"),
    ),
    "fr": _Language(
        subjects=(
            r"réponse automatique",
            r"reponse automatique",
            r"message d'absence",
            r"réponse d'absence",
        ),
        away_subjects=(
            r"absence du bureau",
            r"absente? du bureau",
            r"hors du bureau",
            r"absence\s*:",
            r"absente?\s*:",
            r"je suis absente?",
        ),
        away=(
            r"\bje suis (?:actuellement |présentement )?(?:absente?|en congés?|en vacances"
            r"|hors du bureau|en déplacement)\b",
            r"\bje serai (?:absente?|en congés?|en vacances|hors du bureau)\b",
        ),
        markers=(
            r"\b(?:à|dès) mon retour\b",
            r"\ben cas d'urgence\b",
            r"\bpour toute (?:demande|question|affaire) urgente\b",
            r"\baccès (?:limité|restreint) (?:à ma messagerie|à mes (?:e-?mails|courriels"
            r"|messages)|aux (?:e-?mails|courriels|messages))",
            r"\bsans accès à (?:ma messagerie|mes (?:e-?mails|courriels))",
            r"\bvotre (?:message|courriel|e-?mail) ne sera pas (?:transféré|lu)\b",
        ),
        automatic=(r"\bceci est une réponse automatique\b",),
        calendar=(r"accepté", r"refusé", r"provisoire", r"accepté provisoirement", r"annulé"),
        invitation=(r"invitation", r"invitation mise à jour"),
    ),
    "es": _Language(
        subjects=(
            r"respuesta automática",
            r"respuesta automatica",
            r"respuesta de ausencia",
            r"mensaje de ausencia",
        ),
        away_subjects=(r"fuera de la oficina", r"ausente", r"ausencia\s*:", r"estoy fuera"),
        away=(
            r"\b(?:estoy|me encuentro) (?:actualmente )?(?:fuera de la oficina|ausente"
            r"|de vacaciones|de permiso|de baja)\b",
            r"\bestaré (?:fuera de la oficina|ausente|de vacaciones)\b",
        ),
        markers=(
            r"\ba mi (?:regreso|vuelta)\b",
            r"\b(?:para|en caso de) (?:asuntos |temas |consultas )?urgen(?:tes|te|cias?)\b",
            r"\bacceso limitado (?:al|a mi) correo\b",
            r"\bsin acceso al correo\b",
        ),
        automatic=(r"\besta es una respuesta automática\b",),
        calendar=(r"aceptado", r"rechazado", r"provisional", r"cancelado"),
        invitation=(r"invitación", r"invitación actualizada"),
    ),
    "it": _Language(
        subjects=(r"risposta automatica", r"risposta di assenza", r"messaggio di assenza"),
        away_subjects=(r"fuori sede", r"fuori ufficio", r"assente", r"assenza\s*:", r"sono fuori"),
        away=(
            r"\bsono (?:attualmente |al momento )?(?:fuori (?:sede|ufficio)|assente|in ferie"
            r"|in vacanza|in trasferta)\b",
            r"\bsarò (?:fuori (?:sede|ufficio)|assente|in ferie)\b",
        ),
        markers=(
            r"\bal mio rientro\b",
            r"\bper (?:questioni|richieste|comunicazioni|necessità|casi) urgenti\b",
            r"\bin caso di urgenza\b",
            r"\baccesso limitato (?:alla posta|alle e-?mail|alla casella)",
            r"\bsenza accesso alla posta\b",
        ),
        automatic=(r"\bquesta è una risposta automatica\b",),
        calendar=(r"accettato", r"rifiutato", r"provvisorio", r"annullato"),
        invitation=(r"invito", r"invito aggiornato"),
    ),
    "nl": _Language(
        subjects=(
            r"automatisch antwoord",
            r"automatisch bericht",
            r"afwezigheidsbericht",
            r"afwezigheidsmelding",
        ),
        away_subjects=(
            r"afwezig",
            r"niet op kantoor",
            r"buiten kantoor",
            r"afwezigheid\s*:",
            r"ik ben afwezig",
        ),
        away=(
            r"\bik ben (?:.{0,60}? )?(?:afwezig|niet op kantoor|niet aanwezig|met vakantie"
            r"|op vakantie|met verlof|buiten kantoor)\b",
        ),
        markers=(
            r"\bna mijn terugkeer\b",
            r"\b(?:bij|voor) dringende (?:zaken|vragen|kwesties)\b",
            r"\bin dringende gevallen\b",
            r"\bbeperkte? toegang tot (?:mijn )?e-?mail",
            r"\buw (?:e-?mail|bericht) wordt niet doorgestuurd\b",
            r"\bben ik weer (?:aanwezig|bereikbaar|op kantoor)\b",
        ),
        automatic=(r"\bdit is een automatisch (?:antwoord|bericht|gegenereerd bericht)\b",),
        calendar=(r"geaccepteerd", r"geweigerd", r"voorlopig", r"geannuleerd"),
        invitation=(r"uitnodiging", r"bijgewerkte uitnodiging"),
    ),
    "cy": _Language(
        subjects=(r"ateb awtomatig", r"ymateb awtomatig", r"neges awtomatig"),
        away_subjects=(
            r"allan o'r swyddfa",
            r"(?:rydw i|rwyf i?|dw i) allan o'r swyddfa",
            r"i ffwrdd o'r swyddfa",
        ),
        away=(
            r"\b(?:rydw i|rwyf i?|dw i|rydw) (?:allan o'r swyddfa|i ffwrdd|ar wyliau"
            r"|ar absenoldeb)\b",
        ),
        markers=(
            r"\b(?:pan|wedi i mi|ar ôl i mi) (?:ddychwelyd|ddod yn ôl)\b",
            r"\bos yw'?r mater yn (?:un )?brys\b",
            r"\bmaterion brys\b",
            r"\bmynediad cyfyngedig\b",
            r"\bheb fynediad i'?(?:m)? e-?bost\b",
        ),
        automatic=(
            r"\bateb awtomatig yw hwn\b",
            r"\bneges awtomatig yw hon\b",
            r"\bmae hwn yn ateb awtomatig\b",
        ),
        calendar=(r"derbyniwyd", r"gwrthodwyd", r"petrus"),
        invitation=(r"gwahoddiad",),
    ),
    "pt": _Language(
        subjects=(
            r"resposta automática",
            r"resposta automatica",
            r"resposta de ausência",
            r"mensagem de ausência",
        ),
        away_subjects=(
            r"fora do escritório",
            r"ausente do escritório",
            r"ausente",
            r"ausência\s*:",
            r"estou fora",
        ),
        away=(
            r"\b(?:estou|encontro-me|me encontro) (?:atualmente |actualmente |neste momento )?"
            r"(?:ausente|fora do escritório|de férias|de licença)\b",
            r"\bestarei (?:ausente|fora do escritório|de férias)\b",
        ),
        markers=(
            r"\b(?:no|após o|quando do|ao) meu (?:regresso|retorno)\b",
            r"\b(?:para|em caso de) (?:assuntos |questões )?urgen(?:tes|te|cia)\b",
            r"\bacesso limitado ao (?:e-?mail|correio)\b",
            r"\bsem acesso ao (?:e-?mail|correio)\b",
        ),
        automatic=(r"\besta é uma resposta automática\b",),
        calendar=(r"aceito", r"aceite", r"recusado", r"provisório", r"cancelado"),
        invitation=(r"convite", r"convite atualizado"),
    ),
    "sv": _Language(
        subjects=(r"autosvar", r"automatiskt svar", r"frånvaromeddelande"),
        away_subjects=(
            r"frånvarande",
            r"frånvaro\s*:",
            r"inte på kontoret",
            r"ej på kontoret",
            r"jag är inte på kontoret",
        ),
        away=(
            r"\bjag är (?:för närvarande |just nu |tyvärr )?(?:på semester|ledig|frånvarande"
            r"|inte på kontoret|borta|tjänstledig|föräldraledig|på tjänsteresa)\b",
        ),
        markers=(
            r"\b(?:vid|efter) min återkomst\b",
            r"\bbrådskande ärenden\b",
            r"\bbegränsad tillgång till (?:min )?e-?post\b",
            r"\butan tillgång till (?:min )?e-?post\b",
            r"\b(?:din|ditt) (?:e-?post|meddelande) (?:vidarebefordras inte|kommer inte att "
            r"vidarebefordras)\b",
        ),
        automatic=(r"\bdetta är ett automatiskt (?:svar|meddelande)\b",),
        calendar=(r"accepterat", r"accepterad", r"avböjt", r"avböjd", r"preliminärt", r"inställt"),
        invitation=(r"inbjudan", r"uppdaterad inbjudan"),
    ),
    "pl": _Language(
        subjects=(
            r"odpowiedź automatyczna",
            r"automatyczna odpowiedź",
            r"autoodpowiedź",
            r"odpowiedz automatyczna",
        ),
        away_subjects=(r"poza biurem", r"nieobecn(?:y|a|ość)", r"jestem poza biurem"),
        away=(
            r"\bjestem (?:obecnie |aktualnie |teraz )?(?:poza biurem|nieobecn[ya]|na urlopie"
            r"|na zwolnieniu|w delegacji)\b",
            r"\bbędę (?:nieobecn[ya]|poza biurem|na urlopie)\b",
        ),
        markers=(
            r"\bpo (?:moim )?powrocie\b",
            r"\bw (?:pilnych|nagłych) sprawach\b",
            r"\bograniczony dostęp do (?:poczty|e-?maila|skrzynki)\b",
            r"\bbez dostępu do (?:poczty|e-?maila)\b",
        ),
        automatic=(
            r"\b(?:to jest|jest to) (?:automatyczna odpowiedź|wiadomość automatyczna"
            r"|wiadomość wygenerowana automatycznie)\b",
        ),
        calendar=(r"zaakceptowano", r"odrzucono", r"wstępnie zaakceptowano", r"anulowano"),
        invitation=(r"zaproszenie", r"zaktualizowane zaproszenie"),
    ),
    "da": _Language(
        subjects=(r"autosvar", r"automatisk svar", r"fraværsmeddelelse"),
        away_subjects=(r"fraværende", r"ikke på kontoret", r"fravær\s*:"),
        away=(r"\bjeg er (?:i øjeblikket )?(?:på ferie|fraværende|ikke på kontoret|på barsel)\b",),
        markers=(
            r"\b(?:ved|efter) min hjemkomst\b",
            r"\bhastesager\b",
            r"\bbegrænset adgang til (?:min )?e-?mail\b",
        ),
        automatic=(r"\bdette er et automatisk (?:svar|genereret svar)\b",),
        calendar=(r"accepteret", r"afvist", r"foreløbig"),
        invitation=(r"invitation", r"opdateret invitation"),
    ),
    "cs": _Language(
        subjects=(r"automatická odpověď", r"automaticka odpoved"),
        away_subjects=(r"mimo kancelář", r"nepřítomnost", r"nepřítomen"),
        away=(
            r"\bjsem (?:momentálně |nyní |v současné době )?(?:mimo kancelář|na dovolené"
            r"|nepřítomn[ýá])\b",
        ),
        markers=(
            r"\bpo (?:mém|svém) návratu\b",
            r"\bv naléhavých případech\b",
            r"\bomezený přístup k e-?mailu\b",
        ),
        automatic=(r"\b(?:toto je|jedná se o) automatick(?:á|ou) odpověď\b",),
        calendar=(r"přijato", r"odmítnuto", r"předběžně přijato"),
        invitation=(r"pozvánka",),
    ),
    # Subjects only: these clients' out-of-office subjects are fixed, their bodies free.
    "ja": _Language(subjects=(r"自動応答", r"自動返信"), away_subjects=(r"不在",)),
    "ko": _Language(subjects=(r"자동 ?회신", r"자동 ?응답"), away_subjects=(r"부재",)),
    "zh": _Language(
        subjects=(r"自动回复", r"自動回覆", r"自动答复", r"自動回复", r"自動回復"),
        away_subjects=(r"不在办公室", r"不在辦公室", r"外出"),
    ),
}

#: Languages whose out-of-office replies are recognised (``[inbound] reply_languages`` codes).
AWAY_LANGUAGES = frozenset(_LANGUAGES)

#: One reply or forward prefix of a mail client ("Re:", "AW:", "RE[2]:"), or a tag that gateways
#: and lists put first ("[EXTERNAL]", "[forum]").
_PREFIX = re.compile(
    r"\s*(?:(?P<reply>(?:re|aw|antw|antwort|sv|vs|r|rif|ref|réf|res|odp|fw|fwd|wg|tr|enc|doorst"
    r"|vb|vl|ynt|ateb|回复|答复|回覆|転送)\s*(?:\[\d+\]|\(\d+\))?\s*[:：])"
    r"|\[[^\]]{1,40}\]|\*{1,3}external\*{1,3}|external\s*:)\s*",
    re.IGNORECASE,
)
#: What may follow a subject phrase: the end, punctuation or a space (a word ends there).
_PHRASE_END = r"(?=$|[\s:：.,;!?()\[\]\-–—])"


def strip_prefixes(subject: str) -> tuple[str, bool]:
    """The subject without its leading reply prefixes and tags, and whether any was a reply or a
    forward (a notification never is)."""
    position, reply = 0, False
    while match := _PREFIX.match(subject, position):
        if match.end() == position:
            break
        reply = reply or match.group("reply") is not None
        position = match.end()
    return subject[position:], reply


def _alternatives(patterns: Iterable[str]) -> str:
    """One pattern for any of ``patterns``. A word boundary that begins every one of them is
    written once, in front: Python's regular expressions search much faster so."""
    unique = list(dict.fromkeys(patterns))
    if unique and all(p.startswith(r"\b") for p in unique):
        return r"\b(?:" + "|".join(f"(?:{p[2:]})" for p in unique) + ")"
    return "|".join(f"(?:{p})" for p in unique)


@dataclass(frozen=True)
class _Rules:
    subject: re.Pattern[str]
    away_subject: re.Pattern[str]
    away: re.Pattern[str]
    marker: re.Pattern[str]
    automatic: re.Pattern[str]
    calendar: re.Pattern[str]
    invitation: re.Pattern[str]


@lru_cache(maxsize=16)
def _rules(languages: tuple[str, ...]) -> _Rules:
    """The compiled rules of these languages (English always), built once per set of codes."""
    chosen = [_LANGUAGES[code] for code in dict.fromkeys(("en", *languages)) if code in _LANGUAGES]

    def start(attribute: str) -> re.Pattern[str]:
        phrases = _alternatives(p for lang in chosen for p in getattr(lang, attribute))
        return re.compile(f"^(?:{phrases}){_PHRASE_END}" if phrases else r"(?!)")

    def anywhere(attribute: str) -> re.Pattern[str]:
        phrases = _alternatives(p for lang in chosen for p in getattr(lang, attribute))
        return re.compile(phrases if phrases else r"(?!)")

    def response(attribute: str) -> re.Pattern[str]:
        phrases = _alternatives(p for lang in chosen for p in getattr(lang, attribute))
        return re.compile(f"^(?:{phrases})\\s*[:：]" if phrases else r"(?!)")

    return _Rules(
        subject=start("subjects"),
        away_subject=start("away_subjects"),
        away=anywhere("away"),
        marker=anywhere("markers"),
        automatic=anywhere("automatic"),
        calendar=response("calendar"),
        invitation=response("invitation"),
    )


# -- what the text says -------------------------------------------------------------------------

#: Service-desk acknowledgements: "Your request has been logged", "ref INC0012345",
#: "[Request ID :##123##]", "Ticket #12345 has been created", "Case number: 00123456".
_TICKET = re.compile(
    # One word boundary for the worded forms (searching is much faster so than with one each).
    r"\b(?:your (?:request|enquiry|inquiry|query|ticket|case|call|incident|issue|support request)"
    r"(?: \(?#?[a-z]{0,5}-?\d{3,}\)?)? (?:has been|was|is now) (?:logged|received|created|opened"
    r"|registered|raised"
    r"|assigned (?:a|the) (?:ticket|reference|case))"
    r"|(?:ticket|case|request|incident|call)\s*(?:#|no\.?|number|id|ref(?:erence)?)?\s*:?\s*"
    r"#?\s*[a-z]{0,5}-?\d{3,}\b[^.]{0,40}?\bhas been (?:created|opened|logged|raised|received)"
    r"|ref(?:erence)?\s*[:#.]?\s*(?:inc|req|ritm|task|sr|cs|cas|tkt)\d{5,}\b"
    r"|(?:inc|ritm)\d{7,}\b"
    r"|case (?:number|no\.?|#|ref(?:erence)?)\s*(?:is\s*)?[:#]?\s*[a-z]{0,4}-?\d{4,}\b)"
    r"|\[request id\s*:\s*##\d+##\]"
    r"|^\[[\w.\- ]{1,40}#\d{2,}\]"
    r"|##- ?please type your reply above this line ?-##"  # help-desk tools' reply marker
)
#: Mail security gateways about a message they quarantined, held or blocked.
_GATEWAY = re.compile(
    r"\b(?:(?:your (?:messages?|e-?mails?)|(?:the )?following (?:messages?|e-?mails?)"
    r"|an? (?:message|e-?mail) (?:you sent|sent by you|addressed to you|sent to you|for you))"
    r"(?: to .{1,80}?)? "
    r"(?:has|have|was|were|is) (?:been )?(?:quarantined|held (?:for|by|in|pending|because)"
    r"|blocked|placed in quarantine|placed on hold)\b"
    r"|hold for review\b"
    r"|(?:spam |e-?mail |message )?quarantine (?:notification|summary|report|digest|notice)s?\b"
    r"|quarantined (?:messages?|e-?mails?)\b"
    r"|(?:held|blocked) (?:messages?|e-?mails?) (?:notification|report|summary|notice)\b)"
)
#: Delivery reports in other shapes than RFC 3464, by the subjects MTAs give them.
_DELIVERY_SUBJECT = re.compile(
    r"^(?:undeliverable|undelivered mail|delivery status notification|mail delivery (?:failed"
    r"|failure|system|subsystem)|delivery failure|returned mail|failure notice|non-delivery"
    r"|delivery has failed|message delivery failure|delayed mail|nondeliverable"
    r"|message not delivered)\b"
)
_DIGEST = re.compile(r"\b(?:digest|abridged summary)\b")
#: A text that says it was written by a machine.
_AUTOMATED_TEXT = re.compile(
    r"\bthis (?:is an? auto(?:matic|mated|matically generated|-generated) (?:response|reply"
    r"|message|e-?mail|notification|acknowledge?ment)"
    r"|(?:message|e-?mail|notification) (?:was|has been|is) (?:automatically (?:generated"
    r"|sent)|generated automatically|sent automatically))\b"
)
#: Where the sender's own words end: a quoted original or the header of one.
_QUOTE_START = re.compile(
    r"^(?:>|-{2,}\s*(?:original message|forwarded message|ursprüngliche nachricht"
    r"|message d'origine|mensaje original|messaggio originale|oorspronkelijk bericht"
    r"|mensagem original|ursprungligt meddelande|wiadomość oryginalna)"
    r"|_{10,}|(?:from|von|de|van|da|från|od|gan)\s?:\s|on\s.{0,200}\swrote:"
    r"|le\s.{0,200}\sa écrit|am\s.{0,200}\sschrieb)"
)
#: How much of the top of a body is read: auto-replies say what they are at once.
_HEAD_CHARS = 1200


def _head(text: str) -> str:
    """The top of a body, before any quoted original: one line, lower case, ``'`` for every
    apostrophe."""
    kept: list[str] = []
    size = 0
    for line in text.replace("\r", "").split("\n"):
        stripped = line.strip().lower()
        if _QUOTE_START.match(stripped):
            break
        if stripped:
            kept.append(stripped)
            size += len(stripped) + 1
            if size >= _HEAD_CHARS:
                break
    joined = " ".join(" ".join(kept).split())
    return joined.replace("\u2019", "'").replace("\u2018", "'")[:_HEAD_CHARS]


def _plain_text(message: Message) -> str:
    """The first text part (tags dropped from HTML), for callers that have not read the body."""
    for part in _parts(message):
        kind, _ = _content_type(part)
        if kind not in ("text/plain", "text/html") or part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        try:
            text = payload.decode(part.get_content_charset() or "utf-8", "replace")
        except (LookupError, ValueError):
            text = payload.decode("utf-8", "replace")
        return re.sub(r"<[^>]+>", "\n", text) if kind == "text/html" else text
    return ""


def _bare(subject: str) -> tuple[str, bool]:
    """A decoded subject as the rules read it: without prefixes, lower case, ``'`` apostrophes;
    and whether it had a reply or forward prefix."""
    bare, reply = strip_prefixes(" ".join(subject.split()))
    return bare.lower().replace("\u2019", "'").replace("\u2018", "'"), reply


def out_of_office(
    subject: str, text: str, languages: tuple[str, ...] = ("en",), *, head: str | None = None
) -> str | None:
    """Where an out-of-office reply shows itself, "subject" or "body"; None when it is not one.

    ``subject`` is decoded; ``text`` is the body (a quoted original may follow: only the top is
    read; ``head``: that top, when the caller has it already). The subject is read after its
    Re:/AW: prefixes. A body counts when it says it is
    automatic, or says the sender is away together with what auto-replies add; a statement of
    absence alone counts only under a subject that reads like an out-of-office reply.
    """
    rules = _rules(tuple(languages))
    bare, _ = _bare(subject)
    if rules.subject.match(bare):
        return "subject"
    head = _head(text) if head is None else head
    if rules.automatic.search(head):
        return "body"
    if not rules.away.search(head):
        return None
    if rules.marker.search(head):
        return "body"
    return "subject" if rules.away_subject.match(bare) else None


def calendar_notification(
    subject: str,
    methods: frozenset[str] = frozenset(),
    languages: tuple[str, ...] = ("en",),
    *,
    google: bool = False,
) -> bool:
    """Whether a message is a calendar's notice rather than an iTIP reply.

    A message with a ``METHOD:REPLY`` part is a reply (the worker reads those
    before asking this). Otherwise: Google Calendar's notices (``google``, its
    X-Google-Calendar-Content-Display header), a response subject such as
    "Accepted: ...", or an invitation subject when a calendar part or Google's
    "title @ time" form backs it. Never a subject with a reply prefix: people
    answer our own "Invitation: ..." mail with "Re: Invitation: ...".
    """
    if "REPLY" in methods:
        return False
    if google:
        return True
    bare, reply = _bare(subject)
    if reply:
        return False
    rules = _rules(tuple(languages))
    if rules.calendar.match(bare):
        return True
    return rules.invitation.match(bare) is not None and (bool(methods) or " @ " in bare)


#: The addresses in a From: header, local part first (display names may hold anything).
_ADDRESS = re.compile(r"([^\s<>,;:\"()\[\]]+)@([^\s<>,;:\"()\[\]]+)")


def _sender_reason(headers: dict[str, str], envelope_from: str) -> str | None:
    if envelope_from in ("", "<>"):
        return "null envelope sender"
    if _ROLE_SENDER.match(envelope_from.rpartition("@")[0]):
        return f"automated sender {envelope_from}"
    for local, domain in _ADDRESS.findall(_value(headers, "From")):
        if _ROLE_SENDER.match(local):
            return f"automated sender {local}@{domain} (From:)"
    return None


def automated_reason(
    message: Message,
    envelope_from: str,
    languages: tuple[str, ...] = ("en",),
    text: str | None = None,
) -> str | None:
    """Why this message must not be answered or acted on, or None if a person wrote it.

    ``languages`` are the configured reply languages (English is always read);
    ``text`` is the message's readable body when the caller has read it
    already (otherwise its first text part is read).
    """
    structure = _structure(message)
    if structure.report:
        return structure.report
    headers = _headers(message)
    reason = _header_reason(headers)
    if reason:
        return reason
    subject = " ".join(_decoded(_value(headers, "Subject")).split())
    google = "x-google-calendar-content-display" in headers
    if calendar_notification(subject, structure.calendar_methods, languages, google=google):
        return "calendar notification (not a reply)"
    body = _plain_text(message) if text is None else text
    head = _head(body)
    where = out_of_office(subject, body, languages, head=head)
    if where:
        return f"out-of-office reply ({where})"
    bare, reply = _bare(subject)
    whole = subject.lower()
    if _TICKET.search(whole) or _TICKET.search(head):
        return "ticket acknowledgement"
    if _GATEWAY.search(whole) or _GATEWAY.search(head):
        return "mail gateway notification"
    if not reply and _DELIVERY_SUBJECT.match(bare):
        return "delivery report (subject)"
    if not reply and _DIGEST.search(bare):
        return "digest"
    if _AUTOMATED_TEXT.search(head):
        return "automated message (text)"
    return _sender_reason(headers, envelope_from)
