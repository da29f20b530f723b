"""Figures written one way, for the cache's word rule and number guard: "1,000" and "one thousand", "1.5
million" and "1,500,000", "3 p.m." and "3pm", "the nineties" and "the 90s" read alike (:func:`figures`,
:func:`number_words_as_digits`)."""

from __future__ import annotations

import re

__all__ = ["figures", "number_words_as_digits"]

_UNITS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                     "fourteen fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if w != "_"}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000, "trillion": 10**12}
_ORDINALS = {w: i + 1 for i, w in enumerate("first second third fourth fifth sixth seventh eighth ninth tenth "
                                            "eleventh twelfth thirteenth fourteenth fifteenth sixteenth seventeenth "
                                            "eighteenth nineteenth".split())}
_ORDINALS.update({w: 10 * i for i, w in enumerate("_ _ twentieth thirtieth fortieth fiftieth sixtieth seventieth eightieth "
                                                  "ninetieth".split()) if w != "_"})
_ORDINALS.update(hundredth=100, thousandth=1000, millionth=1_000_000)
_DECADES = {f"{w[:-1]}ies": f"{10 * i}s" for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split())
            if w != "_"}
"""Decades in words: "the nineties" is "the 90s" (not "the 1990s": "in her 90s" is an age)."""
_FIGURES = [(re.compile(p), r) for p, r in (
    (r"(?<=\d),(?=\d{3}\b)", ""),  # 1,000 -> 1000
    (r"(?<![\w.])\.(?=\d)", "0."),  # .25 -> 0.25
    (r"(?<=\d)\s*%", " percent"), (r"\bper\s+cent\b", "percent"),
    (r"\b(\d{1,2}(?::\d\d)?)\s*([ap])\.?m\b\.?", r"\1\2m"),  # 3 p.m. / 3 pm / 3pm -> 3pm
    (r"\b(\d{1,2}):00(?=[ap]m\b)", r"\1"),  # 2:00pm -> 2pm
    (r"([$€£¥])\s*(\d+(?:\.\d+)?)\s*(?:m|mn|mln)\b", r"\1\2 million"), (r"([$€£¥])\s*(\d+(?:\.\d+)?)\s*(?:bn|b)\b", r"\1\2 billion"),
    (r"\b(?:the\s+)?(1\d)00s\b", lambda m: f"the {_ordinal(int(m.group(1)) + 1)} century"),  # the 1500s -> the 16th century
    (r"\b(\d+(?:\.\d+)?)(kg|mg|g|km|cm|mm|ml|lbs|lb|oz|ft|gb|mb|tb|kb|mph|kph|ghz|mhz|hz|kwh|kw)\b", r"\1 \2"),  # 100g -> 100 g
    (r"\b'(?=\d0s\b)", ""),  # '90s -> 90s
    (r"\b(?:a|one)\s+(fifth|sixth|seventh|eighth|ninth|tenth)(?=\s+of\b)", lambda m: f"1/{_ORDINALS[m.group(1)]}"),
    (r"\b(?:a|one)\s+third(?=\s+of\b)", "1/3"), (r"\btwo\s+thirds\b", "2/3"), (r"\b(?:a|one)\s+quarter(?=\s+of\b)", "1/4"),
    (r"\bthree\s+quarters\b", "3/4"), (r"\btwice\b", "2 times"), (r"\bthrice\b", "3 times"),
    (r"\b(?:one|a)\s+half\b|(?<![\d/])\b1/2\b(?!/)", "half"),  # "one half", "1/2" -> "half"
    (r"\bhalf\s+(?:a\s+)?dozen\b", "6"), (r"\b(?:a|one)\s+dozen\b", "12"),
    (r"\b(?:the\s+)?year\s+(?:of\s+)?(?=\d{4}\b)", ""),  # "in the year 2008" -> "in 2008"
)]
"""Figures written another way, read alike on both sides (:func:`figures`)."""
_CLOCK = re.compile(r"(?<![\d.:])(1[3-9]|2[0-3]|00?|12):([0-5]\d)(?![\d:]|\s*[ap]\.?m\b)")
"""A time on the 24-hour clock past noon or at midnight ("14:00", "00:30"), said as the 12-hour clock does ("2pm", "12:30am")."""


def _twelve_hour(match: re.Match[str]) -> str:
    hour, minutes = int(match.group(1)), match.group(2)
    said = str(hour - 12 if hour > 12 else 12) + ("" if minutes == "00" else f":{minutes}")
    return said + ("am" if hour == 0 else "pm")


_MONTHS = r"(?:january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)"
_DAY_ORDINAL = [(re.compile(p), r) for p, r in (
    (r"\b(\d{1,2})(?:st|nd|rd|th)\s+(?:of\s+)?(?=" + _MONTHS + r"\b)", r"\1 "),  # "25th of December" -> "25 December"
    (r"\b(" + _MONTHS + r")\s+(\d{1,2})(?:st|nd|rd|th)\b", r"\1 \2"))]  # "December 25th" -> "December 25"
