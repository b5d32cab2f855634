"""The Splink model for UK person data: comparisons, blocking rules and training plan.

One definition serves both backends (DuckDB and Spark): every SQL condition written here
uses functions both dialects share (substr, =), and Splink's own comparison library
translates the rest.
"""

from __future__ import annotations

from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on
from splink.blocking_rule_library import CustomRule
from splink.internals.blocking_rule_creator import BlockingRuleCreator
from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.comparison_level_creator import ComparisonLevelCreator
from splink.internals.comparison_level_library import _translate_sql_string
from splink.internals.dialects import SplinkDialect

from joinedup.insight import date_levels, identifier_comparison, splink_backend, surname_comparison
from joinedup.insight.household_birthdays import HouseholdShares
from joinedup.insight.household_comparisons import (
    HOUSEHOLD_BIRTHDAY_U,
    HOUSEHOLD_SURNAME_U,
    SURNAME_EXACT_LEVEL,
    household_birthday,
    household_comparable,
    household_surname,
)
from joinedup.insight.name_swaps import FORENAME_ACROSS_LEVEL, SwappedNamesLevel

__all__ = [
    "DEFAULT_THRESHOLD",
    "M_PROBABILITY_FLOOR",
    "SHORT_NAME_LETTER_OUT",
    "SURNAME_EXACT_LEVEL",
    "blocking_rules",
    "deterministic_rules",
    "settings",
    "training_rules",
]

# Persons are clusters of records joined by pairs at or above this match probability.
# 0.9 is a match weight of about +3.2: chosen on FEBRL4 and the synthetic places, where it
# sits on the flat part of the F1 curve (see docs/benchmarks.md).
DEFAULT_THRESHOLD = 0.9

# The least chance that a true match lands on any comparison level: a field is miskeyed in
# about 1 in 1,000 records, so no single disagreement may count for more than about
# log2(m/u) with m at this floor (see splink_backend.floor_m_probabilities). Chosen from that error
# rate, not by looking at any place's truth.
M_PROBABILITY_FLOOR = 1e-3

# The m and u of the postcode level that a shared UPRN or address line already accounts for:
# equal, so its weight is nought; their size only shows on the model's page.
HOME_COUNTED_PROBABILITY = 1e-3


SHORT_NAME_LETTER_OUT = "One letter wrong, missing or swapped, in a name of up to four letters"


def _forename() -> ComparisonCreator:
    return cl.CustomComparison(
        output_column_name="forename",
        comparison_levels=[
            cll.NullLevel("forename"),
            cll.ExactMatchLevel("forename").configure(tf_adjustment_column="forename"),
            cll.ArrayIntersectLevel("forename_names", 1).configure(
                label_for_charts="Nickname of the same name (Bill, William)"
            ),
            cll.JaroWinklerLevel("forename", 0.92),
            # A short name keyed wrongly (INA for IAN, IN for IAN): Jaro-Winkler, which
            # counts letters out of place only within a short window, puts these with
            # strangers' names. Longer names a letter out meet a Jaro-Winkler level. The
            # lengths are tested first: DuckDB's Damerau-Levenshtein costs nine times a
            # Jaro-Winkler, and most pairs scored are strangers with longer names.
            cll.And(
                cll.CustomLevel(
                    "least(length(forename_l), length(forename_r)) <= 4"
                    " AND abs(length(forename_l) - length(forename_r)) <= 1"
                ),
                cll.DamerauLevenshteinLevel("forename", 1),
            ).configure(label_for_charts=SHORT_NAME_LETTER_OUT),
            SwappedNamesLevel(),
            cll.ColumnsReversedLevel("forename", "surname").configure(label_for_charts=FORENAME_ACROSS_LEVEL),
            cll.JaroWinklerLevel("forename", 0.8),
            cll.ElseLevel(),
        ],
        comparison_description="forename",
    )


