"""Time expressions in a question, resolved against the corpus's newest publish date (`anchor`).

News corpora are historical: "last week" is the week before the newest article, not before today.
Future talk ("next week", "later this month", "in 2030") yields no scope: the corpus holds nothing
after its anchor, so narrowing retrieval to such a range could only return nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable

from index.text import MONTH_ABBREVIATIONS, MONTHS, WEEKDAYS

DAY = timedelta(days=1)


@dataclass(frozen=True)
class TimeScope:
    """Inclusive bounds (None: open-ended) and whether the question wants the newest articles."""
    since: date | None
    until: date | None
    latest: bool = False
    phrase: str | None = None  # the matched text, removed from retrieval queries


_MONTHS = {name: n for n, name in enumerate(MONTHS, 1)} | MONTH_ABBREVIATIONS
_NUMBERS = {word: n for n, word in enumerate(
    "one two three four five six seven eight nine ten eleven twelve".split(), 1)} | {"few": 3}

# (?![\w-]) keeps "marching", "Mayor" and "Mar-a-Lago" from reading as months.
_MONTH = r"\b(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")(?![\w-])\.?"
_DAY = r"\b\d{1,2}(?:st|nd|rd|th)?(?!\d)"
_YEAR = r"\b(?:19|20)\d{2}\b"
_WEEKDAY = r"\b(?:" + "|".join(WEEKDAYS) + r")\b"
# Dates safe without a preposition: a day or a year makes "may"/"march" a month, not a verb.
_DATE_BARE = (rf"(?:\b\d{{4}}-\d{{2}}-\d{{2}}\b|{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR})?"
              rf"|{_MONTH}\s+{_DAY}(?:,?\s+{_YEAR})?|{_MONTH},?\s+{_YEAR}|\blast\s+{_WEEKDAY})")
# A lone month, year or weekday needs a preposition ("in May", "since 2024", "on Friday"):
# bare, they are too often a verb, a name, a number or "Good Friday".
_DATE = rf"(?:{_DATE_BARE}|{_MONTH}|{_YEAR}|{_WEEKDAY})"
_FUTURE = re.compile(rf"\b(?:next|coming)\s+{_DATE}|\blater\s+this\s+(?:week|month|year)\b"
                     rf"|{_WEEKDAY}\s+next\s+week\b", re.I)
_LATEST = re.compile(r"\b(?:latest|most\s+recent(?:ly)?|newest|current(?:ly)?|now|still|recent(?:ly)?)\b", re.I)

Bounds = tuple[date | None, date | None]


def _month_end(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - DAY


def _months_back(d: date, months: int) -> date:
    year, month0 = divmod(d.year * 12 + d.month - 1 - months, 12)
    return date(year, month0 + 1, min(d.day, _month_end(year, month0 + 1).day))


def _period_start(d: date, unit: str) -> date:
    if unit == "week":
        return d - d.weekday() * DAY
    return d.replace(day=1) if unit == "month" else date(d.year, 1, 1)


def _span(text: str, anchor: date) -> tuple[date, date] | None:
    """First and last day of a date expression matched by _DATE; None if invalid or in the future."""
    text = text.lower()
    try:
        if iso := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text):
            first = last = date(*map(int, iso.groups()))
        elif weekday := re.search(_WEEKDAY, text):  # the most recent one on or before the anchor
            first = last = anchor - (anchor.weekday() - WEEKDAYS.index(weekday.group())) % 7 * DAY
        else:
            numbers = re.findall(r"\d+", text)
            year = next((int(n) for n in numbers if len(n) == 4), None)
            day = next((int(n) for n in numbers if len(n) <= 2), None)
            month_name = re.search(_MONTH, text)
            if month_name is None:  # a lone year
                first, last = date(year, 1, 1), date(year, 12, 31)
            else:
                month = _MONTHS[month_name.group().rstrip(".")]
                # Without a year: the most recent such month or day on or before the anchor.
                if year is None:
                    later = month > anchor.month or (month == anchor.month and (day or 0) > anchor.day)
                    year = anchor.year - int(later)
                if day:
                    first = last = date(year, month, day)
                else:
                    first, last = date(year, month, 1), _month_end(year, month)
    except ValueError:  # "31 September", "2025-13-01"
        return None
    return (first, last) if first <= anchor else None


def _between(m: re.Match[str], anchor: date) -> Bounds | None:
    # The start is resolved against the end: "between November and March" is Nov 2024 - Mar 2025.
    last = _span(m["b"], anchor)
    first = _span(m["a"], last[1]) if last else None
    return (first[0], last[1]) if first and last and first[0] <= last[1] else None


def _bound(m: re.Match[str], anchor: date) -> Bounds | None:
    span = _span(m["a"], anchor)
    if span is None:
        return None
    return {"since": (span[0], None), "after": (span[1] + DAY, None),
            "before": (None, span[0] - DAY), "until": (None, span[1])}[m["w"].lower()]


def _day(m: re.Match[str], anchor: date) -> Bounds:
    d = anchor - DAY if m["w"].lower() == "yesterday" else anchor
    return d, d


def _this(m: re.Match[str], anchor: date) -> Bounds:
    start = _period_start(anchor, m["u"].lower())
    return start, max(start, anchor - DAY) if m["earlier"] else anchor


def _past(m: re.Match[str], anchor: date) -> Bounds:
    unit, count = m["u"].lower(), m["n"]
    # "last week" is the calendar week before the anchor's; "the last week"/"past week" the 7 days up to it.
    if count is None and not m["the"] and m["w"].lower() != "past" and unit != "day":
        end = _period_start(anchor, unit) - DAY
        return _period_start(end, unit), end
    n = 1 if count is None else int(count) if count.isdigit() else _NUMBERS[count.lower()]
    if unit in ("day", "week"):
        return anchor - timedelta(days=n * (7 if unit == "week" else 1)), anchor
    return _months_back(anchor, n * (12 if unit == "year" else 1)), anchor


def _recent(m: re.Match[str], anchor: date) -> Bounds:
    return anchor - 30 * DAY, None


# Most specific first; the first rule with a valid match decides the range.
Resolver = Callable[[re.Match[str], date], Bounds | None]
_RULES: list[tuple[re.Pattern[str], Resolver]] = [(re.compile(p, re.I), f) for p, f in (
    (rf"\b(?:between|from)\s+(?P<a>{_DATE})\s+(?:and|to|until|through)\s+(?P<b>{_DATE})", _between),
    (rf"\b(?P<w>since|after|before|until)\s+(?P<a>{_DATE})", _bound),
    (r"\b(?P<w>today|yesterday)\b", _day),
    (r"\b(?P<earlier>earlier\s+)?this\s+(?P<u>week|month|year)\b", _this),
    (r"\b(?:(?:in|during|over|within|for)\s+)?(?P<the>the\s+)?(?P<w>past|last|previous)\s+"
     r"(?:(?P<n>\d+|" + "|".join(_NUMBERS) + r")\s+)?(?P<u>day|week|month|year)s?\b", _past),
    (rf"\b(?:in|on|during|of|from)\s+(?P<a>{_DATE})|(?P<a2>{_DATE_BARE})",
     lambda m, anchor: _span(m["a"] or m["a2"], anchor)),
    (r"(?<!most\s)\brecent(?:ly)?\b", _recent),
)]


def parse_time_scope(question: str, anchor: date) -> TimeScope | None:
    """The time scope a question asks about, relative to `anchor`, the corpus's newest date."""
    text = _FUTURE.sub(lambda m: " " * len(m.group()), question)  # same length: offsets still fit
    latest = _LATEST.search(text)
    for pattern, resolve in _RULES:
        for m in pattern.finditer(text):
            try:
                bounds = resolve(m, anchor)
            except (OverflowError, ValueError):  # runs off the calendar: an anchor of 0001-01-01 or 9999-12-31
                continue
            if bounds:
                return TimeScope(*bounds, latest=latest is not None, phrase=question[m.start():m.end()])
    return TimeScope(None, None, latest=True, phrase=latest.group()) if latest else None


