"""Pure validation and normalization rules for the registration form.

Everything here is deterministic and free of I/O so it can run inside Temporal
workflow code: the caller passes ``today`` explicitly instead of reading a clock.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Collection
from datetime import date

import phonenumbers
from pypinyin import Style, lazy_pinyin
from stdnum import exceptions as stdnum_exc
from stdnum.cn import ric, uscc

from domain.texts import FORM

USERNAME_MAX_LEN = 32
NAME_SEPARATOR = "·"
# Separators applicants type instead of U+00B7, depending on their input method.
_NAME_SEPARATOR_VARIANTS = str.maketrans({"•": "·", "．": "·", ".": "·", "・": "·"})
# CJK unified ideographs: extension A, the basic block, extensions B-F, and G-H
# (G/H were added to Unicode largely for rare characters in personal names).
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002ebef\U00030000-\U000323af"
_NAME_CHARS = re.compile(f"[{_CJK}·]+")
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_USERNAME_CHARS = re.compile(r"[a-z0-9_]+")
_SPECIALS = frozenset(string.punctuation)
# lazy_pinyin reads these as common words, not as surnames; only the first character is fixed.
_SURNAME_PINYIN = {
    "单": "shan", "曾": "zeng", "解": "xie", "仇": "qiu", "区": "ou",
    "朴": "piao", "查": "zha", "缪": "miao", "覃": "qin", "翟": "zhai",
}  # fmt: skip


class RuleViolation(ValueError):
    """A form rule refused a value.

    Attributes:
        code: Stable machine code, e.g. ``"id_number.checksum"``.
        field: The form field name.
        message_zh: Chinese message for the applicant.
        message_en: English message for logs; also ``str(exc)``.
    """

    def __init__(self, code: str, field: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code = code
        self.field = field
        self.message_zh = message_zh
        self.message_en = message_en

    def __reduce__(self) -> tuple[type[RuleViolation], tuple[str, str, str, str]]:
        # Default exception pickling replays only args=(message_en,), which breaks __init__.
        return type(self), (self.code, self.field, self.message_zh, self.message_en)


def _refuse(key: str, **params: int) -> RuleViolation:
    """Build the violation for a `domain.texts.FORM` key, filling ``{lo}``/``{hi}`` in."""
    zh, en = FORM[key]
    parts = key.split(".")
    return RuleViolation(".".join(parts[:2]), parts[0], zh.format(**params), en.format(**params))


def _age_on(birth: date, today: date) -> int:
    """Full years (周岁) on ``today``; a 29 February birthday counts from 1 March."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


# --- Resident identity card number -------------------------------------------------------------


def check_id_number_format(value: str) -> str:
    """Normalize an ID number and check everything that does not depend on the date.

    Workflow code cannot ask about today (e.g. when deriving the applicant key), so the
    future-birth and age checks live in :func:`normalize_id_number`, run at the edge and
    in the verification activity.

    Args:
        value: The number as typed; spaces and full-width characters are tolerated.

    Returns:
        The 18-character number, with a trailing ``x`` upper-cased.

    Raises:
        RuleViolation: ``id_number.length``, ``id_number.format``, ``id_number.checksum``
            or ``id_number.birth_date`` (not a real calendar date).
    """
    # NFKC folds full-width digits and ｘ typed with a Chinese input method.
    number = "".join(unicodedata.normalize("NFKC", value).split())
    if number.endswith("x"):
        number = number[:-1] + "X"
    if len(number) != 18:
        raise _refuse("id_number.length")
    if not _ID_SHAPE.fullmatch(number):
        raise _refuse("id_number.format")
    # ric.validate() is not used on purpose: it also looks the region up in a data
    # file (I/O) and rejects region codes that were renamed after the birth year.
    if number[-1] != ric.calc_check_digit(number):
        raise _refuse("id_number.checksum")
    birth_date_of(number)
    return number


