"""Date and lifespan templates rendered as the wiki shows them (``{{birth date|1950|3|2}}`` → "March 2,
1950"), so that removing them leaves no hole in a lead such as "X (born …) is a painter".

Only the date is rendered: the age some of them add ("(age 74)") depends on the day the page is
viewed, and our outputs must not. A template known here but with arguments no rule reads renders
nothing, like any other removed template.
"""

from __future__ import annotations

#: template name (folded) → order of its first date's year, month, day arguments
DATE_TEMPLATES: dict[str, str] = {
    **dict.fromkeys((
        "birth date", "birth date and age", "bda", "dob", "death date", "death date and age", "dda",
        "start date", "start date and age", "end date", "end date and age", "release date", "dts",
        "film date", "birth-date", "death-date",
        # Vietnamese
        "ngày sinh", "ngày sinh và tuổi", "ngày mất", "ngày mất và tuổi", "ngày bắt đầu và tuổi",
        "ngày thành lập và tuổi",
        # Ukrainian
        "дата", "дата релізу та вік",
    ), "ymd"),
    **dict.fromkeys(("дн", "дс", "дн2", "дс2", "дата народження", "дата смерті"), "dmy"),
    **dict.fromkeys(("birth year and age", "death year and age", "birth year", "death year"), "y"),
}

_MONTHS: dict[str, tuple[str, ...]] = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
    "uk": ("січня", "лютого", "березня", "квітня", "травня", "червня", "липня", "серпня", "вересня", "жовтня",
           "листопада", "грудня"),
    "hy": ("հունվարի", "փետրվարի", "մարտի", "ապրիլի", "մայիսի", "հունիսի", "հուլիսի", "օգոստոսի", "սեպտեմբերի",
           "հոկտեմբերի", "նոյեմբերի", "դեկտեմբերի"),
}
_UK_MONTH_NAMES = ("січень", "лютий", "березень", "квітень", "травень", "червень", "липень", "серпень", "вересень",
                   "жовтень", "листопад", "грудень")
_HY_MONTH_NAMES = ("հունվար", "փետրվար", "մարտ", "ապրիլ", "մայիս", "հունիս", "հուլիս", "օգոստոս", "սեպտեմբեր",
                   "հոկտեմբեր", "նոյեմբեր", "դեկտեմբեր")


def _number(value: str, low: int, high: int) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() and low <= int(value) <= high else None


def format_date(year: int, month: int | None, day: int | None, language: str, day_first: bool = False) -> str:
    """A date as the wiki's language writes it; ISO 8601 for languages without a rule here."""
    if month is None:
        return str(year)
    if language == "vi":
        return f"{day} tháng {month} năm {year}" if day else f"tháng {month} năm {year}"
    if language == "uk":
        return f"{day} {_MONTHS['uk'][month - 1]} {year}" if day else f"{_UK_MONTH_NAMES[month - 1]} {year}"
    if language == "hy":
        year_word = f"{year} թվականի"
        return f"{year_word} {_MONTHS['hy'][month - 1]} {day}" if day else f"{year_word} {_HY_MONTH_NAMES[month - 1]}"
    if language == "en":
        name = _MONTHS["en"][month - 1]
        if not day:
            return f"{name} {year}"
        return f"{day} {name} {year}" if day_first else f"{name} {day}, {year}"
    return f"{year:04d}-{month:02d}" + (f"-{day:02d}" if day else "")


def render_date(name: str, args: list[str], language: str) -> str | None:
    """The text of a date template (``name`` folded, ``args`` its arguments after the name), or None
    when ``name`` is no date template or its arguments hold no date."""
    order = DATE_TEMPLATES.get(name)
    if order is None:
        return None
    positional = [a for a in args if "=" not in a]
    named = dict(a.split("=", 1) for a in args if "=" in a)
    day_first = named.get("df", "").strip().lower() in ("y", "yes", "1", "true")
    fields = dict(zip(order, positional, strict=False))
    year = _number(fields.get("y", ""), 1, 9999)
    if year is None:
        return None
    month = _number(fields.get("m", ""), 1, 12)
    day = _number(fields.get("d", ""), 1, 31) if month else None
    return format_date(year, month, day, language, day_first)
