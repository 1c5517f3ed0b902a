"""The tables behind :mod:`rasad.validation.pii`: patterns, checksums, masks, names.

Every kind of personal data that rasad recognises in values is one :class:`ValueRule`
in :data:`VALUE_RULES`: a cheap RE2 prefilter run by Arrow over the whole sample, a
Python regular expression run only on the rows the prefilter kept, a validator run on
each candidate (a checksum, a length or an :mod:`ipaddress` parse), and a mask that
turns a candidate into an example safe to show. Column names are judged by the token
sequences in :data:`NAME_TERMS`.

>>> luhn_ok("4111111111111111"), luhn_ok("4111111111111112")
(True, False)
>>> iban_ok("SA0380000000608010167519"), iban_ok("SA0480000000608010167519")
(True, False)
>>> saudi_id_ok("1000000008"), saudi_id_ok("1000000009"), saudi_id_ok("3000000008")
(True, False, False)
>>> mask_email("jane.doe@example.com"), mask_card("4111 1111 1111 1111")
('j***@e***.com', '************1111')
>>> name_tokens("CustomerFirstName"), name_tokens("date-of-birth")
('customer_first_name', 'date_of_birth')
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final


class PIIKind(enum.StrEnum):
    """A kind of personal data, or a column declared as a protected attribute."""

    EMAIL = "email"
    PHONE = "phone"
    IBAN = "iban"
    PAYMENT_CARD = "payment card"
    SAUDI_NATIONAL_ID = "saudi national id"
    SAUDI_IQAMA = "saudi iqama"
    US_SSN = "us ssn"
    UK_NINO = "uk nino"
    IP_ADDRESS = "ip address"
    DATE_OF_BIRTH = "date of birth"
    PERSON_NAME = "person name"
    PROTECTED_ATTRIBUTE = "protected attribute"


# --- checksums -----------------------------------------------------------------------

_NOT_ASCII_DIGIT: Final[re.Pattern[str]] = re.compile(r"[^0-9]+")
_LUHN_DOUBLED: Final[tuple[int, ...]] = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
_IBAN_LETTERS: Final[dict[int, str]] = {
    ord(letter): str(value) for value, letter in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 10)}

EASTERN_DIGITS: Final[dict[int, int]] = str.maketrans(
    "٠١٢٣٤٥٦٧٨٩"
    "۰۱۲۳۴۵۶۷۸۹",
    "01234567890123456789")
"""Arabic-Indic and Persian digits to ASCII, applied to values before matching."""

EASTERN_DIGITS_RE2: Final[str] = "[٠-٩۰-۹]"
"""RE2 prefilter for values holding Arabic-Indic or Persian digits."""


def digits_of(text: str) -> str:
    """The ASCII digits of ``text``, separators dropped."""
    return _NOT_ASCII_DIGIT.sub("", text)


def luhn_ok(number: str) -> bool:
    """True when the digits of ``number`` pass the Luhn (mod 10) check."""
    digits = digits_of(number)
    if not digits:
        return False
    # From the right: odd positions count as they are, even ones doubled (minus 9 past 9).
    total = sum(map(int, digits[-1::-2])) + sum(_LUHN_DOUBLED[int(d)] for d in digits[-2::-2])
    return total % 10 == 0


IBAN_LENGTHS: Final[Mapping[str, int]] = MappingProxyType({
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
    "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27,
    "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28,
    "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
})
"""IBAN length per country code, from the ISO 13616 registry (SWIFT)."""


def iban_compact(text: str) -> str | None:
    """``text`` as a compact upper-case IBAN of its country's length, or None.

    A candidate found in free text may run into the next word; it is cut to the
    registered length of its country.
    """
    compact = re.sub(r"[\s-]", "", text).upper()
    length = IBAN_LENGTHS.get(compact[:2])
    if length is None or len(compact) < length:
        return None
    return compact[:length]


def iban_ok(text: str) -> bool:
    """True when ``text`` is an IBAN of a registered length with a valid mod-97 check."""
    compact = iban_compact(text)
    if (compact is None or not compact.isascii() or not compact[2:4].isdigit()
            or not compact[4:].isalnum()):
        return False
    rearranged = compact[4:] + compact[:4]
    return int(rearranged.translate(_IBAN_LETTERS)) % 97 == 1


def saudi_id_ok(text: str) -> bool:
    """True for a 10-digit Saudi national ID (1...) or Iqama (2...) passing Luhn.

    The check digit of the Ministry of Interior's ten-digit number is the Luhn check
    digit over the first nine digits (odd positions from the left are doubled).
    """
    digits = digits_of(text)
    return len(digits) == 10 and digits[0] in "12" and luhn_ok(digits)


def phone_ok(text: str) -> bool:
    """True when a phone-shaped candidate has 9 to 15 digits after its ``00`` prefix."""
    digits = digits_of(text)
    if digits.startswith("00"):
        digits = digits[2:]
    return 9 <= len(digits) <= 15


def card_ok(text: str) -> bool:
    """True for 13 to 19 digits passing the Luhn check."""
    return 13 <= len(digits_of(text)) <= 19 and luhn_ok(text)


def ipv4_ok(text: str) -> bool:
    """True when :class:`ipaddress.IPv4Address` accepts ``text``."""
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def ipv6_ok(text: str) -> bool:
    """True when :class:`ipaddress.IPv6Address` accepts ``text`` (and it is not ``::``)."""
    if text.strip(":") == "":
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def always_ok(text: str) -> bool:
    """The validator of kinds checked by their pattern alone."""
    return True


# --- masks ---------------------------------------------------------------------------

def _keep(text: str, first: int, last: int) -> str:
    if len(text) <= first + last:
        return "*" * len(text)
    return text[:first] + "*" * (len(text) - first - last) + (text[-last:] if last else "")


def mask_email(text: str) -> str:
    """First letter of the local part and of the domain, and the top-level domain."""
    local, _, domain = text.partition("@")
    host, _, tld = domain.rpartition(".")
    return f"{local[:1]}***@{host[:1]}***.{tld}"


def mask_card(text: str) -> str:
    """Stars for every digit but the last four."""
    return _keep(digits_of(text), 0, 4)


def mask_iban(text: str) -> str:
    """The country code and the last four characters."""
    compact = iban_compact(text) or re.sub(r"\s", "", text).upper()
    return _keep(compact, 2, 4)


def mask_saudi_id(text: str) -> str:
    """The first digit (citizen or resident) and the last two."""
    return _keep(digits_of(text), 1, 2)


def mask_phone(text: str) -> str:
    """A leading ``+`` and the first three digits (the country or area), and the last two."""
    digits = digits_of(text)
    return ("+" if text.lstrip().startswith("+") else "") + _keep(digits, 3, 2)


def mask_ssn(text: str) -> str:
    """The usual ``***-**-1234``."""
    return "***-**-" + digits_of(text)[-4:]


def mask_nino(text: str) -> str:
    """The two-letter prefix only."""
    compact = re.sub(r"\s", "", text)
    return _keep(compact, 2, 0)


def mask_ip(text: str) -> str:
    """The first group of the address."""
    if ":" in text:
        return text.split(":")[0] + ":*:*"
    return text.split(".")[0] + ".*.*.*"


def mask_shape(text: str) -> str:
    """Every letter and digit replaced by a star (dates of birth)."""
    return re.sub(r"\w", "*", text)


def mask_name(text: str) -> str:
    """The first letter of each word."""
    return " ".join(word[:1] + "***" for word in text.split())


# --- value rules ---------------------------------------------------------------------

@dataclass(frozen=True)
class ValueRule:
    """How one kind is found in values.

    ``prefilter`` is RE2 syntax (run by Arrow on every sampled value); ``pattern``
    finds the candidates in the values the prefilter kept; ``validate`` decides each
    candidate; ``checksum`` says whether ``validate`` is a check digit, which lets a
    single valid value flag a column.
    """

    kind: PIIKind
    prefilter: str
    pattern: re.Pattern[str]
    validate: Callable[[str], bool]
    mask: Callable[[str], str]
    checksum: bool


def _ascii(pattern: str) -> re.Pattern[str]:
    # ASCII classes: a candidate holds only ASCII digits and letters, so checksums and
    # masks never see other scripts (values are translated with EASTERN_DIGITS first).
    return re.compile(pattern, re.ASCII)


_NOT_DIGIT_BEFORE = r"(?<![\w+])"
_NOT_DIGIT_AFTER = r"(?!\d)"

VALUE_RULES: Final[tuple[ValueRule, ...]] = (
    ValueRule(
        PIIKind.EMAIL, r"[A-Za-z0-9]@[A-Za-z0-9-]+\.",
        _ascii(r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
                   r"\.[A-Za-z]{2,}(?![\w-])"),
        always_ok, mask_email, checksum=False),
    ValueRule(
        PIIKind.IBAN, r"(?i)[a-z]{2}[0-9]{2}\s?[a-z0-9]{4}",
        _ascii(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]){11,30}(?![A-Za-z0-9])"),
        iban_ok, mask_iban, checksum=True),
    ValueRule(
        PIIKind.PAYMENT_CARD, r"[2-6][0-9]{3}[ -]?[0-9]{4}",
        _ascii(_NOT_DIGIT_BEFORE + r"[2-6]\d{3}(?:[ -]?\d){9,15}" + _NOT_DIGIT_AFTER),
        card_ok, mask_card, checksum=True),
    ValueRule(
        PIIKind.SAUDI_NATIONAL_ID, r"1[0-9]{9}",
        _ascii(_NOT_DIGIT_BEFORE + r"1\d{9}" + _NOT_DIGIT_AFTER),
        saudi_id_ok, mask_saudi_id, checksum=True),
    ValueRule(
        PIIKind.SAUDI_IQAMA, r"2[0-9]{9}",
        _ascii(_NOT_DIGIT_BEFORE + r"2\d{9}" + _NOT_DIGIT_AFTER),
        saudi_id_ok, mask_saudi_id, checksum=True),
    ValueRule(
        PIIKind.PHONE, r"(?:\+|00)[1-9][0-9]|0[15][0-9]",
        _ascii(
            # Not the tail of a longer digit-group sequence ("4123 0012 3456 7890").
            r"(?<![\w+])(?<!\d[ .-])(?:"
            # Saudi mobile (05X, +9665X, 009665X) and landline (01X) numbers
            r"(?:\+966[ -]?|00966[ -]?|0)[15]\d(?:[ -]?\d){7}"
            # international, E.164-like: + or 00, then 8 to 15 digits
            r"|(?:\+|00)[1-9](?:[ ().-]{0,2}\d){7,14}"
            r")(?!\d)"),
        phone_ok, mask_phone, checksum=False),
    ValueRule(
        PIIKind.US_SSN, r"[0-9]{3}-[0-9]{2}-[0-9]{4}",
        _ascii(r"(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])"),
        always_ok, mask_ssn, checksum=False),
    ValueRule(
        PIIKind.UK_NINO, r"[A-Z]{2}\s?[0-9]{2}\s?[0-9]{2}\s?[0-9]{2}\s?[A-D]",
        _ascii(r"(?<![A-Za-z0-9])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z]"
                   r"[A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])"),
        always_ok, mask_nino, checksum=False),
    ValueRule(
        PIIKind.IP_ADDRESS, r"[0-9]\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]|[0-9a-fA-F]:[0-9a-fA-F:]*:",
        _ascii(r"(?<![\w.:])(?:(?:\d{1,3}\.){3}\d{1,3}"
                   r"|(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4})(?![\w:]|\.\d)"),
        lambda text: ipv4_ok(text) or ipv6_ok(text), mask_ip, checksum=False),
)
"""The value rules, in the order their findings are reported."""

INTEGER_RULES: Final[tuple[ValueRule, ...]] = (
    *(rule for rule in VALUE_RULES
      if rule.kind in {PIIKind.PAYMENT_CARD, PIIKind.SAUDI_NATIONAL_ID, PIIKind.SAUDI_IQAMA}),
    ValueRule(
        PIIKind.PHONE, r"^(?:9665[0-9]{8}|5[0-9]{8})$",
        _ascii(r"9665\d{8}|5\d{8}"), phone_ok, mask_phone, checksum=False),
)
"""The rules for integer columns, whose values are matched as decimal strings.