def normalize_id_number(value: str, *, today: date, min_age: int = 16, max_age: int = 75) -> str:
    """Validate an 18-digit resident identity card number (居民身份证号码).

    Args:
        value: The number as typed; spaces and full-width characters are tolerated.
        today: The reference date for the age and future-birth checks.
        min_age: Youngest accepted age in full years, inclusive.
        max_age: Oldest accepted age in full years, inclusive.

    Returns:
        The 18-character number, with a trailing ``x`` upper-cased.

    Raises:
        RuleViolation: codes ``id_number.length``, ``id_number.format``,
            ``id_number.checksum``, ``id_number.birth_date`` or ``id_number.age``.
    """
    number = check_id_number_format(value)
    birth = birth_date_of(number)
    if birth > today:
        raise _refuse("id_number.birth_date.future")
    if not min_age <= _age_on(birth, today) <= max_age:
        raise _refuse("id_number.age", lo=min_age, hi=max_age)
    return number


def birth_date_of(id_number: str) -> date:
    """Return the birth date encoded in a normalized 18-digit ID number.

    Raises:
        RuleViolation: ``id_number.birth_date`` if digits 7-14 are not a real date.
    """
    try:
        return ric.get_birth_date(id_number)
    except (stdnum_exc.InvalidComponent, ValueError):
        raise _refuse("id_number.birth_date") from None


def make_id_number(region: str, birth: date, sequence: int) -> str:
    """Build a valid ID number for an invented person (tests and demo data only).

    Args:
        region: 6-digit administrative division code.
        birth: Birth date.
        sequence: Order code, 0-999 (odd for men, even for women).

    Raises:
        ValueError: If ``region`` or ``sequence`` is out of shape.
    """
    if not re.fullmatch(r"[0-9]{6}", region) or not 0 <= sequence <= 999:
        raise ValueError("region must be 6 digits and sequence within 0-999")
    body = f"{region}{birth.year:04d}{birth.month:02d}{birth.day:02d}{sequence:03d}"
    # calc_check_digit expects a full-length number and ignores its last character.
    return body + ric.calc_check_digit(body + "0")


# --- Masking for logs and screens --------------------------------------------------------------


def mask_id_number(id_number: str) -> str:
    """Keep the first and last 4 characters: ``"3201**********1234"``."""
    if len(id_number) <= 8:
        return "*" * len(id_number)
    return id_number[:4] + "*" * (len(id_number) - 8) + id_number[-4:]


def mask_name(name: str) -> str:
    """Keep the first character and the ``·`` separators: ``"欧阳**"``, ``"阿***·***"``."""
    return name[:1] + "".join(c if c == NAME_SEPARATOR else "*" for c in name[1:])


def mask_phone(phone: str) -> str:
    """Keep the first 3 and last 4 digits of the national number: ``"138****5678"``."""
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


# --- Name, phone, unit -------------------------------------------------------------------------


def normalize_name(value: str) -> str:
    """Validate a Chinese personal name, minority names with ``·`` included.

    Returns:
        The stripped name with every separator variant replaced by ``·`` (U+00B7).

    Raises:
        RuleViolation: codes ``name.empty``, ``name.characters``, ``name.separator``
            or ``name.length`` (2-20 characters, separators included).
    """
    name = value.strip().translate(_NAME_SEPARATOR_VARIANTS)
    if not name:
        raise _refuse("name.empty")
    if not _NAME_CHARS.fullmatch(name):
        raise _refuse("name.characters")
    if name[0] == NAME_SEPARATOR or name[-1] == NAME_SEPARATOR or "··" in name:
        raise _refuse("name.separator")
    if not 2 <= len(name) <= 20:
        raise _refuse("name.length")
    return name


def normalize_mobile(value: str) -> str:
    """Validate a mainland China mobile number (``+86 138 0013 8000``, ``86-138...``).

    Returns:
        The 11-digit national number.

    Raises:
        RuleViolation: ``phone.invalid`` (unparseable, invalid or not +86) or
            ``phone.not_mobile`` (a valid landline or other non-mobile number).
    """
    try:
        parsed = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        raise _refuse("phone.invalid") from None
    if parsed.country_code != 86 or not phonenumbers.is_valid_number(parsed):
        raise _refuse("phone.invalid")
    if phonenumbers.number_type(parsed) != phonenumbers.PhoneNumberType.MOBILE:
        raise _refuse("phone.not_mobile")
    return str(parsed.national_number)


