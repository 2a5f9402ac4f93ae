"""Text rules shared by indexing and answering, stated once: month and weekday names, dates as
sortable numbers, and what a passage is read as (its headline, then its text)."""
from __future__ import annotations

from datetime import date

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
MONTH_ABBREVIATIONS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
                       "sept": 9, "oct": 10, "nov": 11, "dec": 12}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def titled(title: str | None, text: str) -> str:
    """A passage as embedded, re-ranked and verified: the headline gives its sentences context."""
    return f"{title}\n{text}" if title else text


def date_number(day: str | date | None) -> int | None:
    """2025-10-21 (ISO text or a date) as 20251021, which sorts and filters as the dates do."""
    if day is None or day == "":
        return None
    if isinstance(day, date):  # a datetime too
        return day.year * 10000 + day.month * 100 + day.day
    return int(str(day)[:10].replace("-", ""))


def number_date(number: int) -> date | None:
    """The date a `date_number` stands for; None when it is not a real day (2025-11-31)."""
    try:
        return date(int(number) // 10000, int(number) // 100 % 100, int(number) % 100)
    except ValueError:
        return None


SOURCE_CHARS = 200


def check_date(value: str | None) -> str | None:
    """A date typed by a person as stored: YYYY-MM-DD on the calendar, or None for "" / None."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        if len(value) != 10:
            raise ValueError
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"date {value!r} is not a calendar date; write it as YYYY-MM-DD, e.g. 2025-10-21") from None
    return value


def check_source(value: str | None) -> str | None:
    """A source name on one line, at most `SOURCE_CHARS` characters; None for blank."""
    value = " ".join((value or "").split())
    if len(value) > SOURCE_CHARS:
        raise ValueError(f"the source name is {len(value)} characters, over the {SOURCE_CHARS} limit; shorten it")
    return value or None