A CSV reader turns card numbers, IDs and phone numbers without ``+`` into integers
and drops leading zeros, so a Saudi mobile number is ``9665XXXXXXXX`` or
``5XXXXXXXX``. Being plain numbers, these phones count only by share.
"""

def any_prefilter(rules: tuple[ValueRule, ...]) -> str:
    """One RE2 pattern matching a value when any of the rules' prefilters does.

    >>> any_prefilter(INTEGER_RULES[-1:])
    '(?:^(?:9665[0-9]{8}|5[0-9]{8})$)'
    """
    return "|".join(f"(?:{rule.prefilter})" for rule in rules)


ANY_VALUE_PREFILTER: Final[str] = any_prefilter(VALUE_RULES)
"""The joined prefilter of :data:`VALUE_RULES`: one scan tells which values to look at."""

ANY_INTEGER_PREFILTER: Final[str] = any_prefilter(INTEGER_RULES)
"""The joined prefilter of :data:`INTEGER_RULES`."""


DATE_LIKE: Final[re.Pattern[str]] = _ascii(
    r"\s*(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\s*")
"""A value that looks like a date (ISO, or day/month/year in either order)."""

PERSON_NAME_LIKE: Final[re.Pattern[str]] = re.compile(
    r"\s*[^\W\d_]+(?:[\s'’.-]+[^\W\d_]+){0,5}\s*")
"""A value that looks like a personal name: one to six words of letters."""


# --- column names --------------------------------------------------------------------

def name_tokens(name: str) -> str:
    """A column name as lower-case tokens joined by ``_`` (camelCase split)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return "_".join(word.lower() for word in re.findall(r"[^\W_]+", spaced))


