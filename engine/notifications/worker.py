"""The notify worker: claim due outbox rows, send them over SMTP, record each attempt.

Claiming: one short transaction takes up to `batch_size` due rows (`FOR UPDATE SKIP LOCKED`
on PostgreSQL, so concurrent workers never take the same row; `BEGIN IMMEDIATE` on SQLite)
and stamps them with this worker's id and a lease (`claimed_until`). Rows under a live lease
are invisible to other workers.

Delivery guarantee: at-least-once, with the Message-ID fixed by the row id. A row is marked
`sent` in its own transaction only after the SMTP server accepted the message (250 to DATA).
A worker killed between that 250 and its commit leaves the row claimed; once the lease runs
out another worker (or the restarted one) sends it again with the same Message-ID. So a kill
can duplicate at most the one message in flight per worker, never lose one.
"""
from __future__ import annotations

import logging
import smtplib
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

from sqlalchemy import select, update

from engine import mail
from engine.db import Database, rows_changed
from engine.domain.status import BookingStatus
from engine.models import Booking, OutboxMessage
from engine.notifications.events import ScheduledKind
from engine.notifications.render import Outgoing, build_email
from engine.notifications.schedule import schedule_due
from engine.notifications.settings import NotifySettings

log = logging.getLogger("range_control.notify")


