"""Tests for domain.rules. Every ID number here is invented via make_id_number."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from domain.rules import (
    RuleViolation,
    birth_date_of,
    check_id_number_format,
    check_password,
    make_id_number,
    make_unit_code,
    mask_id_number,
    mask_name,
    mask_phone,
    normalize_id_number,
    normalize_mobile,
    normalize_name,
    normalize_unit_code,
    normalize_username,
    suggest_username,
    username_alternatives,
)

TODAY = date(2026, 11, 29)
REGION = "320102"
VALID_ID = make_id_number(REGION, date(1990, 5, 17), 1)


def _id_with_x_check_digit() -> str:
    for sequence in range(1000):
        number = make_id_number(REGION, date(1985, 3, 8), sequence)
        if number.endswith("X"):
            return number
    raise AssertionError("no sequence yields X")  # pragma: no cover


ID_X = _id_with_x_check_digit()


def _with_check_digit(body17: str) -> str:
    """Append the right check digit to any 17-digit body, even one with a bad date."""
    return body17 + ric.calc_check_digit(body17 + "0")


def _wrong_check_digit(number: str) -> str:
    return number[:-1] + ("0" if number[-1] != "0" else "1")


def _code(excinfo: pytest.ExceptionInfo[RuleViolation]) -> str:
    exc = excinfo.value
    # Every refusal carries filled-in texts in both languages and the field its code names.
    assert exc.message_zh and exc.message_en and "{" not in exc.message_zh + exc.message_en
    assert exc.code.startswith(exc.field + ".")
    return exc.code


# --- RuleViolation -----------------------------------------------------------------------------


def test_rule_violation_str_is_english_and_pickles() -> None:
    exc = RuleViolation("name.empty", "name", "请填写姓名。", "Name is empty.")
    assert str(exc) == "Name is empty."
    assert isinstance(exc, ValueError)
    copy = pickle.loads(pickle.dumps(exc))
    assert (copy.code, copy.field, copy.message_zh) == ("name.empty", "name", "请填写姓名。")


# --- ID number ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (VALID_ID, VALID_ID),
        (f"  {VALID_ID[:6]} {VALID_ID[6:14]} {VALID_ID[14:]} ", VALID_ID),
        (ID_X, ID_X),
        (ID_X[:-1] + "x", ID_X),
        (ID_X[:-1] + "ｘ", ID_X),  # full-width x from a Chinese input method
        (_with_check_digit(f"{REGION}20000229001"), _with_check_digit(f"{REGION}20000229001")),
    ],
    ids=["plain", "spaces", "X", "lower-x", "fullwidth-x", "leap-day-2000"],
)
def test_normalize_id_number_accepts(raw: str, expected: str) -> None:
    assert normalize_id_number(raw, today=TODAY) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "id_number.length"),
        (VALID_ID[:17], "id_number.length"),
        (VALID_ID + "1", "id_number.length"),
        (VALID_ID[:8] + "A" + VALID_ID[9:], "id_number.format"),
        ("x" + ID_X[1:], "id_number.format"),
        (VALID_ID[:-1] + "Y", "id_number.format"),
        (_wrong_check_digit(VALID_ID), "id_number.checksum"),
        (_wrong_check_digit(ID_X), "id_number.checksum"),
        (_with_check_digit(f"{REGION}19900229001"), "id_number.birth_date"),
        (_with_check_digit(f"{REGION}19901301001"), "id_number.birth_date"),
        (_with_check_digit(f"{REGION}19900431001"), "id_number.birth_date"),
        (make_id_number(REGION, TODAY + timedelta(days=1), 1), "id_number.birth_date"),
        (make_id_number(REGION, TODAY, 1), "id_number.age"),
    ],
    ids=[
        "empty",
        "17-chars",
        "19-chars",
        "letter-inside",
        "x-not-last",
        "bad-last-char",
        "wrong-checksum",
        "wrong-checksum-for-X",
        "1990-02-29",
        "month-13",
        "april-31",
        "future",
        "born-today",
    ],
)
def test_normalize_id_number_refuses(raw: str, code: str) -> None:
    with pytest.raises(RuleViolation) as excinfo:
        normalize_id_number(raw, today=TODAY)
    assert _code(excinfo) == code
    assert excinfo.value.field == "id_number"


@pytest.mark.parametrize(
    ("birth", "ok"),
    [
        (date(2010, 11, 29), True),  # 16 exactly, on the birthday
        (date(2010, 11, 30), False),  # 16 tomorrow
        (date(1950, 11, 30), True),  # 75, turns 76 tomorrow
        (date(1950, 11, 29), False),  # 76 today
    ],
)
def test_age_bounds(birth: date, ok: bool) -> None:
    number = make_id_number(REGION, birth, 7)
    if ok:
        assert normalize_id_number(number, today=TODAY) == number
    else:
        with pytest.raises(RuleViolation) as excinfo:
            normalize_id_number(number, today=TODAY)
        assert _code(excinfo) == "id_number.age"


@pytest.mark.parametrize(
    ("today", "ok"),
    [(date(2029, 2, 28), False), (date(2029, 3, 1), True), (date(2032, 2, 29), True)],
)
def test_leap_day_birthday_counts_from_first_of_march(today: date, ok: bool) -> None:
    number = make_id_number(REGION, date(2012, 2, 29), 3)  # 17 in 2029
    if ok:
        normalize_id_number(number, today=today, min_age=17)
    else:
        with pytest.raises(RuleViolation):
            normalize_id_number(number, today=today, min_age=17)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (ID_X[:-1] + "x", ID_X),
        (make_id_number(REGION, TODAY + timedelta(days=1), 1), None),  # no date-relative checks
        (_wrong_check_digit(VALID_ID), "id_number.checksum"),
        (_with_check_digit(f"{REGION}19900229001"), "id_number.birth_date"),
        (VALID_ID[:17], "id_number.length"),
    ],
)
def test_check_id_number_format(raw: str, expected: str | None) -> None:
    if expected is None or not expected.startswith("id_number."):
        assert check_id_number_format(raw) == (expected or raw)
    else:
        with pytest.raises(RuleViolation) as excinfo:
            check_id_number_format(raw)
        assert _code(excinfo) == expected


def test_future_and_age_messages_are_specific() -> None:
    with pytest.raises(RuleViolation) as excinfo:
        normalize_id_number(make_id_number(REGION, TODAY + timedelta(days=1), 1), today=TODAY)
    assert "晚于今天" in excinfo.value.message_zh
    with pytest.raises(RuleViolation) as excinfo:
        normalize_id_number(make_id_number(REGION, TODAY, 1), today=TODAY, min_age=18)
    assert "18至75周岁" in excinfo.value.message_zh


def test_custom_age_bounds() -> None:
    number = make_id_number(REGION, date(2016, 1, 1), 5)
    assert normalize_id_number(number, today=TODAY, min_age=0) == number


def test_birth_date_of() -> None:
    assert birth_date_of(VALID_ID) == date(1990, 5, 17)
    with pytest.raises(RuleViolation) as excinfo:
        birth_date_of(_with_check_digit(f"{REGION}19900229001"))
    assert _code(excinfo) == "id_number.birth_date"


@pytest.mark.parametrize(
    ("region", "sequence"), [("32010", 1), ("32010a", 1), (REGION, -1), (REGION, 1000)]
)
def test_make_id_number_rejects_bad_parts(region: str, sequence: int) -> None:
    with pytest.raises(ValueError):
        make_id_number(region, date(1990, 1, 1), sequence)


_births = st.dates(min_value=date(1950, 11, 30), max_value=date(2010, 11, 29))
_regions = st.from_regex(r"[1-9][0-9]{5}", fullmatch=True)


@given(region=_regions, birth=_births, sequence=st.integers(0, 999))
def test_property_generated_numbers_pass(region: str, birth: date, sequence: int) -> None:
    number = make_id_number(region, birth, sequence)
    assert normalize_id_number(number.lower(), today=TODAY) == number
    assert birth_date_of(number) == birth


@given(
    birth=_births,
    sequence=st.integers(0, 999),
    position=st.integers(0, 16),
    shift=st.integers(1, 9),
)
def test_property_single_digit_change_fails(
    birth: date, sequence: int, position: int, shift: int
) -> None:
    number = make_id_number(REGION, birth, sequence)
    digit = str((int(number[position]) + shift) % 10)
    corrupted = number[:position] + digit + number[position + 1 :]
    # ISO 7064 MOD 11-2 catches every single substitution, so the check digit is stale.
    with pytest.raises(RuleViolation) as excinfo:
        normalize_id_number(corrupted, today=TODAY)
    assert _code(excinfo) == "id_number.checksum"


# --- Masking -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("func", "value", "expected"),
    [
        (mask_id_number, "320102199005171234", "3201**********1234"),
        (mask_id_number, "1234", "****"),
        (mask_name, "张三", "张*"),
        (mask_name, "欧阳修文", "欧***"),
        (mask_name, "阿依古丽·买买提", "阿***·***"),
        (mask_name, "", ""),
        (mask_phone, "13812345678", "138****5678"),
        (mask_phone, "123", "***"),
    ],
)
def test_masking(func: Callable[[str], str], value: str, expected: str) -> None:
    assert func(value) == expected


# --- Name --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("张三", "张三"),
        ("  欧阳修  ", "欧阳修"),
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        ("阿依古丽•买买提", "阿依古丽·买买提"),
        ("阿依古丽．买买提", "阿依古丽·买买提"),
        ("阿依古丽.买买提", "阿依古丽·买买提"),
        ("阿依古丽・买买提", "阿依古丽·买买提"),
        ("买买提·吐尔逊·艾力", "买买提·吐尔逊·艾力"),
        ("王㐀", "王㐀"),  # extension A
        ("李𠀋", "李𠀋"),  # extension B, outside the BMP
        ("张" * 20, "张" * 20),
    ],
    ids=[
        "plain",
        "stripped",
        "dot-b7",
        "dot-bullet",
        "dot-fullwidth",
        "dot-ascii",
        "dot-katakana",
        "three-parts",
        "ext-a",
        "ext-b",
        "20-chars",
    ],
)
def test_normalize_name_accepts(raw: str, expected: str) -> None:
    assert normalize_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "name.empty"),
        ("   ", "name.empty"),
        ("张", "name.length"),
        ("张" * 21, "name.length"),
        ("Zhang San", "name.characters"),
        ("张San", "name.characters"),
        ("张 三", "name.characters"),
        ("张三1", "name.characters"),
        ("·买买提", "name.separator"),
        ("买买提·", "name.separator"),
        ("阿依古丽··买买提", "name.separator"),
        ("阿依古丽.・买买提", "name.separator"),
    ],
    ids=[
        "empty",
        "blank",
        "1-char",
        "21-chars",
        "latin",
        "mixed-latin",
        "inner-space",
        "digit",
        "leading-dot",
        "trailing-dot",
        "doubled-dot",
        "doubled-variants",
    ],
)
def test_normalize_name_refuses(raw: str, code: str) -> None:
    with pytest.raises(RuleViolation) as excinfo:
        normalize_name(raw)
    assert _code(excinfo) == code
    assert excinfo.value.field == "name"


# --- Phone -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "+86 138 0013 8000",
        "86-13800138000",
        "+8613800138000",
        "0086 13800138000",
        " 138-0013-8000 ",
    ],
)
def test_normalize_mobile_accepts(raw: str) -> None:
    assert normalize_mobile(raw) == "13800138000"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("025-83333333", "phone.not_mobile"),
        ("+86 25 8333 3333", "phone.not_mobile"),
        ("1380013800", "phone.invalid"),
        ("138", "phone.invalid"),
        ("", "phone.invalid"),
        ("not a phone", "phone.invalid"),
        ("+852 6123 4567", "phone.invalid"),
        ("+1 650 253 0000", "phone.invalid"),
    ],
)
def test_normalize_mobile_refuses(raw: str, code: str) -> None:
    with pytest.raises(RuleViolation) as excinfo:
        normalize_mobile(raw)
    assert _code(excinfo) == code
    assert excinfo.value.field == "phone"


# --- Unified social credit code ----------------------------------------------------------------

UNIT_CODE = make_unit_code("12320000466000123")


def _corrupt_last(code: str) -> str:
    return code[:-1] + ("0" if code[-1] != "0" else "1")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (UNIT_CODE, UNIT_CODE),
        (UNIT_CODE.lower(), UNIT_CODE),
        (f"{UNIT_CODE[:8]} {UNIT_CODE[8:]}", UNIT_CODE),
    ],
)
def test_normalize_unit_code_accepts(raw: str, expected: str) -> None:
    assert normalize_unit_code(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (UNIT_CODE[:17], "unit_code.length"),
        (UNIT_CODE + "1", "unit_code.length"),
        ("A" + UNIT_CODE[1:], "unit_code.format"),
        (UNIT_CODE[:10] + "I" + UNIT_CODE[11:], "unit_code.format"),
        (_corrupt_last(UNIT_CODE), "unit_code.checksum"),
    ],
)
def test_normalize_unit_code_refuses(raw: str, code: str) -> None:
    with pytest.raises(RuleViolation) as excinfo:
        normalize_unit_code(raw)
    assert _code(excinfo) == code
    assert excinfo.value.field == "unit_code"


def test_make_unit_code_requires_17_chars() -> None:
    with pytest.raises(ValueError):
        make_unit_code("1232000046600012")


# --- Username ----------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["abcd", "a" * 32, "zhang_san1990", " wang_wu "])
def test_normalize_username_accepts(raw: str) -> None:
    assert normalize_username(raw) == raw.strip()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("abc", "username.length"),
        ("a" * 33, "username.length"),
        ("ZhangSan", "username.characters"),
        ("zhang-san", "username.characters"),
        ("zhang san", "username.characters"),
        ("1zhang", "username.start"),
        ("_zhang", "username.start"),
    ],
)
def test_normalize_username_refuses(raw: str, code: str) -> None:
    with pytest.raises(RuleViolation) as excinfo:
        normalize_username(raw)
    assert _code(excinfo) == code
    assert excinfo.value.field == "username"


@pytest.mark.parametrize(
    ("name", "birth", "expected"),
    [
        ("张三", date(1990, 5, 17), "zhangsan1990"),
        ("吕布", date(1985, 1, 2), "lvbu1985"),
        ("阿依古丽·买买提", date(1992, 7, 1), "ayigulimaimaiti1992"),
        ("曾小明", date(1980, 1, 1), "zengxiaoming1980"),  # surname reading, not "ceng"
        ("𠀋𠀋", date(1980, 1, 1), "user1980"),  # no pinyin known
        ("张" * 20, date(1990, 1, 1), "zhang" * 5 + "zha1990"),
    ],
)
def test_suggest_username(name: str, birth: date, expected: str) -> None:
    suggestion = suggest_username(name, make_id_number(REGION, birth, 1))
    assert suggestion == expected
    assert normalize_username(suggestion) == suggestion


@pytest.mark.parametrize(
    ("base", "taken", "count", "expected"),
    [
        ("zhangsan1990", set(), 3, ["zhangsan1990", "zhangsan1990_2", "zhangsan1990_3"]),
        (
            "zhangsan1990",
            {"zhangsan1990", "zhangsan1990_3"},
            3,
            ["zhangsan1990_2", "zhangsan1990_4", "zhangsan1990_5"],
        ),
        ("zhangsan1990", [], 1, ["zhangsan1990"]),
        ("a" * 32, {"a" * 32}, 2, ["a" * 30 + "_2", "a" * 30 + "_3"]),
        ("a" * 30 + "_2", set(), 2, ["a" * 30 + "_2", "a" * 30 + "_3"]),
    ],
)
def test_username_alternatives(base: str, taken: set[str], count: int, expected: list[str]) -> None:
    result = username_alternatives(base, taken, count)
    assert result == expected
    assert all(len(name) <= 32 for name in result)


# --- Password ----------------------------------------------------------------------------------

BIRTH = date(1990, 5, 17)


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Ab1!", "password.length"),
        ("Ab1!" + "x" * 125, "password.length"),
        ("1234567890!", "password.letter"),
        ("abcdefghij!", "password.digit"),
        ("abcdefghij1", "password.special"),
        ("abc defgh1j", "password.special"),  # a space is not a special character
        ("x!ZhangSan99", "password.contains_username"),
        ("Good#Pass19900517", "password.contains_birth_date"),
        ("Good#Pass900517", "password.contains_birth_date"),
    ],
)
def test_check_password_refuses(password: str, code: str) -> None:
    with pytest.raises(RuleViolation) as excinfo:
        check_password(password, username="zhangsan", birth_date=BIRTH)
    assert _code(excinfo) == code
    assert excinfo.value.field == "password"
    assert password not in excinfo.value.message_zh + excinfo.value.message_en


@pytest.mark.parametrize(
    ("password", "username", "birth"),
    [
        ("Correct#Horse7", "zhangsan", BIRTH),
        ("Ab1!" + "x" * 124, "zhangsan", BIRTH),  # exactly 128
        ("Short#1abc", "zhangsan", BIRTH),  # exactly 10
        ("Good#Pass0517", "zhangsan", BIRTH),  # MMDD alone is allowed
        ("Good#Pass19900517", "zhangsan", None),
        ("ab#Pass1234", "ab", BIRTH),  # usernames under 3 chars are not checked
    ],
)
def test_check_password_accepts(password: str, username: str, birth: date | None) -> None:
    check_password(password, username=username, birth_date=birth)  # raises if refused