def _date_of_birth() -> ComparisonCreator:
    # dob is ISO text (YYYY-MM-DD) so that the same substr arithmetic works on both backends.
    return cl.CustomComparison(
        output_column_name="dob",
        comparison_levels=[
            cll.NullLevel("dob"),
            date_levels.condition(date_levels.EXACT),
            date_levels.condition(date_levels.DAY_APART),
            date_levels.condition(date_levels.TRANSPOSED),
            date_levels.condition(date_levels.ONE_DIGIT),
            # Many systems hold an unknown day of birth as 1 January of the year. Such a
            # record agrees with its person's true date only on the year, which, among all
            # pairs born the same year, is weak evidence; among pairs where one date is a
            # stand-in it is the best there is, and EM weighs it so.
            cll.CustomLevel(
                date_levels.HELD_AS_1_JANUARY_SQL,
                label_for_charts="Same year, one date held as 1 January (day unknown)",
            ),
            date_levels.condition(date_levels.SAME_DAY_AND_MONTH),
            cll.CustomLevel("substr(dob_l, 1, 4) = substr(dob_r, 1, 4)", label_for_charts="Same year"),
            date_levels.condition(date_levels.YEAR_APART),
            cll.ElseLevel(),
        ],
        comparison_description="date of birth",
    )


class SharedWordsLevel(ComparisonLevelCreator):
    """At least a share of two addresses' words in common, whatever their order: the Dice
    coefficient of the two word sets, 2·|A∩B| / (|A|+|B|) ≥ numerator/denominator.

    Intersecting two lists is the costly part (0.6–1.4 µs a pair in DuckDB, a few times a
    Jaro-Winkler's), and most pairs a blocking rule finds are of different people at different
    addresses. So the level first tests the records' word fingerprints (``model_input``'s
    ``address_bits``, a bit per word): two lines with no bit in common share no word, and the
    intersection is skipped. The fingerprint only rules pairs out, so the level is exact. On
    random pairs of the synthetic place's address lines a third pass the test (the level
    costs half as much); FEBRL's longer lines mostly share a state or a street type, and four
    in five pass. Written in generic SQL that Splink translates to each backend's array
    functions, as its own ArraySubsetLevel is.
    """

    def __init__(self, words: str, bits: str, numerator: int, denominator: int) -> None:
        self.words = words
        self.bits = bits
        self.numerator = int(numerator)
        self.denominator = int(denominator)

    def create_sql(self, sql_dialect: SplinkDialect) -> str:
        sql = (
            "(__bits_l & __bits_r) <> 0"
            f" AND ARRAY_SIZE(ARRAY_INTERSECT(__words_l, __words_r)) * {2 * self.denominator}"
            f" >= {self.numerator} * (ARRAY_SIZE(__words_l) + ARRAY_SIZE(__words_r))"
        )
        translated = _translate_sql_string(sql, sql_dialect.sqlglot_dialect)
        for side in ("l", "r"):
            translated = translated.replace(f"__bits_{side}", f"{self.bits}_{side}")
            translated = translated.replace(f"__words_{side}", f"{self.words}_{side}")
        return translated

    def create_label_for_charts(self) -> str:
        return f"At least {self.numerator}/{self.denominator} of the words shared, in any order"


def _address() -> ComparisonCreator:
    return cl.CustomComparison(
        output_column_name="address_line",
        comparison_levels=[
            cll.NullLevel("address_line"),
            cll.ExactMatchLevel("address_line"),
            cll.JaroWinklerLevel("address_line", 0.9),
            # An address with a line missing, lines reordered or a word mistyped is still
            # largely the same address.
            SharedWordsLevel("address_words", "address_bits", 1, 2),
            cll.CustomLevel(
                "house_l = house_r AND address_end_l = address_end_r",
                label_for_charts="Same house number and end of address",
            ),
            cll.CustomLevel("address_end_l = address_end_r", label_for_charts="Same end of address"),
            cll.ElseLevel(),
        ],
        comparison_description="address",
    )


