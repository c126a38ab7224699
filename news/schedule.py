"""Digest schedules: parsing ``daily HH:MM``, ``weekly DAY HH:MM``, ``every N hours``, and periods.

A period is the scheduled run a digest belongs to, named by a key that is the same however often
it is computed: ``2025-03-30`` for a daily run, ``2025-W13`` for a weekly one, ``h482000/6`` for
every six hours. The subscription records the last period it completed, so a run missed while
the bot was down is made up once (the most recent period only) and a period never runs twice.
Times are wall-clock times in the subscription's IANA time zone, so 09:00 stays 09:00 across a
daylight-saving change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from news.errors import UserError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_NAMES = {
    **{name: index for index, name in enumerate(WEEKDAYS)},
    **{
        name: index
        for index, name in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
    **{
        name: index
        for index, name in enumerate(
            ("الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد")
        )
    },
}
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_HOUR = timedelta(hours=1)
_QUARTER = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a subscription runs: ``kind`` is daily, weekly or interval."""

    kind: str
    at: time = time(9, 0)
    weekday: int = 0
    hours: int = 24

    def __str__(self) -> str:
        if self.kind == "daily":
            return f"daily {self.at:%H:%M}"
        if self.kind == "weekly":
            return f"weekly {WEEKDAYS[self.weekday]} {self.at:%H:%M}"
        return f"every {self.hours}h"


def parse_schedule(words: list[str]) -> tuple[Schedule, list[str]]:
    """Read a schedule from the start of ``words``; returns it and the words left over.

    With no schedule words, the default is daily at 09:00.
    """
    if not words:
        return Schedule("daily"), []
    head = words[0].lower()
    if head == "daily":
        at, rest = _time_from(words[1:], "daily 09:00")
        return Schedule("daily", at=at), rest
    if head == "weekly":
        if len(words) < 2 or words[1].lower() not in _WEEKDAY_NAMES:
            raise UserError(
                "Give the day for a weekly digest, for example: /subscribe weekly mon 09:00",
                key="bad_schedule",
                example="weekly mon 09:00",
            )
        at, rest = _time_from(words[2:], "weekly mon 09:00")
        return Schedule("weekly", at=at, weekday=_WEEKDAY_NAMES[words[1].lower()]), rest
    if head == "every":
        return _interval(words)
    if head[:1].isdigit():  # "/subscribe 08:00 ...": a bare time means daily at that time
        at, rest = _time_from(words, "daily 09:00")
        return Schedule("daily", at=at), rest
    return Schedule("daily"), words


def _time_from(words: list[str], example: str) -> tuple[time, list[str]]:
    if not words:
        return time(9, 0), []
    match = _TIME.match(words[0])
    if not match:
        if re.match(r"^\d", words[0]):
            raise UserError(
                f"{words[0]!r} is not a time; write it as HH:MM, for example: /subscribe {example}",
                key="bad_time",
                example=example,
            )
        return time(9, 0), words
    return time(int(match.group(1)), int(match.group(2))), words[1:]


def _interval(words: list[str]) -> tuple[Schedule, list[str]]:
    example = "every 6 hours"
    if len(words) >= 2:
        compact = re.fullmatch(r"(\d{1,3})h", words[1].lower())
        if compact:
            hours, rest = int(compact.group(1)), words[2:]
        elif words[1].isdigit() and len(words) >= 3 and words[2].lower() in ("hours", "hour", "h"):
            hours, rest = int(words[1]), words[3:]
        else:
            hours, rest = 0, []
        if (1 <= hours <= 168 and 24 % hours == 0) or hours in (48, 72, 96, 120, 144, 168):
            return Schedule("interval", hours=hours), rest
    raise UserError(
        "Write the interval as a number of hours that divides a day (1, 2, 3, 4, 6, 8, 12, 24) "
        f"or whole days up to 168, for example: /subscribe {example}",
        key="bad_interval",
        example=example,
    )