_LANGUAGE_SUFFIXES: Final[frozenset[str]] = frozenset({"ar", "en", "arabic", "english"})

_PERSON_WORDS: Final[tuple[str, ...]] = (
    "first", "last", "full", "middle", "given", "family", "sur", "fore", "maiden",
    "customer", "client", "patient", "employee", "person", "contact", "holder",
    "card_holder", "account_holder", "father", "mother", "applicant", "borrower",
    "beneficiary", "member", "student", "guardian", "spouse", "owner", "passenger",
)

NAME_TERMS: Final[Mapping[PIIKind, tuple[str, ...]]] = MappingProxyType({
    PIIKind.PERSON_NAME: (
        *(f"{word}_name" for word in _PERSON_WORDS),
        "firstname", "lastname", "fullname", "middlename", "givenname", "familyname",
        "surname", "forename", "fname", "lname", "ism", "esm", "al_ism", "الاسم", "اسم",
    ),
    PIIKind.DATE_OF_BIRTH: (
        "dob", "birth_date", "birthdate", "date_of_birth", "dateofbirth", "birthday",
        "birth_dt", "born_on", "tarikh_milad", "tareekh_milad", "milad", "الميلاد",
    ),
    PIIKind.EMAIL: ("email", "e_mail", "mail", "email_address", "البريد"),
    PIIKind.PHONE: ("phone", "mobile", "tel", "telephone", "msisdn", "cell", "jawal",
                    "jawwal", "phone_number", "mobile_number", "الجوال", "هاتف"),
    PIIKind.IBAN: ("iban", "ايبان"),
    PIIKind.PAYMENT_CARD: ("card_number", "card_no", "card_num", "cc_number", "cc_num",
                           "pan", "credit_card", "debit_card", "cardnumber"),
    PIIKind.SAUDI_NATIONAL_ID: ("national_id", "nid", "id_number", "hawiya", "huwiya",
                                "civil_id", "الهوية"),
    PIIKind.SAUDI_IQAMA: ("iqama", "iqama_number", "iqama_no", "resident_id", "الإقامة"),
    PIIKind.US_SSN: ("ssn", "social_security", "social_security_number"),
    PIIKind.UK_NINO: ("nino", "ni_number", "national_insurance"),
    PIIKind.IP_ADDRESS: ("ip", "ip_address", "ipv4", "ipv6", "client_ip", "remote_addr",
                         "ip_addr"),
})
"""Token sequences that, found in a column name, suggest a kind."""


