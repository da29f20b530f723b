"""General English that question reading and the semantic cache may rely on, and nothing about any domain.

Its own module, outside the answer path (``agentmesh.answering``) and the cache (``agentmesh.memory``), so
that each reads the language without importing the other's rules.

What a column, a predicate or an entity means comes from the user's data (names, labels,
comments) and from the user's lexicon file (:mod:`agentmesh.answering.lexicon`), never from a
list here. What sits here is the language itself: words that carry no content of their own
(articles, pronouns, auxiliaries, prepositions), the words that ask (who, which, how many), the
words that rank or compare, and the words that ask for one value per group. Its last section is
what the reading of a question against a database (:mod:`agentmesh.answering.reading`) uses:
aggregate and ranking words, the dimensions comparatives and superlatives name, units as a
question writes them, order words, words that turn which rows are meant, and light verbs.

A reading that leaves a content word of the question unused must not become a fact: anything
outside these lists is a content word.
"""

from __future__ import annotations

import re

__all__ = ["FUNCTION_WORDS", "QUESTION_WORDS", "COUNT_WORDS", "HIGH_WORDS", "LOW_WORDS", "NEGATION_WORDS", "DISTINCT_WORDS",
           "COMPARISON_WORDS", "DATA_WORDS", "GROUPING_WORDS", "UNITS", "CURRENCIES", "DATA_STEMS", "content_words",
           "is_plural_noun", "words", "SENTENCE_WORDS", "HOW_WORDS", "NUMBER_NOUNS", "SHARE_NOUNS", "VERBS",
           "PERSON_NOUNS", "TIME_NOUNS", "PLACE_NOUNS", "CAUSE_VERBS", "PREPOSITIONS", "LINKING_VERBS", "SUPERLATIVES",
           "SUM_WORDS", "AVERAGE_WORDS", "MAX_WORDS", "MIN_WORDS", "GROUP_BY_WORDS", "LIST_STARTS", "DIMENSIONS", "COUNT_NAME_WORDS", "DIMENSION_NOUNS", "SUPERLATIVE_DIMENSIONS", "RANKING_WORDS", "DESCENDING_WORDS", "QUANTITY_UNITS", "TURNING_WORDS", "ORDER_WORDS", "ORDER_DIRECTIONS", "LIGHT_VERBS", "MOST_WORDS", "COUNT_RANKING_WORDS"]

FUNCTION_WORDS = frozenset("""
a an the this that these those there here it its it's they them their theirs he she his her we our you your i me my
is are was were be been being am has have had having do does did done can could will would shall should may might must
of in on at by from with to for into onto upon about as than then so and or nor but if also only just both either
between among against through across along around within under over above below after before since during until near
neither any all some none no not one ones another other others such same own
which what who whom whose when where why how
me please tell show give list find name say
currently now today ever still yet already there's that's what's
""".split())
"""Words that carry no content: the rows a question asks about are never restricted by one."""

QUESTION_WORDS = frozenset("who whom whose which what when where why how".split())
COUNT_WORDS = frozenset("how many much number count total".split())
HIGH_WORDS = frozenset("highest most best largest biggest longest maximum max top greatest fastest priciest "
                       "more higher larger bigger longer greater".split())
LOW_WORDS = frozenset("lowest least cheapest cheaper smallest smaller fewest worst minimum min shortest slowest "
                      "less lower fewer shorter".split())
SUPERLATIVES = frozenset("highest lowest largest smallest biggest longest shortest greatest fastest slowest cheapest "
                         "priciest fewest most least best worst top maximum minimum earliest latest oldest newest".split())
"""Words that rank a thing among all ("the cheapest"): no fact of one thing can say that it is the one."""
NEGATION_WORDS = frozenset("not non no without lack lacking".split())
DISTINCT_WORDS = frozenset("different distinct unique".split())
"""Words that ask each value once ("How many different cities ..."): a count of distinct values."""
COMPARISON_WORDS = frozenset("gap difference versus vs compared".split())
"""Words that compare two values: the operands say what is compared, these words do not restrict rows."""
DATA_WORDS = frozenset("database databases data dataset table tables list lists listed record records row rows entry "
                       "entries stored value values".split())
"""Words about where data sits ("How many models does the database list?"), not about what it says."""
GROUPING_WORDS = frozenset("each every per".split())
"""A question with one of these asks one value per group ("How many rivers flow through each
country?"): one total is not its answer."""


