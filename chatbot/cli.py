"""`python -m chatbot …`: run the assistant and manage the knowledge base."""

from __future__ import annotations

import argparse
import datetime as dt
import email
import email.policy
import json
import os
import signal
import sys
import time
from pathlib import Path

from chatbot.config import load_settings
from chatbot.knowledge.errors import KnowledgeError
from chatbot.knowledge.loader import read_knowledge


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def cmd_run(args: argparse.Namespace) -> int:
    from chatbot.knowledge.runtime import load_files_into_database
    from chatbot.runner import StartError, start_servers

    settings = load_settings()
    counts = load_files_into_database()
    print(f"==> knowledge loaded: {counts['services']} services, {counts['areas']} areas")
    print("==> starting the action server, the Rasa server and the worker (about 10-30 s) ...")
    try:
        servers = start_servers(settings, log_dir=None if args.foreground_logs else settings.var_dir / "logs")
    except StartError as error:
        return _fail(str(error))
    public = f"http://localhost:{settings.rasa_port}"
    telegram = (
        f"bridge running ({os.environ.get('TELEGRAM_MODE', 'polling')}; see docs/telegram.md)"
        if os.environ.get("TELEGRAM_BOT_TOKEN")
        else "off (set TELEGRAM_BOT_TOKEN to start it)"
    )
    mail = (
        f"by email through {settings.smtp_host}:{settings.smtp_port}"
        if settings.smtp_host
        else f"to {settings.var_dir / 'mail'} (set SMTP_HOST to send them)"
    )
    print(
        f"\nReady.\n"
        f"  Chat page:     {public}/webhooks/web/\n"
        f'  REST channel:  POST {public}/webhooks/rest/webhook  {{"sender": "me", "message": "hi"}}\n'
        f"  Logs:          {settings.var_dir / 'logs'}\n"
        f"  Referrals go:  {mail}\n"
        f"  Telegram:      {telegram}\n"
        f"Press Ctrl-C to stop.",
        flush=True,
    )
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    # Explicit handlers: a shell may start us with SIGINT ignored (background jobs).
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        while not stopping:
            servers.restart_crashed(lambda line: print(line, flush=True))  # a crashed server comes back
            time.sleep(0.5)
    except StartError as error:
        servers.stop()
        return _fail(str(error))
    print("\n==> stopping ...", flush=True)
    servers.stop()
    print("==> stopped.")
    return 0


def _knowledge_or_exit():
    try:
        return read_knowledge(load_settings().knowledge_dir)
    except KnowledgeError as error:
        print(error, file=sys.stderr)
        print("Nothing was loaded. Fix the problems above, then run the command again.", file=sys.stderr)
        raise SystemExit(1) from None


def cmd_kb_validate(_: argparse.Namespace) -> int:
    from chatbot.referrals.consent import read_wording
    from chatbot.referrals.status_wording import read_status_wording
    from chatbot.sources import load_sources

    k = _knowledge_or_exit()
    knowledge_dir = load_settings().knowledge_dir
    try:
        sources = load_sources(knowledge_dir)
    except KnowledgeError as error:
        print(error, file=sys.stderr)
        return 1
    try:
        wording = read_wording(knowledge_dir / "referrals" / "consent.yaml")
    except (KeyError, TypeError, ValueError, OSError) as error:
        return _fail(f"knowledge/referrals/consent.yaml: {error!r}")
    try:
        status_wording = read_status_wording(knowledge_dir / "referrals" / "status.yaml")
    except (KeyError, TypeError, ValueError, OSError) as error:
        return _fail(f"knowledge/referrals/status.yaml: {error!r}")
    print(
        f"knowledge/ is valid: {len(k.services)} services, {len(k.areas)} areas, "
        f"{len(k.gp_surgeries)} GP surgeries, {len(k.organizations)} organisations, "
        f"{len(k.answers)} answers, {len(sources)} share-link sources, consent wording {wording.version}, "
        f"status wording {status_wording.version}."
    )
    return 0