def strip_time_phrase(question: str, scope: TimeScope) -> str:
    """The question without its time phrase, so retrieval matches on the topic alone."""
    if not scope.phrase:
        return question
    text = re.sub(re.escape(scope.phrase), " ", question, count=1, flags=re.I)
    text = re.sub(r"\s+([?.!,;:])", r"\1", re.sub(r"^[\s,;:]+", "", text))
    text = re.sub(r"\s{2,}", " ", text).strip()
    return text if re.search(r"\w", text) else question  # a bare "Today?" keeps its only words


_AGO = re.compile(r"(?P<n>\d+|" + "|".join(_NUMBERS) + r"|an?)\s+(?P<u>day|week|month|year)s?\s+ago", re.I)
_YEAR_MONTH = re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})")
FILTER_FORMS = 'YYYY-MM-DD, "last week", "3 days ago", "October 2025" or "2025-10"'


def filter_date(text: str, anchor: date | None, bound: str) -> date:
    """A Since/Until box's text as a date: an ISO date, or a period resolved against `anchor` (the
    corpus's newest date) whose first day (bound "since") or last day ("until") it gives.
    ValueError, naming the text and the forms understood, for anything else."""
    value = " ".join(str(text).split())
    refused = ValueError(f'{bound} "{value}" is not a date: use {FILTER_FORMS}')
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}(?:[ T].*)?", value):  # a datetime's text keeps its day
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            raise ValueError(f'{bound} "{value}" is not a calendar date; use YYYY-MM-DD, e.g. 2025-10-21') from None
    if anchor is None:
        raise ValueError(f'{bound} "{value}" needs dated articles to count from; give a date as YYYY-MM-DD')
    span = _filter_span(value, anchor)
    if span is None:
        raise refused
    return span[0] if bound == "since" else span[1]


def _filter_span(value: str, anchor: date) -> tuple[date, date] | None:
    try:
        if m := _YEAR_MONTH.fullmatch(value):
            year, month = int(m["y"]), int(m["m"])
            return date(year, month, 1), _month_end(year, month)
        if m := _AGO.fullmatch(value):
            word = m["n"].lower()
            n = 1 if word in ("a", "an") else int(word) if word.isdigit() else _NUMBERS[word]
            unit = m["u"].lower()
            try:
                day = (anchor - timedelta(days=n * (7 if unit == "week" else 1)) if unit in ("day", "week")
                       else _months_back(anchor, n * (12 if unit == "year" else 1)))
            except (OverflowError, ValueError):
                day = date.min  # before year 1: as far back as the calendar goes
            return day, day
        # a lone month or year reads as a date after a preposition: "2024" as "in 2024"
        for phrase in (value, f"in {value}"):
            scope = parse_time_scope(phrase, anchor)
            # only part of the text a time ("last week and more") is refused, never half-read
            if scope and scope.phrase and (scope.since or scope.until) and \
                    not re.search(r"\w", phrase.lower().replace(scope.phrase.lower(), "", 1)):
                return scope.since or scope.until, scope.until or anchor
    except (OverflowError, ValueError):  # off the calendar
        return None
    return None