UNITS = {
    "words": ("word", "words"), "characters": ("character", "characters", "chars"),
    "usd": ("$", "usd", "dollar", "dollars"), "eur": ("€", "eur", "euro", "euros"), "gbp": ("£", "gbp", "pound", "pounds"),
    "ms": ("ms", "millisecond", "milliseconds"), "seconds": ("second", "seconds", "sec", "secs"),
    "minutes": ("minute", "minutes", "min"), "hours": ("hour", "hours"), "days": ("day", "days"),
    "gb": ("gb", "gigabyte", "gigabytes"), "mb": ("mb", "megabyte", "megabytes"),
}
"""Units of everyday English, each group with the ways it is written: a number said in one unit is
not supported by the same number in another. A domain adds its own (``units`` in its lexicon)."""
CURRENCIES = frozenset({"usd", "eur", "gbp"})
"""The unit groups above that are money: a rate in one does not give a price in another."""
DATA_STEMS = frozenset({"datab", "knowl", "graph", "table"})
"""Stems of words that name where facts sit, never a fact ("database", "knowledge graph")."""


SENTENCE_WORDS = frozenset("""
a an the it its this that these those there they he she we you i yes no not and or but so if in on at of for from to
by with as is are was were be has have had do does did which who whom whose what when where why how all both each
either neither some any none one two three four five six seven eight nine ten about around approximately roughly
nearly over under also only according based per answer note however therefore thus here sorry unfortunately
from source sources evidence facts fact knowledge graph database table
first second third last next finally then currently today yesterday tomorrow now overall generally usually
typically often sometimes mostly mainly however although though while because since unless until after before
during between among against without within into onto upon above below up down out off again further once more
most less least many much few several such same other another own just very too quite rather almost already still
yet even ever never always perhaps maybe probably possibly certainly clearly indeed actually basically simply
sure okay ok thanks thank please hello hi well anyway also instead otherwise meanwhile hence accordingly
my your our their his her me us them myself itself themselves everyone someone anyone nothing something anything
here's there's it's that's what's i'm i've i'd let let's note see yes no unknown none n/a total average sum count
sorry unfortunately based using given compared including regarding id ids am pm known
""".split())
"""Words a sentence capitalises at its start or in a heading ("Based on the data, ...", "Note:"):
never a name on their own."""
HOW_WORDS = ("much", "many", "long", "big", "large", "old", "far", "tall", "high", "deep", "wide", "heavy", "fast",
             "often")
""""How ..." followed by one of these asks for a number."""
NUMBER_NOUNS = ("price", "cost", "score", "size", "number", "count", "average", "total", "sum", "gap", "difference")
""""What is the ... of X?" with one of these asks for a number."""
SHARE_NOUNS = ("share", "percentage", "fraction", "proportion")
VERBS = frozenset("is are was were has have had does do did gets get got scores score costs cost charges leads "
                  "comes offers reaches ranks can could will would should".split())
"""Verbs that end a noun phrase ("models *released* in 2023 *are* ..."): what follows is no longer about which rows."""


PERSON_NOUNS = frozenset("person people company companies firm firms organisation organisations organization "
                         "organizations individual individuals team teams group groups lab labs".split())
"""Nouns that "who" may stand for ("Which company makes it?" asks "Who makes it?")."""
TIME_NOUNS = frozenset("date dates time times year years day days".split())
"""Nouns that "when" may stand for."""
PLACE_NOUNS = frozenset("place places location locations".split())
"""Nouns that "where" may stand for."""
LINKING_VERBS = frozenset("keep keeps kept locate located situate situated store stored hold holds held lie lies "
                          "sit sits stand stands find found base based live lives lived reside resides".split())
"""Verbs that only place a thing ("At which depot is unit 31105 *kept*?"): they ask no more than where or which."""
CAUSE_VERBS = ("makes", "made", "causes", "caused")
""""What makes X ...?" asks why."""
PREPOSITIONS = frozenset("""about above across after against along among around at before behind below beneath
beside between beyond by despite down during except for from in inside into near off on onto out outside over past
since through throughout till to toward towards under underneath until up upon via with within without""".split())


def words(text: str) -> list[str]:
    """The words of ``text``, lower case; underscores and hyphens split words ("open_weights")."""
    return re.findall(r"[a-z0-9]+", text.lower().replace("_", " "))


def is_plural_noun(word: str) -> bool:
    """``word`` is a noun in the plural ("models", "companies", "licences"; not "business", "does"):
    its noun lemma differs from it (lemminflect, with a suffix rule where it has no entry)."""
    word = word.lower()
    if word in FUNCTION_WORDS or len(word) < 3 or not word.endswith("s") or word.endswith("ss"):
        return False
    try:
        from lemminflect import getLemma
    except ImportError:  # pragma: no cover - lemminflect is a dependency
        return not word.endswith(("us", "is"))
    lemmas = getLemma(word, upos="NOUN")
    return bool(lemmas) and lemmas[0] != word


def content_words(text: str) -> list[str]:
    """The words of ``text`` that carry content: every word not in :data:`FUNCTION_WORDS` and not a number."""
    return [w for w in words(text) if w not in FUNCTION_WORDS and not w.isdigit()]