def cmd_kb_load(_: argparse.Namespace) -> int:
    from chatbot.knowledge.runtime import load_files_into_database

    try:
        counts = load_files_into_database()
    except KnowledgeError as error:
        print(error, file=sys.stderr)
        print("Nothing was loaded: the database is unchanged.", file=sys.stderr)
        return 1
    print("Loaded into the database: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return 0


def _service_summary(s) -> dict:  # noqa: ANN001
    return {
        "id": s.id,
        "name": s.name,
        "status": s.status,
        "areas": list(s.eligibility.areas),
        "organization": s.organization,
        "referral_method": s.referral.method,
        "last_verified": s.last_verified.isoformat(),
    }


def cmd_kb_list(args: argparse.Namespace) -> int:
    k = _knowledge_or_exit()
    services = [s for s in k.services if not args.area or args.area in s.eligibility.areas]
    if args.json:
        print(json.dumps([_service_summary(s) for s in services], indent=2))
        return 0
    for s in services:
        print(f"{s.id:48} {s.status:8} {','.join(s.eligibility.areas):20} {s.name}")
    return 0


def cmd_kb_show(args: argparse.Namespace) -> int:
    k = _knowledge_or_exit()
    doc = (
        k.documents["services"].get(args.id)
        or k.documents["answers"].get(args.id)
        or k.documents["areas"].get(args.id)
        or k.documents["gp_surgeries"].get(args.id)
    )
    if doc is None:
        return _fail(
            f"no service, answer, area or GP surgery has the id '{args.id}'. See `python -m chatbot kb list`."
        )
    print(json.dumps(doc, indent=2, ensure_ascii=False))
    return 0


def cmd_kb_stale(args: argparse.Namespace) -> int:
    from chatbot.knowledge.review import stale_entries

    k = _knowledge_or_exit()
    stale = stale_entries(k, older_than_days=args.older_than, today=dt.date.today())
    if args.json:
        print(json.dumps(stale, indent=2))
    elif not stale:
        print(f"Nothing is older than {args.older_than} days or past its review date.")
    for entry in [] if args.json else stale:
        print(f"{entry['kind']:8} {entry['id']:48} {entry['reason']}")
    return 0


def cmd_kb_import_oruk(args: argparse.Namespace) -> int:
    from chatbot.knowledge.oruk import OrukImportError, import_oruk

    try:
        written = import_oruk(Path(args.file), load_settings().knowledge_dir, area=args.area)
    except OrukImportError as error:
        return _fail(str(error))
    print(f"Wrote {len(written)} file(s):")
    for path in written:
        print(f"  {path}")
    print("Review them, then run `python -m chatbot kb validate` and `kb load`.")
    return 0


def _logging_to_stderr() -> None:
    import logging

    # Ids and counts only reach these logs: no message text or contact details.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def cmd_worker(_: argparse.Namespace) -> int:
    import threading

    from chatbot.worker import run_worker

    _logging_to_stderr()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    run_worker(load_settings(), stop)
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    from chatbot.worker import run_retention

    settings = load_settings()
    now = dt.datetime.fromisoformat(args.now) if args.now else dt.datetime.now(dt.timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    report = run_retention(settings, now)
    print(
        f"Removed {report.conversations} conversations ({report.events} events) older than "
        f"{settings.conversation_retention_days} days, and the personal data of {report.referrals} "
        f"referrals older than {settings.referral_retention_days} days."
    )
    return 0


def cmd_erase(args: argparse.Namespace) -> int:
    """For a request made outside the chat (a letter or an email to the council)."""
    from chatbot.db import session_scope
    from chatbot.privacy.tracker_store import erase_conversation
    from chatbot.referrals import store
    from chatbot.referrals.runtime import forget_local_copies, hashing_secret, referral_engine

    settings = load_settings()
    events = erase_conversation(settings.tracker_store_url, args.sender)
    with session_scope(referral_engine()) as session:
        erased = store.erase_person(
            session, store.person_key(hashing_secret(), args.sender), dt.datetime.now(dt.timezone.utc)
        )
    forget_local_copies(erased.references)
    print(
        f"Erased {events} conversation events and the details of {erased.referrals} referrals; "
        f"{erased.services_told} services will be told."
    )
    return 0


def cmd_referrals_withdraw(args: argparse.Namespace) -> int:
    from chatbot.db import session_scope
    from chatbot.referrals import store
    from chatbot.referrals.reference import normalise_reference
    from chatbot.referrals.runtime import forget_local_copies, referral_engine

    reference = normalise_reference(args.reference)
    if reference is None:
        return _fail(f"'{args.reference}' is not a referral reference (they look like HW-7K3MQ-9PXA1).")
    with session_scope(referral_engine()) as session:  # an operator: no proof asked
        result = store.withdraw(session, reference, dt.datetime.now(dt.timezone.utc))
    if result.outcome != store.NOT_FOUND:
        forget_local_copies([reference])
    print(f"{reference}: {result.outcome.replace('_', ' ')}")
    return 1 if result.outcome == store.NOT_FOUND else 0


def cmd_referrals_mail(args: argparse.Namespace) -> int:
    """The embedded outbox's emails (var/mail), opened with the referral key, for the person
    who passes them on. Without a reference: one line per email; with one: its emails whole."""
    from chatbot.referrals.crypto import load_key
    from chatbot.referrals.senders import pickup_files, read_pickup

    settings = load_settings()
    files = pickup_files(settings.var_dir / "mail")
    if args.reference:
        files = [f for f in files if args.reference.upper() in f.name.upper()]
    if not files:
        print("No emails in the outbox" + (f" for {args.reference}." if args.reference else "."))
        return 0 if not args.reference else 1
    key = load_key(settings.var_dir)
    for path in files:
        message = email.message_from_bytes(read_pickup(path, key), policy=email.policy.default)
        if args.reference:  # headers and the body as a person reads it (not quoted-printable)
            print("\n".join(f"{h}: {message[h]}" for h in ("From", "To", "Date", "Subject") if message[h]))
            print("\n" + message.get_body(("plain",)).get_content())
        else:
            print(f"{path.name}  {message['Date']}  {message['Subject']}")
    return 0


def cmd_referrals_outbox(args: argparse.Namespace) -> int:
    """Counts only: how many messages wait, were sent or cancelled, and the oldest waiting."""
    import sqlalchemy as sa

    from chatbot.db import session_scope
    from chatbot.referrals import models
    from chatbot.referrals.runtime import referral_engine

    with session_scope(referral_engine()) as session:
        rows = session.execute(
            sa.select(models.OutboxRow.state, sa.func.count(), sa.func.min(models.OutboxRow.created_at))
            .group_by(models.OutboxRow.state)
            .order_by(models.OutboxRow.state)
        ).all()
    summary = {
        state: {"messages": n, "oldest": oldest.isoformat() if oldest else None} for state, n, oldest in rows
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    elif not summary:
        print("The outbox is empty.")
    for state, figures in [] if args.json else summary.items():
        print(f"{state:10} {figures['messages']:6}  oldest {figures['oldest']}")
    return 0


def cmd_referrals_webhook_secret(args: argparse.Namespace) -> int:
    """Printed for staff to give to one service; derived from the key, so nothing is stored."""
    from chatbot.referrals.crypto import load_key
    from chatbot.referrals.status_links import service_webhook_secret

    print(service_webhook_secret(load_key(load_settings().var_dir), args.service_id).decode())
    return 0


def cmd_referrals_deliver(_: argparse.Namespace) -> int:
    from chatbot.knowledge.runtime import current_catalogue
    from chatbot.referrals.delivery import dispatcher_from_settings
    from chatbot.referrals.runtime import contact_cipher, referral_engine

    _logging_to_stderr()
    services = current_catalogue().services
    dispatcher = dispatcher_from_settings(
        load_settings(),
        referral_engine(),
        contact_cipher(),
        lambda service_id: services[service_id].name if service_id in services else service_id,
    )
    print(dispatcher.run_once(dt.datetime.now(dt.timezone.utc)))
    return 0


def cmd_share_link(args: argparse.Namespace) -> int:
    """A link (and a printable QR code) that a peer mentor, GP surgery or council hands out."""
    import os

    from chatbot.share import ShareError, default_base_url, telegram_link, web_link, write_qr_png
    from chatbot.sources import load_sources

    try:
        sources = load_sources(load_settings().knowledge_dir)
    except KnowledgeError as error:
        print(error, file=sys.stderr)
        return _fail("fix knowledge/sources.yaml, then run the command again.")
    source = sources.get(args.source)
    if source is None:
        known = ", ".join(sorted(sources)) or "none yet"
        return _fail(
            f"no share-link source has the id '{args.source}'. Known sources: {known}. "
            "Add new ones to knowledge/sources.yaml."
        )
    try:
        if args.channel == "telegram":
            link = telegram_link(args.bot_username or os.environ.get("TELEGRAM_BOT_USERNAME", ""), source.id)
        else:
            link = web_link(args.base_url or default_base_url(load_settings().rasa_port), source.id)
        qr = write_qr_png(link, Path(args.qr)) if args.qr else None
    except ShareError as error:
        return _fail(str(error))
    except OSError as error:
        return _fail(f"could not write {args.qr}: {error.strerror or error}")
    print(link)
    mode = " Conversations start in professional mode (about the patient)." if source.professional else ""
    print(f"{source.name}: a {args.channel} link ({source.kind.replace('_', ' ')}).{mode}", file=sys.stderr)
    if qr:
        size = f"{qr.pixels} x {qr.pixels} px, error correction {qr.error}"
        print(f"QR code: {qr.path} ({size})", file=sys.stderr)
    return 0


def _iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        message = f"'{text}' is not a date: write it as YYYY-MM-DD, e.g. 2026-11-30"
        raise argparse.ArgumentTypeError(message) from None


def cmd_report(args: argparse.Namespace) -> int:
    """Outcomes for commissioners: aggregates only, small numbers hidden (docs/outcomes-report.md)."""
    from chatbot.outcomes.render import render
    from chatbot.outcomes.report import ReportError, build_report
    from chatbot.referrals.runtime import referral_engine
    from chatbot.sources import load_sources

    knowledge_dir = load_settings().knowledge_dir
    try:
        report = build_report(
            referral_engine(),
            _knowledge_or_exit(),
            load_sources(knowledge_dir),
            args.date_from,
            args.date_to,
            area_id=args.area,
            review_days=args.review_days,
        )
    except (ReportError, KnowledgeError) as error:
        return _fail(str(error))
    text = render(report, args.format)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"Wrote the {args.format} report to {args.out}.", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_production_up(args: argparse.Namespace) -> int:
    from chatbot.production import stack

    return stack.up_detached(args.timeout) if args.detach else stack.up(args.timeout)


def cmd_production_down(args: argparse.Namespace) -> int:
    from chatbot.production import stack

    return stack.down(args.timeout)


def cmd_production_status(args: argparse.Namespace) -> int:
    from chatbot.production import stack

    return stack.status(as_json=args.json)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chatbot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start the assistant (action server and Rasa server)")
    run.add_argument("--foreground-logs", action="store_true", help="print server logs here")
    run.set_defaults(func=cmd_run)

    kb = sub.add_parser("kb", help="the knowledge base in knowledge/")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True)
    kb_sub.add_parser("validate", help="check every file; change nothing").set_defaults(func=cmd_kb_validate)
    kb_sub.add_parser("load", help="validate, then upsert into the database in one transaction").set_defaults(
        func=cmd_kb_load
    )
    ls = kb_sub.add_parser("list", help="list services")
    ls.add_argument("--json", action="store_true", help="a JSON array of services")
    ls.add_argument("--area", help="only services covering this area id")
    ls.set_defaults(func=cmd_kb_list)
    show = kb_sub.add_parser("show", help="show one entry as JSON")
    show.add_argument("id")
    show.set_defaults(func=cmd_kb_show)
    stale = kb_sub.add_parser("stale", help="entries not checked recently or past review")
    stale.add_argument("--older-than", type=int, required=True, metavar="DAYS")
    stale.add_argument("--json", action="store_true")
    stale.set_defaults(func=cmd_kb_stale)
    imp = kb_sub.add_parser("import-oruk", help="convert an Open Referral UK JSON export")
    imp.add_argument("file")
    imp.add_argument("--area", help="area id for services whose export names no known area")
    imp.set_defaults(func=cmd_kb_import_oruk)

    safety = sub.add_parser("safety", help="the risk engine (chatbot/safety)")
    safety_sub = safety.add_subparsers(dest="safety_command", required=True)
    safety_sub.add_parser(
        "train", help="train the risk classifier on knowledge/safety/corpus (models/safety-classifier.npz)"
    ).set_defaults(func=cmd_safety_train)
    sub.add_parser(
        "worker", help="deliver referrals and run the retention purge (make run starts it)"
    ).set_defaults(func=cmd_worker)
    purge = sub.add_parser("purge", help="run the retention purge now")
    purge.add_argument("--now", help="pretend it is this ISO date-time (for checking a schedule)")
    purge.set_defaults(func=cmd_purge)
    erase = sub.add_parser("erase", help="erase one person's conversation and referral details")
    erase.add_argument("--sender", required=True, help="the channel's sender id (conversation id)")
    erase.set_defaults(func=cmd_erase)

    referrals = sub.add_parser("referrals", help="warm referrals")
    referrals_sub = referrals.add_subparsers(dest="referrals_command", required=True)
    withdraw = referrals_sub.add_parser("withdraw", help="withdraw consent for a referral by its reference")
    withdraw.add_argument("reference")
    withdraw.set_defaults(func=cmd_referrals_withdraw)
    mail = referrals_sub.add_parser(
        "mail", help="the embedded outbox's emails (var/mail, sealed with the referral key), opened"
    )
    mail.add_argument("reference", nargs="?", help="print this referral's emails whole")
    mail.set_defaults(func=cmd_referrals_mail)
    outbox = referrals_sub.add_parser("outbox", help="counts of waiting, sent and cancelled messages")
    outbox.add_argument("--json", action="store_true")
    outbox.set_defaults(func=cmd_referrals_outbox)
    referrals_sub.add_parser("deliver", help="one delivery round now").set_defaults(
        func=cmd_referrals_deliver
    )
    secret = referrals_sub.add_parser(
        "webhook-secret", help="the secret a service signs its status updates with (docs/referral-status.md)"
    )
    secret.add_argument("service_id")
    secret.set_defaults(func=cmd_referrals_webhook_secret)

    share = sub.add_parser("share-link", help="a link (and QR code) for a source in knowledge/sources.yaml")
    share.add_argument("--source", required=True, metavar="ID", help="an id in knowledge/sources.yaml")
    share.add_argument("--channel", choices=("web", "telegram"), default="web")
    share.add_argument("--base-url", metavar="URL", help="public address (default: PUBLIC_BASE_URL)")
    share.add_argument("--bot-username", metavar="NAME", help="default: TELEGRAM_BOT_USERNAME")
    share.add_argument("--qr", metavar="PATH", help="also write a printable QR code PNG here")
    share.set_defaults(func=cmd_share_link)

    report = sub.add_parser("report", help="outcomes for commissioners (aggregates, small numbers hidden)")
    report.add_argument("--from", dest="date_from", type=_iso_date, required=True, metavar="DATE")
    report.add_argument("--to", dest="date_to", type=_iso_date, required=True, metavar="DATE")
    report.add_argument("--area", metavar="ID", help="an area id in knowledge/areas.yaml (default: all)")
    report.add_argument("--format", choices=("html", "csv", "json"), default="html")
    report.add_argument("--out", metavar="FILE", help="write here (default: standard output)")
    report.add_argument("--review-days", type=int, default=182, metavar="DAYS", help="when facts are due")
    report.set_defaults(func=cmd_report)

    production = sub.add_parser(
        "production",
        help="the production profile: PostgreSQL, Redis, several Rasa and action servers behind nginx",
    )
    production_sub = production.add_subparsers(dest="production_command", required=True)
    production_up = production_sub.add_parser(
        "up", help="migrate the database, then start and supervise everything (docs/deployment.md)"
    )
    production_up.add_argument("--detach", action="store_true", help="run in the background until ready")
    production_up.add_argument("--timeout", type=float, default=300.0, metavar="S", help="start-up limit")
    production_up.set_defaults(func=cmd_production_up)
    production_down = production_sub.add_parser("down", help="stop what `production up` started")
    production_down.add_argument("--timeout", type=float, default=60.0, metavar="S")
    production_down.set_defaults(func=cmd_production_down)
    production_status = production_sub.add_parser("status", help="each process: pid, port, health")
    production_status.add_argument("--json", action="store_true")
    production_status.set_defaults(func=cmd_production_status)
    return parser


def cmd_safety_train(args: argparse.Namespace) -> int:
    from chatbot.safety.classifier import MODEL_PATH, PROJECT_ROOT, corpus_digest, save, train, training_files

    model, report = train()
    save(model, corpus_digest(training_files(), PROJECT_ROOT / "data" / "nlu"))
    print(
        f"==> risk classifier: {report['examples']} examples ({report['crisis']} crisis); held out: "
        f"{report['held_out_recall_at_check']:.1%} of crises reach the check level at "
        f"{report['held_out_false_alarms_at_check']:.1%} false alarms ({MODEL_PATH.name})"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