def _postcode(present: frozenset[str]) -> ComparisonCreator:
    """Splink's postcode comparison, with one level first: the same postcode where the same
    UPRN or the same address line already says the two records share a home.

    Given the same home, the same postcode is as likely for two people who live there as
    for one person recorded twice, so it is no further evidence; counted again, it added
    about 9 bits to every pair of household members and merged parents with children
    (docs/benchmarks.md, the hard place). The level's m and u are fixed equal, a weight of
    nought, and training leaves them so.
    """
    homes = [f"{c}_l = {c}_r" for c in ("uprn", "address_line") if c in present]
    levels: list[ComparisonLevelCreator | dict[str, Any]] = [cll.NullLevel("postcode")]
    if homes:
        levels.append(
            splink_backend.fixed_level(
                cll.CustomLevel(f"postcode_l = postcode_r AND ({' OR '.join(homes)})"),
                "Same postcode, the home counted already by UPRN or address",
                m=HOME_COUNTED_PROBABILITY,
                u=HOME_COUNTED_PROBABILITY,
            )
        )
    # Splink's own levels after its null level: full postcode, sector, district, area, else.
    levels.extend(cl.PostcodeComparison("postcode").create_comparison_levels()[1:])
    return cl.CustomComparison(
        output_column_name="postcode", comparison_levels=levels, comparison_description="postcode"
    )


# The input columns each comparison reads; a comparison is left out when a place's
# sources hold none of its columns (FEBRL has no NHS numbers, for instance).
_COMPARISON_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("forename", ("forename",)),
    ("surname", ("surname",)),
    ("dob", ("dob",)),
    ("sex", ("sex",)),
    ("postcode", ("postcode",)),
    ("nhs_number", ("nhs_number",)),
    ("ni_number", ("ni_number",)),
    ("uprn", ("uprn",)),
    ("address_line", ("address_line",)),
)

# A previous surname is compared within the surname comparison (a level of its own), so it
# has no comparison of its own; a place's model holds that level only where it is held.
ALL_FIELDS = frozenset({*(c for _n, cols in _COMPARISON_COLUMNS for c in cols), "previous_surname"})


def compared_fields(present: frozenset[str]) -> set[str]:
    """The comparisons (by output column) a model trained on fields ``present`` holds."""
    return {name for name, cols in _COMPARISON_COLUMNS if set(cols) <= present}


def comparisons(
    present: frozenset[str] = ALL_FIELDS, *, household: HouseholdShares | None = None
) -> list[ComparisonCreator | dict[str, Any]]:
    build: dict[str, ComparisonCreator] = {
        "forename": _forename(),
        "surname": surname_comparison.surname(present),
        "dob": _date_of_birth(),
        "sex": cl.ExactMatch("sex"),
        "postcode": _postcode(present),
        # An NHS number's check digit is recomputed by some systems after a slip, so the slip
        # is looked for in its first nine digits (as conflicts.candidate_pairs does).
        "nhs_number": identifier_comparison.identifier("nhs_number", "NHS number", 9),
        "ni_number": identifier_comparison.identifier("ni_number", "National Insurance number", None),
        "uprn": cl.ExactMatch("uprn"),
        "address_line": _address(),
    }
    wanted = compared_fields(present)
    chosen: list[ComparisonCreator | dict[str, Any]] = [
        build[name] for name, _c in _COMPARISON_COLUMNS if name in wanted
    ]
    if household_comparable(present):
        shares = household or HouseholdShares(birthday=HOUSEHOLD_BIRTHDAY_U, surname=HOUSEHOLD_SURNAME_U)
        chosen.append(household_birthday(shares.birthday))
        chosen.append(household_surname(shares.surname))
    return chosen


# Blocking columns derived from each field (see model_input.prepare_input).
_DERIVED = {
    "surname_initial": "surname", "forename_initial": "forename", "birth_year": "dob",
    "postcode_district": "postcode", "dob_transposed": "dob", "name_key": "surname",
    "address_key": "address_line", "surname_year_key": "dob", "house_key": "address_line",
    "birth_year_month": "dob", "birth_month_day": "dob", "dob_initials_key": "dob",
    "initials_address_key": "address_line", "house": "address_line", "street_key": "address_line",
    "surname_address_key": "address_line", "forename_address_key": "address_line",
    "dob_end_key": "address_line", "dob_street_key": "address_line",
}  # fmt: skip


def _usable(columns: tuple[str, ...], present: frozenset[str]) -> bool:
    return all(_DERIVED.get(c, c) in present for c in columns)


