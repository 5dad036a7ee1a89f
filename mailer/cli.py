"""The ``convene`` command: run the service, and do what the panel does, from scripts."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from mailer.config import Config, ConfigError, load_config
from mailer.domain.errors import DomainError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mailer.domain.services import Services
    from mailer.runtime import Runtime

log = logging.getLogger("convene")


@contextmanager
def _runtime(config: Config) -> Iterator[Runtime]:
    from mailer.runtime import make_runtime

    runtime = make_runtime(config)
    try:
        yield runtime
    finally:
        runtime.engine.dispose()


@contextmanager
def _session(config: Config) -> Iterator[Session]:
    with _runtime(config) as runtime, runtime.sessions() as session:
        yield session


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


# -- service -----------------------------------------------------------------

def cmd_init(config: Config, args: argparse.Namespace) -> int:
    from mailer.db import migrate
    from mailer.domain.demo import database_is_empty, seed_demo
    from mailer.domain.models import OrganiserRole
    from mailer.domain.organisers import count_organisers, create_organiser, generate_password

    with _runtime(config) as runtime, runtime.sessions() as session:
        migrate(runtime.engine)
        print(f"Database ready: {runtime.engine.url.render_as_string(hide_password=True)}")
        if args.demo and database_is_empty(session) and count_organisers(session) == 0:
            seed = seed_demo(session, domain=config.mail.domain)
            base = config.service.base_url.rstrip("/")
            print("\nSeeded a DEMO list and meeting (labelled [Demo]; delete them when you set up your own).")
            print(f"  List address:   {seed.list_address}")
            print(f"  Panel:          {base}/panel/")
            print(f"  Demo login:     {seed.organiser_email}")
            print(f"  Demo password:  {seed.organiser_password}   (shown once; reset with "
                  f"'convene organiser reset-password {seed.organiser_email}')")
            print(f"  Try it:         python3 -c \"import smtplib; smtplib.SMTP('{config.inbound.host}', "
                  f"{config.inbound.port}).sendmail('you@example.org', '{seed.list_address}', "
                  f"b'From: You <you@example.org>\\r\\nSubject: Forum\\r\\n\\r\\nPlease register me, "
                  f"I will join remotely.')\"")
            print(f"  Then open:      {base}/panel/mailbox\n")
        elif count_organisers(session) == 0:
            email = args.admin_email or f"admin@{config.mail.domain}"
            password = generate_password()
            create_organiser(session, email=email, password=password, name="Administrator",
                             role=OrganiserRole.ADMIN, actor="system")
            print(f"\nCreated the first organiser (admin): {email}")
            print(f"Password (shown once): {password}\n")
    return 0


def cmd_serve(config: Config, args: argparse.Namespace, *, smtp: bool = True, worker: bool = True,
              web: bool = True) -> int:
    from mailer.db import current_revision
    from mailer.runtime import serve

    if args.lmtp:
        config = config.replace(inbound={"lmtp": True})
    with _runtime(config) as runtime:
        if current_revision(runtime.engine) is None:
            print("The database is not initialised: run 'convene init' first.", file=sys.stderr)
            return 2
        parts = [name for name, on in (("smtp", smtp), ("worker", worker), ("web", web)) if on]
        log.info("starting %s (%s)", ", ".join(parts), "dev mode" if config.service.dev_mode else "production")
        try:
            asyncio.run(serve(runtime, smtp=smtp, worker=worker, web=web))
        except KeyboardInterrupt:
            pass
        except OSError as exc:
            print(f"convene: {exc}", file=sys.stderr)
            return 1
    print("Stopped.")
    return 0


def cmd_doctor(config: Config, args: argparse.Namespace) -> int:
    from mailer.doctor import run_doctor

    checks, records = run_doctor(config)
    for check in checks:
        print(f"{'ok  ' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
    print("\nDNS records to publish for the mail domain:")
    for record in records:
        print(f"  {record}")
    return 0 if all(c.ok for c in checks) else 1


# -- lists -------------------------------------------------------------------

def cmd_list_create(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.lists import create_list

    with _session(config) as session:
        created = create_list(session, slug=args.slug, name=args.name, description=args.description, actor="cli")
    result = {"id": created.id, "slug": created.slug, "name": created.name,
              "address": config.addresses.list_address(created.slug)}
    _print_json(result) if args.json else print(f"Created list {created.name}: {result['address']}")
    return 0


def cmd_list_configure(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.lists import configure_list

    with _session(config) as session:
        updated = configure_list(session, slug=args.slug, actor="cli", name=args.name,
                                 allowed_sender_domains=args.allowed_domains, trust_dmarc=args.trust_dmarc)
    print(f"{updated.name}: allowed sender domains: {updated.allowed_sender_domains or 'any'}; "
          f"DMARC pass skips join confirmation: {'yes' if updated.trust_dmarc else 'no'}")
    return 0


def cmd_list_show(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.lists import all_lists

    with _session(config) as session:
        lists = all_lists(session)
    rows = [{"slug": l.slug, "name": l.name, "address": config.addresses.list_address(l.slug)} for l in lists]
    if args.json:
        _print_json(rows)
    else:
        for row in rows:
            print(f"{row['address']:40} {row['name']}")
    return 0


def cmd_list_add_member(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.lists import add_member

    with _session(config) as session:
        add_member(session, slug=args.slug, email=args.email, display_name=args.name, actor="cli")
    print(f"Added {args.email} to {args.slug}.")
    return 0


def cmd_list_members(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.lists import list_members

    with _session(config) as session:
        members = list_members(session, args.slug)
    rows = [{"email": m.email, "name": m.display_name, "status": m.status.value} for m in members]
    if args.json:
        _print_json(rows)
    else:
        for row in rows:
            print(f"{row['email']:40} {row['status']:12} {row['name'] or ''}")
        print(f"{len(rows)} member(s)")
    return 0


# -- meetings ----------------------------------------------------------------

def cmd_meeting_create(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.meetings import create_meeting

    with _session(config) as session:
        meeting = create_meeting(
            session, list_slug=args.list, title=args.title, starts_at=args.starts, ends_at=args.ends,
            timezone_name=args.timezone, format=args.format, venue=args.venue, dial_in=args.dial_in,
            description=args.description, capacity=args.capacity, rsvp_deadline=args.deadline,
            status=args.status, actor="cli")
    result = {"id": meeting.id, "title": meeting.title, "starts_at": meeting.starts_at.isoformat(),
              "ends_at": meeting.ends_at.isoformat(), "status": meeting.status.value}
    _print_json(result) if args.json else print(f"Created meeting {meeting.id}: {meeting.title}")
    return 0


def cmd_meeting_series(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.meetings import create_series

    with _session(config) as session:
        meetings = create_series(
            session, list_slug=args.list, title=args.title, starts_at=args.starts, ends_at=args.ends,
            rrule=args.rrule, count=args.count, timezone_name=args.timezone, format=args.format, venue=args.venue,
            dial_in=args.dial_in, description=args.description, capacity=args.capacity,
            deadline_days_before=args.deadline_days_before, actor="cli")
    rows = [{"id": m.id, "starts_at": m.starts_at.isoformat(), "ends_at": m.ends_at.isoformat()} for m in meetings]
    if args.json:
        _print_json(rows)
    else:
        for row in rows:
            print(f"Created meeting {row['id']}: {row['starts_at']}")
    return 0


def cmd_meeting_list(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.meetings import list_meetings

    with _session(config) as session:
        meetings = list_meetings(session, args.list)
    rows = [{"id": m.id, "title": m.title, "list": m.mailing_list.slug, "starts_at": m.starts_at.isoformat(),
             "status": m.status.value} for m in meetings]
    if args.json:
        _print_json(rows)
    else:
        for row in rows:
            print(f"{row['id']:>5}  {row['starts_at'][:16]}  {row['status']:10} {row['title']}")
    return 0


def cmd_meeting_attendees(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.meetings import attendee_report

    with _session(config) as session:
        report = attendee_report(session, args.meeting_id)
    if args.json:
        _print_json(report.as_dict())
        return 0
    if args.csv:
        from mailer.domain.reports import attendees_csv

        sys.stdout.buffer.write(attendees_csv(report, config.organisations))
        return 0
    print(f"{report.meeting.title}: {report.in_person} in person, {report.remote} remote, "
          f"{report.undecided} registered without a mode, {report.declined} declined")
    for a in report.attendees:
        answer = "declined" if a.response.value == "declined" else (a.mode.value if a.mode else "registered")
        print(f"  {a.email:40} {answer:10} via {a.source}")
    return 0


# -- inbound -----------------------------------------------------------------

def cmd_inbound(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.models import InboundStatus
    from mailer.domain.triage import inbound_log

    with _session(config) as session:
        rows = inbound_log(session, limit=args.limit, status=InboundStatus(args.status) if args.status else None)
    data = [{"id": r.id, "received_at": r.received_at.isoformat(), "message_id": r.message_id,
             "from": r.mail_from, "to": r.rcpt_to, "list": r.list_slug, "intent": r.intent,
             "status": r.status.value, "outcome": r.outcome, "error": r.error.splitlines()[-1] if r.error else ""}
            for r in rows]
    if args.json:
        _print_json(data)
    else:
        for d in data:
            print(f"{d['id']:>6} {d['received_at'][:19]} {d['status']:9} {d['intent'] or '-':10} "
                  f"{d['from'][:30]:30} {d['outcome']}")
    return 0


# -- news --------------------------------------------------------------------

def _news_body(args: argparse.Namespace) -> str:
    if args.body_file == "-":
        return sys.stdin.read()
    with open(args.body_file, encoding="utf-8") as fh:
        return fh.read()


def cmd_news_create(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.news import create_news

    with _session(config) as session:
        news = create_news(session, list_slug=args.list, subject=args.subject, body_markdown=_news_body(args),
                           actor="cli")
    _print_json({"id": news.id, "status": news.status.value}) if args.json else print(f"Created news {news.id} (draft).")
    return 0


def cmd_news_list(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.news import list_news

    with _session(config) as session:
        items = list_news(session)
    rows = [{"id": n.id, "list": n.mailing_list.slug, "subject": n.subject, "status": n.status.value,
             "scheduled_at": n.scheduled_at.isoformat() if n.scheduled_at else None,
             "sent_at": n.sent_at.isoformat() if n.sent_at else None} for n in items]
    if args.json:
        _print_json(rows)
    else:
        for row in rows:
            print(f"{row['id']:>5}  {row['status']:10} {row['list']:16} {row['subject']}")
    return 0


def cmd_news_preview(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.news import preview_news

    with _session(config) as session:
        rendered = preview_news(session, _services(config), args.news_id)
    print(rendered.html if args.html else f"Subject: {rendered.subject}\n\n{rendered.text}")
    return 0


def cmd_news_test(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.news import send_test

    with _session(config) as session:
        send_test(session, _services(config), args.news_id, to_email=args.email, actor="cli")
    print(f"Queued a test copy to {args.email}.")
    return 0


def cmd_news_send(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.meetings import parse_local_datetime
    from mailer.domain.news import schedule_news, send_news_now

    with _session(config) as session:
        if args.at:
            at = parse_local_datetime(args.at, args.timezone, "at")
            schedule_news(session, args.news_id, at=at, actor="cli")
            result = {"id": args.news_id, "status": "scheduled", "at": at.isoformat()}
        else:
            count = send_news_now(session, _services(config), args.news_id, actor="cli")
            result = {"id": args.news_id, "status": "sent", "recipients": count}
    if args.json:
        _print_json(result)
    elif args.at:
        print(f"News {args.news_id} scheduled for {result['at']}.")
    else:
        print(f"News {args.news_id} queued for {result['recipients']} member(s).")
    return 0


def cmd_news_report(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.news import delivery_report, get_news

    with _session(config) as session:
        news = get_news(session, args.news_id)
        if news.mailing_id is None:
            print(f"News {news.id} has not been sent ({news.status.value}).")
            return 0
        report = delivery_report(session, news.mailing_id)
    data = {"queued": report.queued, "sending": report.sending, "sent": report.sent, "failed": report.failed,
            "failures": [{"recipient": r, "error": e} for r, e in report.recent_failures]}
    if args.json:
        _print_json(data)
    else:
        print(f"sent {report.sent}, queued {report.queued}, sending {report.sending}, failed {report.failed}")
        for r, e in report.recent_failures:
            print(f"  {r}: {e}")
    return 0


def _services(config: Config) -> Services:
    from mailer.domain.services import build_services

    return build_services(config)


def cmd_meeting_update(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.schedules import update_meeting

    with _session(config) as session:
        told = update_meeting(session, _services(config), args.meeting_id, actor="cli", title=args.title,
                              starts_at=args.starts, ends_at=args.ends, venue=args.venue, dial_in=args.dial_in)
    print(f"Meeting {args.meeting_id} updated; {told} person(s) told of the change.")
    return 0


def cmd_meeting_cancel(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.schedules import cancel_meeting

    with _session(config) as session:
        told = cancel_meeting(session, _services(config), args.meeting_id, actor="cli", reason=args.reason)
    print(f"Meeting {args.meeting_id} cancelled; {told} person(s) told.")
    return 0


def cmd_meeting_agenda(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.schedules import set_agenda

    with open(args.file, encoding="utf-8") if args.file != "-" else sys.stdin as fh:
        agenda = fh.read()
    with _session(config) as session:
        set_agenda(session, args.meeting_id, agenda=agenda, days_before=args.days_before, actor="cli")
    print(f"Agenda saved for meeting {args.meeting_id}.")
    return 0


def cmd_meeting_attach(config: Config, args: argparse.Namespace) -> int:
    from pathlib import Path

    from mailer.domain.attachments import add_attachment

    path = Path(args.file)
    with _session(config) as session:
        info = add_attachment(session, args.meeting_id, filename=path.name, data=path.read_bytes(), actor="cli")
    print(f"Attached {info.filename} ({info.size} bytes) to meeting {args.meeting_id}: it goes with the "
          "invitation and the agenda.")
    return 0


def cmd_meeting_invite(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.invitations import send_invitations

    with _session(config) as session:
        count = send_invitations(session, _services(config), args.meeting_id, actor="cli")
    _print_json({"meeting": args.meeting_id, "invited": count}) if args.json else \
        print(f"Invited {count} member(s) to meeting {args.meeting_id}.")
    return 0


def cmd_token_create(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.api_tokens import create_token

    with _session(config) as session:
        token = create_token(session, name=args.name, actor="cli")
    print(f"API token for {args.name} (shown once; keep it secret): {token}")
    return 0


def cmd_token_revoke(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.api_tokens import revoke_token

    with _session(config) as session:
        count = revoke_token(session, name=args.name, actor="cli")
    print(f"Revoked {count} token(s) called {args.name}.")
    return 0


def cmd_person_export(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.privacy import export_person

    with _session(config) as session:
        _print_json(export_person(session, args.email))
    return 0


def cmd_person_erase(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.privacy import erase_person

    if not args.yes:
        print(f"This removes everything held about {args.email} and cannot be undone. Run again with --yes.",
              file=sys.stderr)
        return 2
    with _session(config) as session:
        result = erase_person(session, args.email, actor="cli")
    print(f"Erased {args.email}: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in result.items()))
    return 0


# -- organisers --------------------------------------------------------------

def cmd_organiser_create(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.models import OrganiserRole
    from mailer.domain.organisers import create_organiser, generate_password

    password = generate_password()
    with _session(config) as session:
        create_organiser(session, email=args.email, password=password, name=args.name or "",
                         role=OrganiserRole.ADMIN if args.admin else OrganiserRole.ORGANISER, actor="cli")
    print(f"Created organiser {args.email}. Password (shown once): {password}")
    return 0


def cmd_organiser_reset(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.organisers import generate_password, set_password

    password = generate_password()
    with _session(config) as session:
        set_password(session, email=args.email, password=password, actor="cli")
    print(f"New password for {args.email} (shown once): {password}")
    return 0


# -- consultations -------------------------------------------------------------

def cmd_consultation_create(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.consultations import RoleSpec, create_consultation
    from mailer.domain.meetings import parse_local_datetime
    from mailer.domain.models import ConsultationKind

    roles = []
    for spec in args.role or []:
        name, _, aliases = spec.partition(":")
        roles.append(RoleSpec(name=name, aliases=aliases))
    closes_at = parse_local_datetime(args.closes, args.timezone, "closes") if args.closes else None
    with _session(config) as session:
        consultation = create_consultation(
            session, list_slug=args.list, title=args.title, question_markdown=_news_body(args),
            kind=ConsultationKind.VOLUNTEERS if roles else ConsultationKind.QUESTION,
            anonymous=args.anonymous, closes_at=closes_at, roles=roles, actor="cli")
    result = {"id": consultation.id, "kind": consultation.kind.value, "status": consultation.status.value,
              "anonymous": consultation.anonymous}
    _print_json(result) if args.json else print(f"Created consultation {consultation.id} (draft).")
    return 0


def _consultation_row(c: Any) -> dict[str, Any]:
    return {"id": c.id, "list": c.mailing_list.slug, "kind": c.kind.value, "title": c.title,
            "status": c.status.value, "anonymous": c.anonymous, "recipients": c.recipients,
            "closes_at": c.closes_at.isoformat() if c.closes_at else None,
            "sent_at": c.sent_at.isoformat() if c.sent_at else None}


def cmd_consultation_list(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.consultations import list_consultations

    with _session(config) as session:
        rows = [_consultation_row(c) for c in list_consultations(session)]
    if args.json:
        _print_json(rows)
    else:
        for row in rows:
            print(f"{row['id']:>5}  {row['status']:7} {row['kind']:10} {row['list']:16} {row['title']}")
    return 0


def cmd_consultation_preview(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.consultations import preview_consultation

    with _session(config) as session:
        rendered = preview_consultation(session, _services(config), args.consultation_id)
    print(rendered.html or "" if args.html else f"Subject: {rendered.subject}\n\n{rendered.text}")
    return 0


def cmd_consultation_send(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.consultations import send_consultation

    with _session(config) as session:
        count = send_consultation(session, _services(config), args.consultation_id, actor="cli")
    _print_json({"id": args.consultation_id, "recipients": count}) if args.json else \
        print(f"Consultation {args.consultation_id} queued for {count} member(s).")
    return 0


def cmd_consultation_close(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.consultations import close_consultation

    with _session(config) as session:
        close_consultation(session, args.consultation_id, actor="cli")
    print(f"Consultation {args.consultation_id} closed.")
    return 0


def cmd_consultation_answers(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.consultations import answers_csv, find_answers, get_consultation

    with _session(config) as session:
        consultation = get_consultation(session, args.consultation_id)
        answers = find_answers(session, args.consultation_id, search=args.search or "", tag=args.tag or "")
    if args.csv:
        sys.stdout.buffer.write(answers_csv(consultation, answers))
        return 0
    rows = [{"id": a.id, "email": None if consultation.anonymous or a.person is None else a.person.email,
             "received_at": None if consultation.anonymous else a.received_at.isoformat(),
             "late": a.late, "replies": a.replies, "tags": [t.tag for t in a.tags], "text": a.text} for a in answers]
    if args.json:
        _print_json(rows)
    else:
        for row in rows:
            print(f"--- {row['id']}  {row['email'] or 'anonymous'}  {row['received_at'] or ''}"
                  f"{'  late' if row['late'] else ''}  {', '.join(row['tags'])}\n{row['text']}\n")
    return 0


def cmd_consultation_tag(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.consultations import tag_answer, untag_answer

    with _session(config) as session:
        if args.remove:
            untag_answer(session, args.answer_id, args.tag, actor="cli")
        else:
            tag_answer(session, args.answer_id, args.tag, actor="cli")
    return 0


def cmd_consultation_volunteers(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.consultations import volunteers_by_role

    with _session(config) as session:
        rows = [{"role": rv.role.name, "offers": [
            {"offer": o.id, "email": o.person.email, "name": o.person.display_name, "status": o.status.value,
             "via": o.source, "at": o.created_at.isoformat()} for o in rv.offers]}
            for rv in volunteers_by_role(session, args.consultation_id)]
    if args.json:
        _print_json(rows)
    else:
        for row in rows:
            print(f"{row['role']} ({len(row['offers'])})")
            for o in row["offers"]:
                print(f"  {o['offer']:>5}  {o['status']:9} {o['email']}")
    return 0


def cmd_consultation_accept(config: Config, args: argparse.Namespace) -> int:
    from mailer.domain.consultations import accept_offer

    with _session(config) as session:
        offer = accept_offer(session, _services(config), args.offer_id, actor="cli")
    _print_json({"offer": offer.id, "status": offer.status.value}) if args.json else \
        print(f"Offer {offer.id} accepted; the volunteer has been emailed.")
    return 0


# -- parser ------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="convene", description="Email-first mailing lists and meeting RSVPs.")
    parser.add_argument("--config", "-c", help="TOML configuration file (default: $CONVENE_CONFIG, then ./convene.toml)")
    parser.add_argument("--verbose", "-v", action="store_true", help="log debugging detail")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(parent: Any, name: str, func: Callable[..., int], help: str) -> argparse.ArgumentParser:
        p = parent.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        return p

    p = add(sub, "init", cmd_init, "create or upgrade the database and the first organiser")
    p.add_argument("--admin-email", help="address of the first organiser (default admin@<mail domain>)")
    p.add_argument("--demo", action="store_true", help="on an empty database, seed a labelled demo list and meeting")
    for name, parts, text in (("serve", {}, "run SMTP in, the worker and the web app in one process"),
                              ("smtp", {"worker": False, "web": False}, "run the inbound SMTP/LMTP server"),
                              ("worker", {"smtp": False, "web": False}, "run the worker (inbound processing, delivery)"),
                              ("web", {"smtp": False, "worker": False}, "run the web app (development server)")):
        p = add(sub, name, lambda c, a, _parts=parts: cmd_serve(c, a, **_parts), text)
        if name in ("serve", "smtp"):
            p.add_argument("--lmtp", action="store_true", help="speak LMTP instead of SMTP (behind Postfix or Exim)")
        else:
            p.set_defaults(lmtp=False)

    add(sub, "doctor", cmd_doctor, "check configuration, database, smarthost and DKIM; print the DNS records")

    lists = sub.add_parser("list", help="mailing lists").add_subparsers(dest="list_command", metavar="ACTION", required=True)
    p = add(lists, "create", cmd_list_create, "create a list")
    p.add_argument("slug", help="local part of the list address, e.g. forum")
    p.add_argument("--name", required=True, help="the list's name as members see it")
    p.add_argument("--description", default="")
    p.add_argument("--json", action="store_true")
    p = add(lists, "configure", cmd_list_configure, "change a list's name, sender domains or DMARC trust")
    p.add_argument("slug")
    p.add_argument("--name")
    p.add_argument("--allowed-domains", help="comma-separated, e.g. '*.gov.uk, nhs.net'; '' allows any")
    p.add_argument("--trust-dmarc", action=argparse.BooleanOptionalAction, default=None,
                   help="let an aligned DMARC pass (from the trusted MTA) skip join confirmation")
    p = add(lists, "show", cmd_list_show, "show all lists")
    p.add_argument("--json", action="store_true")
    p = add(lists, "add-member", cmd_list_add_member, "add an active member to a list")
    p.add_argument("slug")
    p.add_argument("email")
    p.add_argument("--name")
    p = add(lists, "members", cmd_list_members, "list a list's members")
    p.add_argument("slug")
    p.add_argument("--json", action="store_true")

    meetings = sub.add_parser("meeting", help="meetings").add_subparsers(dest="meeting_command", metavar="ACTION", required=True)
    p = add(meetings, "create", cmd_meeting_create, "create a meeting for a list")
    p.add_argument("--list", required=True, help="the list's slug")
    p.add_argument("--title", required=True)
    p.add_argument("--starts", required=True, help="local start, e.g. '2026-03-12 14:00'")
    p.add_argument("--ends", required=True, help="local end, e.g. '2026-03-12 16:00'")
    p.add_argument("--timezone", default="Europe/London")
    p.add_argument("--format", choices=["in_person", "remote", "hybrid"], default="hybrid")
    p.add_argument("--venue", default="", help="sent only to in-person delegates")
    p.add_argument("--dial-in", default="", help="sent only to remote delegates")
    p.add_argument("--description", default="")
    p.add_argument("--capacity", type=int, help="in-person places")
    p.add_argument("--deadline", help="RSVP deadline, local time")
    p.add_argument("--status", choices=["draft", "published", "cancelled"], default="published")
    p.add_argument("--json", action="store_true")
    p = add(meetings, "series", cmd_meeting_series,
            "create a recurring meeting (RFC 5545 RRULE) and its next occurrences")
    p.add_argument("--list", required=True)
    p.add_argument("--title", required=True)
    p.add_argument("--starts", required=True, help="first occurrence, local time")
    p.add_argument("--ends", required=True, help="end of the first occurrence, local time")
    p.add_argument("--rrule", required=True, help="e.g. 'FREQ=MONTHLY;INTERVAL=3' for quarterly")
    p.add_argument("--count", type=int, default=4, help="how many occurrences to create now (at most 24)")
    p.add_argument("--timezone", default="Europe/London")
    p.add_argument("--format", choices=["in_person", "remote", "hybrid"], default="hybrid")
    p.add_argument("--venue", default="")
    p.add_argument("--dial-in", default="")
    p.add_argument("--description", default="")
    p.add_argument("--capacity", type=int)
    p.add_argument("--deadline-days-before", type=int, help="RSVP deadline, days before each occurrence")
    p.add_argument("--json", action="store_true")
    p = add(meetings, "list", cmd_meeting_list, "list meetings")
    p.add_argument("--list", help="only this list's meetings")
    p.add_argument("--json", action="store_true")
    p = add(meetings, "invite", cmd_meeting_invite,
            "email an invitation (signed links + calendar) to every member who has not replied")
    p.add_argument("meeting_id", type=int)
    p.add_argument("--json", action="store_true")
    p = add(meetings, "update", cmd_meeting_update,
            "change title, time or place; delegates and invitees get an update with the calendar")
    p.add_argument("meeting_id", type=int)
    p.add_argument("--title")
    p.add_argument("--starts")
    p.add_argument("--ends")
    p.add_argument("--venue")
    p.add_argument("--dial-in")
    p = add(meetings, "attach", cmd_meeting_attach, "attach a file (e.g. terms of reference) to the invitation and agenda")
    p.add_argument("meeting_id", type=int)
    p.add_argument("file")
    p = add(meetings, "cancel", cmd_meeting_cancel, "cancel a meeting and send calendar cancellations")
    p.add_argument("meeting_id", type=int)
    p.add_argument("--reason", default="")
    p = add(meetings, "agenda", cmd_meeting_agenda,
            "set the agenda (Markdown) sent to registered delegates before the meeting")
    p.add_argument("meeting_id", type=int)
    p.add_argument("--file", required=True, help="Markdown file, or - for standard input")
    p.add_argument("--days-before", type=int, help="days before the meeting to send it (default 7)")
    p = add(meetings, "attendees", cmd_meeting_attendees, "who is coming to a meeting")
    p.add_argument("meeting_id", type=int)
    p.add_argument("--json", action="store_true")
    p.add_argument("--csv", action="store_true", help="CSV for Excel on standard output")

    p = add(sub, "inbound", cmd_inbound, "recent inbound mail: what was understood and what was done")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--status", choices=["new", "processing", "done", "triage", "ignored", "failed"])
    p.add_argument("--json", action="store_true")

    news = sub.add_parser("news", help="news to a list").add_subparsers(dest="news_command", metavar="ACTION", required=True)
    p = add(news, "create", cmd_news_create, "write a news item (Markdown) as a draft")
    p.add_argument("--list", required=True)
    p.add_argument("--subject", required=True)
    p.add_argument("--body-file", required=True, help="Markdown file, or - for standard input")
    p.add_argument("--json", action="store_true")
    p = add(news, "list", cmd_news_list, "list news items")
    p.add_argument("--json", action="store_true")
    p = add(news, "preview", cmd_news_preview, "show a news item as members will get it")
    p.add_argument("news_id", type=int)
    p.add_argument("--html", action="store_true", help="print the HTML part instead of the text")
    p = add(news, "test", cmd_news_test, "send one test copy to an address")
    p.add_argument("news_id", type=int)
    p.add_argument("email")
    p = add(news, "send", cmd_news_send, "send a news item now, or schedule it with --at")
    p.add_argument("news_id", type=int)
    p.add_argument("--at", help="local time to send, e.g. '2026-03-12 09:00'")
    p.add_argument("--timezone", default="Europe/London")
    p.add_argument("--json", action="store_true")
    p = add(news, "report", cmd_news_report, "delivery results of a sent news item")
    p.add_argument("news_id", type=int)
    p.add_argument("--json", action="store_true")

    consult = sub.add_parser("consultation", help="consultations and calls for volunteers").add_subparsers(
        dest="consultation_command", metavar="ACTION", required=True)
    p = add(consult, "create", cmd_consultation_create,
            "write a question (Markdown) for a list's members, as a draft; with --role, a call for volunteers")
    p.add_argument("--list", required=True)
    p.add_argument("--title", required=True, help="also the email's subject")
    p.add_argument("--body-file", required=True, help="Markdown file, or - for standard input")
    p.add_argument("--role", action="append", help="a role volunteers can offer for, e.g. 'Communications: comms'"
                                                   " (repeat for each role)")
    p.add_argument("--anonymous", action="store_true", help="store answers with no link to who wrote them")
    p.add_argument("--closes", help="local closing time, e.g. '2026-03-12 17:00'")
    p.add_argument("--timezone", default="Europe/London")
    p.add_argument("--json", action="store_true")
    p = add(consult, "list", cmd_consultation_list, "list consultations")
    p.add_argument("--json", action="store_true")
    p = add(consult, "preview", cmd_consultation_preview, "show a consultation as members will get it")
    p.add_argument("consultation_id", type=int)
    p.add_argument("--html", action="store_true")
    p = add(consult, "send", cmd_consultation_send, "send a draft to every active member, one message each")
    p.add_argument("consultation_id", type=int)
    p.add_argument("--json", action="store_true")
    p = add(consult, "close", cmd_consultation_close, "stop taking answers (later replies are kept, marked late)")
    p.add_argument("consultation_id", type=int)
    p = add(consult, "answers", cmd_consultation_answers, "the answers collected so far")
    p.add_argument("consultation_id", type=int)
    p.add_argument("--search", help="only answers containing this text")
    p.add_argument("--tag", help="only answers with this tag")
    p.add_argument("--json", action="store_true")
    p.add_argument("--csv", action="store_true", help="CSV for Excel on standard output")
    p = add(consult, "tag", cmd_consultation_tag, "tag an answer (or --remove a tag) to group themes")
    p.add_argument("answer_id")
    p.add_argument("tag")
    p.add_argument("--remove", action="store_true")
    p = add(consult, "volunteers", cmd_consultation_volunteers, "who offered to help, per role")
    p.add_argument("consultation_id", type=int)
    p.add_argument("--json", action="store_true")
    p = add(consult, "accept", cmd_consultation_accept, "accept a volunteer's offer and email them")
    p.add_argument("offer_id", type=int)
    p.add_argument("--json", action="store_true")

    tokens = sub.add_parser("api-token", help="tokens for the read-only JSON API").add_subparsers(
        dest="token_command", metavar="ACTION", required=True)
    p = add(tokens, "create", cmd_token_create, "create a token; prints it once")
    p.add_argument("name", help="what will use it, e.g. website")
    p = add(tokens, "revoke", cmd_token_revoke, "revoke every active token with this name")
    p.add_argument("name")

    people = sub.add_parser("person", help="data protection requests").add_subparsers(
        dest="person_command", metavar="ACTION", required=True)
    p = add(people, "export", cmd_person_export, "everything held about an address, as JSON")
    p.add_argument("email")
    p = add(people, "erase", cmd_person_erase, "erase an address's personal data, keeping anonymous counts")
    p.add_argument("email")
    p.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")

    organisers = sub.add_parser("organiser", help="organiser accounts").add_subparsers(dest="organiser_command", metavar="ACTION", required=True)
    p = add(organisers, "create", cmd_organiser_create, "create an organiser; prints a generated password once")
    p.add_argument("email")
    p.add_argument("--name")
    p.add_argument("--admin", action="store_true", help="give the admin role")
    p = add(organisers, "reset-password", cmd_organiser_reset, "set a new generated password; prints it once")
    p.add_argument("email")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        for noisy in ("alembic", "mail.log", "werkzeug"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        config = load_config(args.config)
        return args.func(config, args)
    except ConfigError as exc:
        print(f"convene: configuration error: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"convene: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