# -- what the question reading of a database uses (agentmesh.answering.reading) -------------------
SUM_WORDS = frozenset({"total", "sum", "combined", "altogether"})
AVERAGE_WORDS = frozenset({"average", "mean", "avg"})
MAX_WORDS = frozenset({"highest", "maximum", "max", "largest", "greatest", "biggest", "most", "longest", "top"})
MIN_WORDS = frozenset({"lowest", "minimum", "min", "smallest", "least", "shortest", "fewest"})
GROUP_BY_WORDS = frozenset({"each", "every", "per", "by"})
LIST_STARTS = frozenset({"which", "what", "list", "name", "show", "give", "find", "get", "return", "display"})
DIMENSIONS = {"longer": "length", "long": "length", "shorter": "length", "short": "length", "higher": "height",
              "high": "height", "taller": "height", "tall": "height", "wider": "width", "wide": "width",
              "deeper": "depth", "deep": "depth", "heavier": "weight", "heavy": "weight", "older": "age",
              "bigger": "size", "larger": "size", "faster": "speed", "slower": "speed", "later": "date",
              "earlier": "date", "far": "distance", "farther": "distance", "further": "distance"}
COUNT_NAME_WORDS = frozenset({"num", "no", "nbr", "cnt", "count", "number", "qty", "amount"})
"""Words a column's name uses for "the number of" (``citation_num``): general SQL naming."""
DIMENSION_NOUNS = {"height": ("altitude", "elevation"), "size": ("area",), "length": ("distance",),
                   "weight": ("mass",)}
"""General English: a dimension -> other nouns that measure it ("the highest mountain": its altitude)."""
SUPERLATIVE_DIMENSIONS = {"longest": "length", "shortest": "length", "highest": "height", "lowest": "height",
                          "tallest": "height", "widest": "width", "deepest": "depth", "heaviest": "weight",
                          "lightest": "weight", "biggest": "size", "largest": "size", "smallest": "size",
                          "fastest": "speed", "slowest": "speed", "earliest": "date", "latest": "date"}
RANKING_WORDS = frozenset({*SUPERLATIVE_DIMENSIONS, "most", "least", "fewest", "greatest", "maximum", "minimum"})
"""Words that rank rows by a value named after them ("the most references", "the highest score")."""
DESCENDING_WORDS = frozenset({"longest", "highest", "tallest", "widest", "deepest", "heaviest", "biggest", "largest",
                              "fastest", "latest"})
"""The superlatives whose row has the highest value ("oldest" is left out: the highest age, the lowest date)."""
DIMENSIONS.update(SUPERLATIVE_DIMENSIONS)
"""General English: a comparative, superlative or adjective of a dimension -> the noun that names it
("Which lines are *longer* than 60 km?" compares a length; "the *longest* line" ranks by it)."""
QUANTITY_UNITS = {"km": "km", "kilometres": "km", "kilometers": "km", "kilometre": "km", "kilometer": "km",
                  "cm": "cm", "centimetres": "cm", "centimeters": "cm", "mm": "mm", "millimetres": "mm", "millimeters": "mm",
                  "feet": "feet", "grams": "g", "kilograms": "kg", "hectares": "hectares", "m": "m", "metres": "m", "meters": "m", "metre": "m", "meter": "m", "miles": "miles", "mile": "miles",
                  "minutes": "minutes", "minute": "minutes", "mins": "minutes", "seconds": "seconds",
                  "hours": "hours", "days": "days", "kg": "kg", "tonnes": "tonnes", "dollars": "USD", "usd": "USD",
                  "euros": "EUR", "percent": "%", "years": "years"}
"""General English: a unit as a question writes it after a number -> the unit the profile gives
a column (:func:`agentmesh.answering.profile.unit_of`)."""
TURNING_WORDS = frozenset({"not", "no", "non", "none", "never", "nor", "neither", "either", "or", "without", "except",
                           "excluding", "besides", "other", "others", "only", "same", "another", "than"})
"""General English that turns which rows are meant ("not electric", "electric or diesel", "other
than"): the reading composes only AND-ed equalities and bounds, so such a word is never read."""
ORDER_WORDS = frozenset({"ordered", "sorted", "order", "sort", "ranked", "arranged"})
ORDER_DIRECTIONS = {"ascending": "asc", "descending": "desc", "alphabetically": "asc", "alphabetical": "asc",
                    "increasing": "asc", "decreasing": "desc"}
LIGHT_VERBS = frozenset({"see", "sees", "saw", "seen", "use", "uses", "used", "using"})
"""General English verbs whose object carries the meaning ("papers that use the X dataset", "stations
that see 5,000 passengers"): they restrict nothing their read object does not. Beside a date or
year they may pick which event it dates ("units used in 2020"), so there they stay unread."""
MOST_WORDS = frozenset({"most", "greatest", "maximum"})
COUNT_RANKING_WORDS = frozenset({"most", "fewest", "least"})