@dataclass
class PassResult:
    scheduled: int = 0
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: PassResult) -> None:
        for name in ("scheduled", "claimed", "sent", "retried", "failed", "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)


class SmtpUnavailable(Exception):
    """The server cannot be reached or dropped the connection: retry the whole batch later."""


def _permanent(exc: BaseException) -> bool:
    """5xx answers about this message (bad recipient, refused content) will not get better."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, (smtplib.SMTPDataError, smtplib.SMTPSenderRefused)):
        return exc.smtp_code >= 500
    return False


class Worker:
    def __init__(self, db: Database, smtp: mail.SmtpSettings, settings: NotifySettings,
                 worker_id: str | None = None, connect=mail.connect):
        self.db, self.smtp_settings, self.settings = db, smtp, settings
        self.worker_id = worker_id or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self._connect = connect
        self._smtp: smtplib.SMTP | None = None

    # --- claiming -------------------------------------------------------------------------
    def claim(self) -> list[Outgoing]:
        with self.db.uow() as uow:
            now = uow.now
            ids = list(uow.session.scalars(
                select(OutboxMessage.id)
                .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now,
                       (OutboxMessage.claimed_until.is_(None))
                       | (OutboxMessage.claimed_until <= now))
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.created_at)
                .limit(self.settings.batch_size)
                .with_for_update(skip_locked=True)))
            if not ids:
                return []
            uow.session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(ids))
                .values(claimed_by=self.worker_id,
                        claimed_until=now + timedelta(seconds=self.settings.lease_seconds)))
            rows = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))
                                       .order_by(OutboxMessage.next_attempt_at,
                                                 OutboxMessage.created_at)).all()
            batch = [Outgoing(id=str(r.id), kind=r.kind, recipient_email=r.recipient_email,
                              context=dict(r.context or {}), created_at=r.created_at,
                              subject=r.subject, body_text=r.body_text, body_html=r.body_html)
                     for r in rows]
            uow.commit()
            return batch

    # --- recording --------------------------------------------------------------------------
    def _finish(self, message_id: str, **values) -> bool:
        """Record the outcome, only while this worker still holds the claim."""
        with self.db.uow() as uow:
            values.setdefault("claimed_by", None)
            values.setdefault("claimed_until", None)
            result = uow.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == UUID(message_id),
                       OutboxMessage.claimed_by == self.worker_id)
                .values(**values))
            uow.commit()
            return rows_changed(result) == 1

    def _retry_later(self, message_id: str, error: str, permanent: bool = False) -> str:
        with self.db.uow() as uow:
            row = uow.session.get(OutboxMessage, UUID(message_id))
            if row is None or row.claimed_by != self.worker_id:
                return "lost"
            row.attempts += 1
            row.last_error = error[:2000]
            row.claimed_by, row.claimed_until = None, None
            if permanent or row.attempts >= self.settings.max_attempts:
                row.status = "failed"
            else:
                row.next_attempt_at = uow.now + timedelta(
                    seconds=self.settings.backoff_seconds(row.attempts))
            outcome = "failed" if row.status == "failed" else "retried"
            uow.commit()
        log.warning("notification %s %s: %s", message_id, outcome, error,
                    extra={"action": "notify.send", "status": outcome})
        return outcome

    # --- sending ----------------------------------------------------------------------------
    def _still_relevant(self, row: Outgoing) -> bool:
        """A reminder whose booking was cancelled, bumped or moved since it was queued is
        dropped."""
        if row.kind != ScheduledKind.REMINDER.value:
            return True
        with self.db.uow().read() as uow:
            booking = uow.session.get(Booking, UUID(row.context["booking_id"]))
            return (booking is not None and booking.status is BookingStatus.APPROVED
                    and booking.start_time.isoformat() == row.context["start_time"])

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            try:
                self._smtp = self._connect(self.smtp_settings)
            except (OSError, smtplib.SMTPException) as exc:
                raise SmtpUnavailable(f"{exc.__class__.__name__}: {exc}") from exc
        return self._smtp

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None

    def deliver(self, batch: list[Outgoing]) -> PassResult:
        result = PassResult(claimed=len(batch))
        tz = self.db.settings.tz
        for index, row in enumerate(batch):
            try:
                if not self._still_relevant(row):
                    self._finish(row.id, status="skipped", last_error="booking changed")
                    result.skipped += 1
                    continue
                msg = build_email(row, sender=self.smtp_settings.sender,
                                  domain=self.smtp_settings.sender_domain, tz=tz,
                                  settings=self.settings,
                                  sequence=row.context.get("ical_sequence"))
                smtp = self._connection()
                try:
                    smtp.send_message(msg, to_addrs=[row.recipient_email])
                except smtplib.SMTPServerDisconnected as exc:
                    self._smtp = None
                    raise SmtpUnavailable(f"{exc.__class__.__name__}: {exc}") from exc
                except smtplib.SMTPException:
                    raise  # an answer about this message (SMTPException is an OSError too)
                except OSError as exc:  # the connection broke
                    self._smtp = None
                    raise SmtpUnavailable(f"{exc.__class__.__name__}: {exc}") from exc
            except SmtpUnavailable as exc:
                for pending in batch[index:]:  # the server is down: try them all later
                    outcome = self._retry_later(pending.id, str(exc))
                    if outcome != "lost":
                        setattr(result, outcome, getattr(result, outcome) + 1)
                result.errors.append(str(exc))
                return result
            except smtplib.SMTPException as exc:
                if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 421:
                    self.close()
                outcome = self._retry_later(row.id, f"{exc.__class__.__name__}: {exc}",
                                            permanent=_permanent(exc))
                if outcome != "lost":
                    setattr(result, outcome, getattr(result, outcome) + 1)
                continue
            except Exception as exc:  # noqa: BLE001 - a template or data bug: never retry blindly
                log.exception("notification %s cannot be built", row.id)
                self._retry_later(row.id, f"{exc.__class__.__name__}: {exc}", permanent=True)
                result.failed += 1
                continue
            # The server has accepted the message: record it at once, in its own transaction.
            self._finish(row.id, status="sent", sent_at=self.db.clock(),
                         attempts=OutboxMessage.attempts + 1, last_error=None)
            result.sent += 1
        return result

    # --- passes -----------------------------------------------------------------------------
    def run_once(self, *, schedule: bool = True) -> PassResult:
        """Schedule what is due (reminders, digests), then send every due row, batch by batch."""
        total = PassResult()
        if schedule:
            from engine.services.dayops import run_day_jobs
            run_day_jobs(self.db)  # no-shows and expired waitlist offers: their e-mails go now
            total.scheduled = schedule_due(self.db, self.settings)
        try:
            while True:
                batch = self.claim()
                if not batch:
                    break
                result = self.deliver(batch)
                total.add(result)
                if result.errors:  # SMTP down: stop this pass, the rows wait for their backoff
                    break
        finally:
            self.close()
        return total

    def run_forever(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                result = self.run_once()
                if result.claimed or result.scheduled:
                    log.info("notify pass: %d sent, %d retried, %d failed, %d skipped, "
                             "%d scheduled", result.sent, result.retried, result.failed,
                             result.skipped, result.scheduled,
                             extra={"action": "notify.pass", "status": "ok"})
            except Exception:  # noqa: BLE001 - keep running: the database may come back
                log.exception("notify pass failed", extra={"action": "notify.pass",
                                                           "status": "error"})
            stop.wait(self.settings.poll_seconds)