_BLOCKING: tuple[tuple[str, ...], ...] = (
    ("nhs_number",),
    ("ni_number",),
    ("dob", "surname"),
    ("dob", "forename"),
    ("dob", "postcode"),
    ("postcode", "surname"),
    ("postcode", "forename"),
    ("forename", "surname", "birth_year_month"),
    ("forename", "surname", "birth_month_day"),
    # Both names mistyped or a nickname at one postcode, the date of birth a day or a digit
    # out (MICCHAEL GRAT born 18 December 1958 and MICHAEL GRANT born the 19th): no rule on
    # a name or the whole date pairs them. A postcode and a month of birth hold few records.
    ("postcode", "birth_year_month"),
    ("name_key",),
    ("address_key",),
    ("surname_year_key",),
    ("house_key",),
    ("surname_address_key",),
    ("forename_address_key",),
    ("dob_initials_key",),
    ("initials_address_key",),
    ("street_key",),
    ("dob", "house"),
    ("dob_end_key",),
    ("dob_street_key",),
)


def blocking_rules(
    present: frozenset[str] = ALL_FIELDS,
) -> list[BlockingRuleCreator | dict[str, Any]]:
    """Rules whose union finds true pairs while every block stays small, so comparisons grow
    close to linearly with records.

    Each rule tolerates a different mistake: identifiers catch changed names and addresses;
    date of birth with the exact surname, forename or postcode catches a typo or nickname in
    the other name; postcode with a name catches a wrong date of birth; name with year and
    month, or month and day, catches one wrong part of the date; the transposed-date rule
    catches day/month swaps. Rare-value keys (a full name, an address, a surname with year
    of birth, date of birth with both initials, …) are used only when at most RARE_KEY_CAP
    records share the value. Rules on fields no source holds are left out.
    """
    rules: list[BlockingRuleCreator | dict[str, Any]] = [
        block_on(*cols) for cols in _BLOCKING if _usable(cols, present)
    ]
    if _usable(("dob", "surname_initial"), present):
        rules.append(CustomRule("l.dob = r.dob_transposed AND l.surname = r.surname"))
    if _usable(("dob", "postcode"), present):
        # The same, the day and month transposed (CHRALOTTE PEDNALE, 1975-01-02, and
        # CHARLOTTE PENDALE, 1975-02-01, at one postcode). Transposing is symmetric, so one
        # rule finds the pair whichever record is on the left.
        rules.append(CustomRule("l.dob = r.dob_transposed AND l.postcode = r.postcode"))
    if _usable(("dob", "forename", "surname"), present):
        rules.append(CustomRule("l.dob = r.dob AND l.forename = r.surname"))  # swapped names
        # A date of birth held as 1 January (the day not known: many systems store a year
        # alone so) with the same surname, or the same forename and surname initial, born that
        # year. No rule above pairs it with the person's other records unless they too were
        # born in January, or the name is rare. Not the whole name: one part may carry a typo
        # or a nickname (PETTER ELMBY, born 1960, against PETER ELMBY born 9 November 1960;
        # SARAH LWOE against SARAH LOWE). An equi-join
        # on both sides (1 January against the other's year), so a block is only the records
        # held so against one name and year; one rule for each record on the left.
        rules.extend(
            CustomRule(rule.format(a=a, b=b))
            for rule in _HELD_AS_1_JANUARY
            for a, b in (("l", "r"), ("r", "l"))
        )
        # Swapped names with one of them mistyped or a nickname: only the other agrees across,
        # and the rule above asks it of the left record's forename alone.
        rules.append(CustomRule("l.dob = r.dob AND l.surname = r.forename"))
    if _usable(("postcode", "forename", "surname"), present):
        # Swapped names at one postcode with a wrong date of birth: on the 1M place, 1,622 of
        # the true pairs no rule made were such (MICHELLE SHELDALE and SHELDALE MICHELLE, born
        # a year apart). A postcode and a name keep the blocks as small as the rules on a
        # postcode and one name above; one rule for each name on the left.
        rules.extend(
            CustomRule(f"l.postcode = r.postcode AND l.{a} = r.{b}")
            for a, b in (("forename", "surname"), ("surname", "forename"))
        )
    if _usable(("previous_surname", "forename", "surname"), present):
        # A woman recorded before and after a change of name, whose date of birth or postcode
        # also differs: only her forename and the surname across agree. Few records hold a
        # previous surname, so a block is those few against one full name; one rule for each
        # record on the left.
        rules.extend(
            CustomRule(f"{a}.previous_surname = {b}.surname AND l.forename = r.forename")
            for a, b in (("l", "r"), ("r", "l"))
        )
    return rules