def normalize_unit_code(value: str) -> str:
    """Validate a unified social credit code (统一社会信用代码).

    Returns:
        The 18-character upper-case code without separators.

    Raises:
        RuleViolation: ``unit_code.length``, ``unit_code.format`` or ``unit_code.checksum``.
    """
    try:
        return uscc.validate(unicodedata.normalize("NFKC", value))
    except stdnum_exc.InvalidLength:
        raise _refuse("unit_code.length") from None
    except stdnum_exc.InvalidChecksum:
        raise _refuse("unit_code.checksum") from None
    except stdnum_exc.ValidationError:
        raise _refuse("unit_code.format") from None


def make_unit_code(prefix17: str) -> str:
    """Append the check character to a 17-character USCC prefix (test and demo data)."""
    prefix = uscc.compact(prefix17)
    if len(prefix) != 17:
        raise ValueError("prefix17 must have 17 characters")
    return prefix + uscc.calc_check_digit(prefix)


# --- Username and password ---------------------------------------------------------------------


def normalize_username(value: str, *, min_len: int = 4, max_len: int = USERNAME_MAX_LEN) -> str:
    """Validate a login name: lower-case ASCII letters, digits and ``_``, letter first.

    Raises:
        RuleViolation: ``username.length``, ``username.characters`` or ``username.start``.
    """
    username = value.strip()
    if not min_len <= len(username) <= max_len:
        raise _refuse("username.length", lo=min_len, hi=max_len)
    if not _USERNAME_CHARS.fullmatch(username):
        raise _refuse("username.characters")
    if not username[0].isalpha():
        raise _refuse("username.start")
    return username


def suggest_username(name: str, id_number: str) -> str:
    """Suggest a login name: name pinyin + birth year, e.g. 张三 born 1990 -> ``zhangsan1990``."""
    syllables = lazy_pinyin(name, style=Style.NORMAL)
    if name[:1] in _SURNAME_PINYIN and syllables:
        syllables[0] = _SURNAME_PINYIN[name[0]]
    letters = re.sub(r"[^a-z]", "", "".join(syllables).lower().replace("ü", "v"))
    # Ideographs unknown to pypinyin come back unchanged and are dropped above.
    letters = letters or "user"
    year = f"{birth_date_of(id_number).year:04d}"
    return letters[: USERNAME_MAX_LEN - len(year)] + year


def username_alternatives(base: str, taken: Collection[str], count: int = 3) -> list[str]:
    """Return ``count`` free names: ``base``, ``base_2``, ``base_3``... skipping taken ones.

    Each candidate is cut to fit 32 characters, so callers that pre-fetch the taken
    names should build the candidate list with this function (``taken=()``) too.
    """
    taken_set = set(taken)
    result: list[str] = []
    n = 1
    while len(result) < count:
        suffix = "" if n == 1 else f"_{n}"
        candidate = base[: USERNAME_MAX_LEN - len(suffix)] + suffix
        # Truncation can make base_N equal base itself; never offer a name twice.
        if candidate not in taken_set and candidate not in result:
            result.append(candidate)
        n += 1
    return result


def check_password(
    password: str,
    *,
    username: str,
    birth_date: date | None,
    min_len: int = 10,
    max_len: int = 128,
) -> None:
    """Enforce the password policy. Messages never echo the password.

    Raises:
        RuleViolation: ``password.length``, ``password.letter``, ``password.digit``,
            ``password.special``, ``password.contains_username`` or
            ``password.contains_birth_date``.
    """
    if not min_len <= len(password) <= max_len:
        raise _refuse("password.length", lo=min_len, hi=max_len)
    if not any(c in string.ascii_letters for c in password):
        raise _refuse("password.letter")
    if not any(c in string.digits for c in password):
        raise _refuse("password.digit")
    if not any(c in _SPECIALS for c in password):
        raise _refuse("password.special")
    if len(username) >= 3 and username.lower() in password.lower():
        raise _refuse("password.contains_username")
    if birth_date is not None:
        ymd = f"{birth_date.year:04d}{birth_date.month:02d}{birth_date.day:02d}"
        if ymd in password or ymd[2:] in password:
            raise _refuse("password.contains_birth_date")