def name_suggests(name: str, kind: PIIKind) -> bool:
    """True when column ``name`` holds one of the token sequences of ``kind``.

    A bare ``name`` (optionally with a language suffix such as ``name_ar``) is a
    person's name; ``product_name`` or ``file_name`` are not.

    >>> name_suggests("Customer Name", PIIKind.PERSON_NAME)
    True
    >>> name_suggests("product_name", PIIKind.PERSON_NAME), name_suggests("zip", PIIKind.IP_ADDRESS)
    (False, False)
    """
    tokens = name_tokens(name).split("_")
    while len(tokens) > 1 and tokens[-1] in _LANGUAGE_SUFFIXES:
        tokens.pop()
    joined = "_".join(tokens)
    if kind is PIIKind.PERSON_NAME and joined == "name":
        return True
    padded = f"_{joined}_"
    return any(f"_{term}_" in padded for term in NAME_TERMS.get(kind, ()))


__all__ = [
    "ANY_INTEGER_PREFILTER",
    "ANY_VALUE_PREFILTER",
    "DATE_LIKE",
    "EASTERN_DIGITS",
    "EASTERN_DIGITS_RE2",
    "IBAN_LENGTHS",
    "INTEGER_RULES",
    "NAME_TERMS",
    "PERSON_NAME_LIKE",
    "VALUE_RULES",
    "PIIKind",
    "ValueRule",
    "any_prefilter",
    "iban_ok",
    "luhn_ok",
    "mask_name",
    "mask_shape",
    "name_suggests",
    "name_tokens",
    "saudi_id_ok",
]