# The same surname; or the same forename with the surname's initial (a typo in a surname
# seldom changes its first letter, and the forename alone made blocks 17% of all comparisons
# at 1M: born that year and called John).
_HELD_AS_1_JANUARY = (
    "{a}.dob = {b}.birth_year || '-01-01' AND {a}.surname = {b}.surname",
    "{a}.dob = {b}.birth_year || '-01-01' AND {a}.forename = {b}.forename"
    " AND {a}.surname_initial = {b}.surname_initial",
)


def training_rules(present: frozenset[str] = ALL_FIELDS) -> list[BlockingRuleCreator]:
    """EM sessions: each blocks on fields it cannot estimate, so every field is trained once.

    Where a place holds NHS or National Insurance numbers, EM is trained on the pairs that
    share one, on pairs with the same full name, and on pairs with the same forename and
    date of birth (without which no session saw the rarer address levels). Blocked on a home
    (postcode or address with a surname initial) or on date of birth with a surname initial,
    most pairs are of people who live together: twins, parents and children. EM cannot tell
    them from true matches, so it learned that a true match's date of birth differs one time
    in 26 and its forename one time in 11, where keying errors give about one in 300 and one
    in 100; the evidence of a different date of birth or forename was then too weak to part
    a household (docs/benchmarks.md, the hard place). Pairs sharing an identifier are almost
    all true matches whatever their home. A place without identifiers (FEBRL) keeps the
    sessions on names, dates of birth and homes.
    """
    identifiers = tuple(c for c in (("nhs_number",), ("ni_number",)) if _usable(c, present))
    candidates: tuple[tuple[str, ...], ...]
    if identifiers:
        candidates = (*identifiers, ("forename", "surname"), ("forename", "dob"))
    else:
        candidates = (
            ("dob", "surname_initial"),
            ("forename", "surname"),
            ("postcode", "surname_initial"),
            ("address_line",),
        )
    return [block_on(*cols) for cols in candidates if _usable(cols, present)]


def deterministic_rules(present: frozenset[str] = ALL_FIELDS) -> list[str | BlockingRuleCreator]:
    """Rules near-certain to find true matches, to estimate the prior match probability."""
    candidates = (("nhs_number",), ("ni_number",), ("forename", "surname", "dob"))
    return [block_on(*cols) for cols in candidates if _usable(cols, present)]


def settings(
    present: frozenset[str] = ALL_FIELDS, *, em_max_iterations: int = 25,
    household: HouseholdShares | None = None,
) -> SettingsCreator:  # fmt: skip
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons(present, household=household),
        blocking_rules_to_generate_predictions=blocking_rules(present),
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
        max_iterations=em_max_iterations,
        em_convergence=0.0001,
        additional_columns_to_retain=["source"],
        linker_uid="joinedup",  # fixed, so a model's JSON depends only on its data and seed
    )


def model_summary(model: dict[str, Any]) -> list[dict[str, Any]]:
    """Match weights per comparison level, for the analyst's page and the CLI."""
    import math

    rows: list[dict[str, Any]] = []
    for comparison in model.get("comparisons", []):
        for level in comparison.get("comparison_levels", []):
            if level.get("is_null_level"):
                continue
            m = level.get("m_probability")
            u = level.get("u_probability")
            weight = math.log2(m / u) if m and u else None
            rows.append(
                {
                    "comparison": comparison.get("output_column_name"),
                    "level": level.get("label_for_charts"),
                    "m": m,
                    "u": u,
                    "match_weight": weight,
                }
            )
    return rows