def parse_timezone(name: str) -> ZoneInfo:
    """An IANA time zone, or a UserError with an example of a good one."""
    try:
        if "/" not in name and name.upper() != "UTC":
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name if name.upper() != "UTC" else "UTC")
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise UserError(
            f"{name!r} is not a time zone I know; use an IANA name such as Europe/London, "
            "Africa/Cairo or Asia/Riyadh.",
            key="bad_timezone",
            value=name,
        ) from error


def looks_like_timezone(word: str) -> bool:
    """Whether a word is meant as a time zone (``Area/City`` or ``UTC``)."""
    return "/" in word or word.upper() == "UTC"


@dataclass(frozen=True, slots=True)
class Period:
    """One scheduled run: its key and the UTC instant it was due."""

    key: str
    due_at: datetime


def latest_period(schedule: Schedule, zone: ZoneInfo, now: datetime) -> Period:
    """The most recent scheduled run at or before ``now`` (an aware datetime)."""
    if schedule.kind == "interval":
        return _latest_interval(schedule.hours, zone, now)
    local_now = now.astimezone(zone)
    day = local_now.date()
    for _ in range(8):
        if schedule.kind == "daily" or day.weekday() == schedule.weekday:
            due = _wall_clock(day, schedule.at, zone)
            if due <= now:
                return Period(_period_key(schedule, day), due)
        day -= timedelta(days=1)
    raise AssertionError("a weekly schedule always has a run within eight days")


def next_run(schedule: Schedule, zone: ZoneInfo, now: datetime) -> datetime:
    """The first scheduled run strictly after ``now`` (UTC)."""
    if schedule.kind == "interval":
        # Step forward in quarter hours (every zone's offset is a multiple of 15 minutes) until
        # the latest run changes: that run is the next one.
        current = _latest_interval(schedule.hours, zone, now).key
        probe = now
        while True:
            probe += _QUARTER
            candidate = _latest_interval(schedule.hours, zone, probe)
            if candidate.key != current:
                return candidate.due_at
    day = now.astimezone(zone).date()
    for _ in range(9):
        if schedule.kind == "daily" or day.weekday() == schedule.weekday:
            due = _wall_clock(day, schedule.at, zone)
            if due > now:
                return due
        day += timedelta(days=1)
    raise AssertionError("a weekly schedule always has a run within nine days")


def _latest_interval(hours: int, zone: ZoneInfo, now: datetime) -> Period:
    """The latest run of an every-``hours`` schedule on the local clock.

    Runs start at local midnight (hours dividing a day), or every few days counted from day one
    of the calendar (multi-day intervals).
    """
    local_now = now.astimezone(zone)
    day = local_now.date()
    if hours >= 24:
        days = hours // 24
        day -= timedelta(days=day.toordinal() % days)
        due = _wall_clock(day, time(0, 0), zone)
        if due > now:
            day -= timedelta(days=days)
            due = _wall_clock(day, time(0, 0), zone)
        return Period(f"{day.isoformat()}/{hours}h", due)
    for _ in range(2):
        today = day == local_now.date()
        start_hour = local_now.hour - local_now.hour % hours if today else 24 - hours
        while start_hour >= 0:
            due = _wall_clock(day, time(start_hour, 0), zone)
            if due <= now:
                return Period(f"{day.isoformat()}T{start_hour:02d}/{hours}h", due)
            start_hour -= hours
        day -= timedelta(days=1)
    raise AssertionError("an interval schedule always has a run within two days")


def _wall_clock(day: date, at: time, zone: ZoneInfo) -> datetime:
    """``day`` at ``at`` in ``zone`` as UTC; a time skipped by a DST jump runs an hour later."""
    local = datetime.combine(day, at, tzinfo=zone)
    utc = local.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        utc = (local + _HOUR).astimezone(UTC)  # 02:30 on a spring-forward night does not exist
    return utc


def _period_key(schedule: Schedule, day: date) -> str:
    if schedule.kind == "weekly":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return day.isoformat()


def schedule_from_text(text: str) -> Schedule:
    """Parse a stored schedule string (the ``str`` of a ``Schedule``)."""
    schedule, rest = parse_schedule(text.split())
    if rest:
        raise ValueError(f"bad stored schedule {text!r}")
    return schedule