"""A day of the month said as an ordinal is its number: "December 25th" is "25 December"."""
_A_NOUN_AND_A_HALF = re.compile(r"\b(?:a|an|one)\s+([a-z]+)\s+and\s+a\s+half\b")
"""A thing and a half: "a minute and a half" is 1.5 minutes."""
_YEAR_WORDS = re.compile(r"\b(" + "|".join([*list(_UNITS)[11:], "twenty"]) + r")[\s\-]+(?:(" + "|".join(_TENS) + r")(?:[\s\-]+("
                         + "|".join(list(_UNITS)[1:10]) + r"))?|(" + "|".join(list(_UNITS)[10:]) + r")|(?:oh|o)[\s\-]+("
                         + "|".join(list(_UNITS)[1:10]) + r"))\b")
"""A year said in two halves: "nineteen ninety-nine" is 1999, "twenty twenty" 2020, "eighteen oh five" 1805."""


def _year(match: re.Match[str]) -> str:
    century = 100 * (_UNITS.get(match.group(1)) or _TENS[match.group(1)])
    tens, unit, teen, oh = match.group(2), match.group(3), match.group(4), match.group(5)
    return str(century + (_TENS[tens] + (_UNITS[unit] if unit else 0) if tens else _UNITS[teen] if teen else _UNITS[oh]))


_AND_A_HALF = re.compile(r"\b(\d+|" + "|".join(_UNITS) + r")\s+and\s+a\s+half\b")
_SCALED = re.compile(r"\b(\d+(?:\.\d+)?)(?:\s+(thousand|million|billion|trillion)\b|k\b)")
_COMPOUND_ORDINAL = re.compile(r"\b(" + "|".join(w for w in _TENS) + r")[\s\-]+(first|second|third|fourth|fifth|sixth|seventh|"
                               r"eighth|ninth)\b")
_ORDINAL_WORD = re.compile(r"(?<![\w\-])(" + "|".join(sorted(_ORDINALS, key=len, reverse=True)) + r")(?![\w\-])")
"""An ordinal word standing alone ("second-hand" is no ordinal)."""
_DECADE_WORD = re.compile(r"\b(" + "|".join(_DECADES) + r")\b")


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def figures(text: str) -> str:
    """``text`` in lower case with its figures written one way: thousands separators dropped, "1.5
    million" and "1.5k" in digits, "%" as "percent", "3 p.m." as "3pm", "100g" as "100 g", "one
    half" and "1/2" as "half", "two and a half" as 2.5, "a third" as 1/3, "twice" as "2 times", "a
    dozen" as 12, ordinals in digits ("twenty-first", "second" -> "21st", "2nd"), a day of the month
    as its number ("December 25th" -> "December 25"), decades in digits ("the nineties" -> "the 90s"),
    "the year 2008" as "2008".
    Both the word rule and the number guard read a question through this."""
    text = text.lower().replace("\u2019", "'")
    text = _CLOCK.sub(_twelve_hour, text)
    text = _YEAR_WORDS.sub(_year, text)
    text = _A_NOUN_AND_A_HALF.sub(r"1.5 \1", text)
    text = _AND_A_HALF.sub(lambda m: f"{int(m.group(1)) if m.group(1).isdigit() else _UNITS[m.group(1)]}.5", text)
    for pattern, repl in _FIGURES:
        text = pattern.sub(repl, text)
    text = _SCALED.sub(lambda m: _number_text(float(m.group(1)) * (_SCALES[m.group(2)] if m.group(2) else 1000)), text)
    text = _COMPOUND_ORDINAL.sub(lambda m: _ordinal(_TENS[m.group(1)] + _ORDINALS[m.group(2)]), text)
    text = _ORDINAL_WORD.sub(lambda m: _ordinal(_ORDINALS[m.group(1)]), text)
    for pattern, repl in _DAY_ORDINAL:
        text = pattern.sub(repl, text)
    return _DECADE_WORD.sub(lambda m: _DECADES[m.group(1)], text)


_NUMBER_WORDS = re.compile(r"\b(?:(?:" + "|".join([*_UNITS, *_TENS, *_SCALES]) + r")(?:[\s\-]+(?:and\s+)?|\b))+")


def _words_value(words: str) -> int | None:
    total, current = 0, 0
    for word in re.findall(r"[a-z]+", words):
        if word == "and":
            continue
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word in _SCALES:
            scale = _SCALES[word]
            if scale == 100:
                current = max(current, 1) * 100
            else:
                total += max(current, 1) * scale
                current = 0
        else:
            return None
    return total + current


def number_words_as_digits(text: str) -> str:
    """``text`` with its number words written in digits: "twenty-one models" -> "21 models"."""
    def digits(match: re.Match[str]) -> str:
        value = _words_value(match.group(0))
        return match.group(0) if value is None else f"{value} "
    return _NUMBER_WORDS.sub(digits, figures(text))
