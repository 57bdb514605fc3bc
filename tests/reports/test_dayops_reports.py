"""The printable day sheet and the no-show rates (both databases)."""
from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from engine import services
from engine.dayops_reports import no_show_rates
from engine.domain.permissions import Role
from reports import cli


@pytest.fixture
def day_data(db, make, clock):
    """On 2030-01-07 (UTC): Ann checks in on Alpha, Bob is released as a no-show on Alpha,
    Cy is booked on Bravo later; a pending request and a next-day booking stay off the sheet."""
    staff = make.user(Role.STAFF)
    services.set_checkin_rule(db.uow(), make.admin.id, "range", required=True)
    alpha = make.resource(name="Alpha Range", resource_type="range")
    bravo = make.resource(name="Bravo <Range>", resource_type="range")
    ann, bob, cy = (make.user(name=n, email=f"{n.lower()}@range.example")
                    for n in ("Ann", "Bob", "Cy"))
    t = clock.now + timedelta(hours=2)  # 08:00
    a = make.booking(alpha, ann, start=t, end=t + timedelta(hours=1), approve_by=staff,
                     purpose="Pistol qualification")
    b = make.booking(alpha, bob, start=t + timedelta(hours=2), end=t + timedelta(hours=3),
                     approve_by=staff, purpose="Rifle zeroing")
    make.booking(bravo, cy, start=t + timedelta(hours=4), end=t + timedelta(hours=5),
                 approve_by=staff, purpose="Night <fire> prep")
    make.booking(bravo, ann, start=t + timedelta(hours=6), end=t + timedelta(hours=7))
    make.booking(bravo, ann, start=t + timedelta(days=1), end=t + timedelta(days=1, hours=1),
                 approve_by=staff)
    clock.now = a.start_time
    services.check_in(db.uow(), ann.id, a.id)
    clock.now = b.start_time + timedelta(minutes=20)
    assert services.release_no_shows(db).released == [b.id]
    return alpha, bravo


def test_day_sheet_html_and_csv(day_data, db_url, tmp_path, capsys):
    code = cli.main(["day-sheet", "--date", "2030-01-07", "--out", str(tmp_path),
                     "--database-url", db_url])
    assert code == 0, capsys.readouterr().err
    sheet = pd.read_csv(tmp_path / "day-sheet_2030-01-07.csv", keep_default_na=False)
    assert list(sheet.columns) == cli_columns()
    shown = ["range", "start", "end", "who", "contact", "purpose", "status"]
    assert sheet[shown].values.tolist() == [
        ["Alpha Range", "08:00", "09:00", "Ann", "ann@range.example", "Pistol qualification",
         "checked in"],
        ["Alpha Range", "10:00", "11:00", "Bob", "bob@range.example", "Rifle zeroing", "no-show"],
        ["Bravo <Range>", "12:00", "13:00", "Cy", "cy@range.example", "Night <fire> prep",
         "booked"],
    ]
    assert (sheet["signature_in"] == "").all()
    page = (tmp_path / "day-sheet_2030-01-07.html").read_text()
    assert page.count("<section>") == 2 and "page-break-after:always" in page
    assert "Bravo &lt;Range&gt;" in page and "Night &lt;fire&gt; prep" in page
    assert page.count('class="sign"') == 6


def test_day_sheet_of_an_empty_day_and_bad_date(day_data, db_url, tmp_path, capsys):
    assert cli.main(["day-sheet", "--date", "2030-02-01", "--out", str(tmp_path),
                     "--database-url", db_url, "--format", "html"]) == 0
    assert "No bookings on 2030-02-01" in (tmp_path / "day-sheet_2030-02-01.html").read_text()
    with pytest.raises(SystemExit) as exc:
        cli.main(["day-sheet", "--date", "2030-02-30"])
    assert exc.value.code == 2 and "--date" in capsys.readouterr().err


def test_no_show_rate_per_resource_and_member(day_data, db, db_url, tmp_path):
    from zoneinfo import ZoneInfo

    with db.uow().read() as uow:
        per_resource = no_show_rates(uow.session, start=date(2030, 1, 7), end=date(2030, 1, 8),
                                     tz=ZoneInfo("UTC"), by="resource")
        per_member = no_show_rates(uow.session, start=date(2030, 1, 7), end=date(2030, 1, 8),
                                   tz=ZoneInfo("UTC"), by="member")
    assert [(r.name, r.attended, r.no_shows, r.rate) for r in per_resource] == [
        ("Alpha Range", 1, 1, 0.5)]
    assert [(r.name, r.attended, r.no_shows, r.rate) for r in per_member] == [
        ("Bob", 0, 1, 1.0), ("Ann", 1, 0, 0.0)]
    assert cli.main(["no-shows", "--from", "2030-01-07", "--to", "2030-01-13", "--out",
                     str(tmp_path), "--database-url", db_url, "--no-progress"]) == 0
    by_member = pd.read_csv(tmp_path / "no-shows_2030-01-07_2030-01-13_by_member.csv")
    assert by_member.values.tolist() == [["Bob", 0, 1, 1.0], ["Ann", 1, 0, 0.0]]


def cli_columns():
    from reports.day_sheet import COLUMNS
    return COLUMNS
