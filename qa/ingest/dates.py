"""Publication dates: ISO, RFC 2822 and the common written news formats, always timezone-aware."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

_DATEPARSER_SETTINGS = {
    "RETURN_AS_TIMEZONE_AWARE": True,
    "TIMEZONE": "UTC",
    "TO_TIMEZONE": "UTC",
    "PREFER_DAY_OF_MONTH": "first",
    "STRICT_PARSING": False,
    "REQUIRE_PARTS": ["year"],
}
# The longest written dates ("Mittwoch, 28. Februar 2024, 09:00 Uhr MEZ") are far shorter; dateparser's time grows
# with length (tens of seconds for a few kilobytes), so longer values are refused before they reach it.
MAX_DATE_CHARS = 100


def _aware(value: datetime) -> datetime:
    """`value` with UTC when it names no zone; ValueError when it cannot be expressed in UTC."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        aware.astimezone(UTC)  # 9999-12-31 23:00 PST or 0001-01-01 00:00 UTC+5 fall outside what Python can hold
    except (OverflowError, ValueError):
        raise ValueError(f"unrecognised date: {value.isoformat()} is out of the range of dates") from None
    return aware


def parse_date(value: str | date | datetime | None) -> datetime | None:
    """A timezone-aware datetime (UTC when the input names no zone); None for empty input.

    Raises ValueError with the offending text when the value is not a date.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return _aware(value)
    if isinstance(value, date):
        return _aware(datetime(value.year, value.month, value.day))
    text = str(value).strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    else:
        return _aware(parsed)
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        pass
    else:
        return _aware(parsed)
    if len(text) > MAX_DATE_CHARS:
        raise ValueError(f"unrecognised date {text[:40]!r}…: {len(text)} characters is too long for a date")
    import dateparser  # slow to import; only needed for written-out dates

    try:
        parsed = dateparser.parse(text, settings=_DATEPARSER_SETTINGS)
    except Exception as error:  # dateparser on hostile text raises OverflowError, ValueError, re errors…
        raise ValueError(f"unrecognised date {text!r} ({type(error).__name__}: {str(error)[:80]})") from None
    if parsed is None:
        raise ValueError(f"unrecognised date {text!r} (use e.g. 2024-02-28 or 'Wed, 28 Feb 2024 09:00 GMT')")
    return _aware(parsed)
