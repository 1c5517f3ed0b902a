"""Tests for rasad.validation.pii: planted PII is found, look-alikes are not, nothing leaks."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from rasad.errors import InputError, NotFoundError
from rasad.validation._pii_patterns import (
    IBAN_LENGTHS,
    iban_ok,
    luhn_ok,
    name_suggests,
    saudi_id_ok,
)
from rasad.validation.pii import (
    TABLE_COLUMNS,
    Basis,
    PIIKind,
    PIIPolicy,
    PIIReport,
    scan,
)

VALID_IBANS = [
    "SA0380000000608010167519",
    "GB82WEST12345698765432",
    "DE89370400440532013000",
    "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
    "CH9300762011623852957",
    "AE070331234567890123456",
]
VALID_CARDS = ["4111111111111111", "5500 0000 0000 0004", "3400-0000-0000-009",
               "6011000000000004"]
SAUDI_IDS = ["1000000008", "1058529940", "1001244019"]
IQAMAS = ["2000000006"]


def _ordinary(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    words = ["riyadh", "jeddah", "approved", "pending", "blue", "green", "north", "A-17",
             "order 42", "3.5 kg", "2024-01-05", "ok", "refund requested", "x"]
    return [rng.choice(words) for _ in range(n)]


def _planted(values: list[str], n: int = 300, seed: int = 0) -> list[str | None]:
    column: list[str | None] = list(_ordinary(n, seed))
    rng = random.Random(seed + 1)
    for position, value in zip(rng.sample(range(n), len(values)), values, strict=True):
        column[position] = value
    column[0] = None
    return column


def _luhn_complete(prefix: str) -> str:
    return next(prefix + str(digit) for digit in range(10) if luhn_ok(prefix + str(digit)))


def _kinds(report: PIIReport) -> dict[str, set[PIIKind]]:
    return {column.column: set(column.kinds) for column in report.columns}


# --- checksums ------------------------------------------------------------------------


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_iban_mod97_accepts_registry_examples(iban: str) -> None:
    assert iban_ok(iban)
    assert len(iban) == IBAN_LENGTHS[iban[:2]]


def test_iban_mod97_rejects_wrong_check_digits_lengths_and_countries() -> None:
    assert iban_ok("sa03 8000 0000 6080 1016 7519")
    assert not iban_ok("SA0480000000608010167519")
    assert not iban_ok("SA038000000060801016751")  # one short
    assert not iban_ok("ZZ0380000000608010167519")  # no such country


def test_luhn_and_saudi_id_checks() -> None:
    assert all(luhn_ok(card) for card in VALID_CARDS)
    assert not luhn_ok("4111111111111112")
    assert all(saudi_id_ok(number) for number in SAUDI_IDS + IQAMAS)
    assert not saudi_id_ok("1000000007")
    assert not saudi_id_ok("3000000001")  # passes Luhn but starts with 3
    assert not saudi_id_ok("100000008")


# --- planted values are found with their kind ------------------------------------------


PLANTED = {
    PIIKind.EMAIL: ["jane.doe@example.com", "ali+test@mail.example.org"],
    PIIKind.PHONE: ["+966512345678", "00966512345678", "0512345678", "011 234 5678",
                    "+44 20 7946 0958"],
    PIIKind.IBAN: ["SA0380000000608010167519", "GB82 WEST 1234 5698 7654 32"],
    PIIKind.PAYMENT_CARD: VALID_CARDS,
    PIIKind.SAUDI_NATIONAL_ID: SAUDI_IDS,
    PIIKind.SAUDI_IQAMA: IQAMAS,
    PIIKind.US_SSN: ["123-45-6789"],
    PIIKind.UK_NINO: ["AB 12 34 56 C"],
    PIIKind.IP_ADDRESS: ["192.0.2.17", "2001:db8::8a2e:370:7334"],
}


@pytest.mark.parametrize("kind", list(PLANTED))
def test_pii_planted_among_ordinary_values_is_found_with_its_kind(kind: PIIKind) -> None:
    frame = pd.DataFrame({"remarks": _planted(PLANTED[kind]), "clean": _ordinary(300, 5)})
    report = scan(frame)
    assert _kinds(report) == {"remarks": {kind}}
    finding = report.column("remarks").findings[0]
    assert finding.basis is Basis.VALUES
    assert finding.matches == len(PLANTED[kind])
    assert finding.checked == 299
    assert finding.examples


def test_each_planted_value_is_found_on_its_own() -> None:
    for kind, values in PLANTED.items():
        for value in values:
            report = scan(pd.DataFrame({"remarks": _planted([value])}))
            assert _kinds(report) == {"remarks": {kind}}, (kind, value)


def test_checksum_kinds_in_free_text_are_found() -> None:
    text = _planted(["please refund card 4111 1111 1111 1111 today",
                     "transfer to SA03 8000 0000 6080 1016 7519 thanks"])
    report = scan(pd.DataFrame({"notes": text}))
    assert _kinds(report) == {"notes": {PIIKind.PAYMENT_CARD, PIIKind.IBAN}}


def test_integer_columns_from_csv_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    rows = ["national_id,card,mobile,amount"]
    for i in range(40):
        rows.append(f"{SAUDI_IDS[i % 3]},4111111111111111,0512345678,{1000 + i}")
    path.write_text("\n".join(rows) + "\n")
    report = scan(path)
    assert _kinds(report) == {
        "national_id": {PIIKind.SAUDI_NATIONAL_ID},
        "card": {PIIKind.PAYMENT_CARD},
        "mobile": {PIIKind.PHONE},
    }
    assert report.column("national_id").findings[0].basis is Basis.BOTH


# --- look-alikes are not reported ---------------------------------------------------------


def test_sixteen_digit_numbers_failing_luhn_are_not_cards() -> None:
    rng = random.Random(3)
    numbers: list[str] = []
    while len(numbers) < 200:
        candidate = "4" + "".join(rng.choice("0123456789") for _ in range(15))
        if not luhn_ok(candidate):
            numbers.append(candidate)
    spaced = [" ".join(n[i:i + 4] for i in range(0, 16, 4)) for n in numbers[:50]]
    report = scan(pd.DataFrame({"card_number": numbers, "other": spaced * 4}))
    assert report.columns == ()


def test_iban_look_alikes_with_wrong_check_digits_are_not_ibans() -> None:
    wrong = []
    for iban in VALID_IBANS:
        check = int(iban[2:4])
        wrong.append(f"{iban[:2]}{(check + 1) % 100:02d}{iban[4:]}")
        wrong.append(f"{iban[:2]}{(check + 50) % 100:02d}{iban[4:]}")
    assert not any(iban_ok(value) for value in wrong)
    report = scan(pd.DataFrame({"iban": (wrong * 22)[:300], "remarks": _planted(wrong)}))
    assert report.columns == ()


def test_random_numbers_passing_luhn_by_chance_do_not_flag_a_column() -> None:
    rng = np.random.default_rng(7)
    card_like = [str(n) for n in rng.integers(4 * 10**15, 5 * 10**15, size=2000)]
    epoch = rng.integers(1_600_000_000, 1_800_000_000, size=2000)
    report = scan(pd.DataFrame({"ref": card_like, "epoch": epoch,
                                "epoch_text": [str(n) for n in epoch]}))
    assert report.columns == ()


IN_TEXT = {
    PIIKind.EMAIL: "customer asked us to write to jane.doe@example.com instead",
    PIIKind.PHONE: "call back on 050 123 4567 after five",
    PIIKind.IBAN: "refund to SA03 8000 0000 6080 1016 7519, confirmed",
    PIIKind.PAYMENT_CARD: "paid with 5500-0000-0000-0004 at the desk",
    PIIKind.SAUDI_NATIONAL_ID: "ID 1058529940 checked",
    PIIKind.SAUDI_IQAMA: "iqama (2000000006) shown",
    PIIKind.US_SSN: "SSN 123-45-6789 on file",
    PIIKind.UK_NINO: "NI number AB 12 34 56 C given",
    PIIKind.IP_ADDRESS: "login from 192.0.2.17 blocked",
}


@pytest.mark.parametrize("kind", list(IN_TEXT))
@pytest.mark.parametrize("every", [4, 100])
def test_each_kind_inside_free_text_is_found_at_any_share(kind: PIIKind, every: int) -> None:
    # A notes column where a quarter, or one row in a hundred, mentions the kind.
    notes = [IN_TEXT[kind] if i % every == 0 else "customer called about the delivery"
             for i in range(200)]
    report = scan(pd.DataFrame({"notes": notes}))
    assert _kinds(report) == {"notes": {kind}}
    finding = report.column("notes").findings[0]
    assert (finding.matches, finding.in_text, finding.checked) == (200 // every,) * 2 + (200,)
    assert finding.share == pytest.approx(1 / every)
    assert finding.examples and all("*" in example for example in finding.examples)


def test_a_quarter_of_notes_with_addresses_is_reported_masked() -> None:
    notes = [f"wrote to user{i}@example.com" if i % 4 == 0 else "no reply" for i in range(400)]
    report = scan(pd.DataFrame({"notes": notes}))
    finding = report.column("notes").findings[0]
    assert (finding.kind, finding.matches, finding.in_text) == (PIIKind.EMAIL, 100, 100)
    assert finding.examples == ("u***@e***.com",)
    assert "user0@" not in json.dumps(report.to_dict())


def test_whole_values_are_not_counted_as_inside_text() -> None:
    report = scan(pd.DataFrame({"contact": [" jane@example.com ", "ok", "mail jo@example.org"]}))
    finding = report.column("contact").findings[0]
    assert (finding.matches, finding.in_text) == (2, 1)


def test_checksum_look_alikes_inside_free_text_are_not_reported() -> None:
    # A failing check digit inside text is never a match, whatever the share.
    notes = _planted(["paid with 4111 1111 1111 1112", "iban SA04 8000 0000 6080 1016 7519",
                      "ID 1000000009", "iqama 2000000007"] * 20)
    assert scan(pd.DataFrame({"notes": notes})).columns == ()


def test_digit_groups_in_text_are_not_phones() -> None:
    # "0012 3456 7890" is the tail of a longer number, not an international phone.
    notes = ["ref 4123 0012 3456 7890 shipped", "ticket 1234-0512-3456-78 closed"] * 50
    assert scan(pd.DataFrame({"notes": notes})).columns == ()


def test_repeated_values_are_counted_once_per_row() -> None:
    # Distinct values are checked once; counts must still be per row.
    notes = (["mail omar@example.org"] * 10 + ["x"] * 60 + ["mail jane@example.com"] * 30
             + ["SA0380000000608010167519"] * 7 + ["SA0480000000608010167519"] * 3)
    report = scan(pd.DataFrame({"notes": notes}))
    email, iban = report.column("notes").findings
    assert (email.matches, email.in_text, email.checked) == (40, 40, 110)
    assert email.examples == ("o***@e***.org", "j***@e***.com")  # first appearance first
    assert (iban.matches, iban.failed_checksum, iban.in_text) == (7, 3, 0)


def test_min_matches_quietens_rare_mentions() -> None:
    notes = ["customer called"] * 99 + ["wrote to jane@example.com"]
    assert _kinds(scan(pd.DataFrame({"notes": notes}))) == {"notes": {PIIKind.EMAIL}}
    quiet = PIIPolicy(min_matches=2)
    assert scan(pd.DataFrame({"notes": notes}), policy=quiet).columns == ()
    assert scan(pd.DataFrame({"notes": notes * 2}), policy=quiet).column("notes").kinds == (
        PIIKind.EMAIL,)


def test_invalid_ip_addresses_and_times_are_not_ips() -> None:
    values = ["999.1.1.1", "12:30:45", "1.2.3", "v1.2.3.4.5", "10:20"] * 20
    assert scan(pd.DataFrame({"values": values})).columns == ()


# --- names, dates of birth and protected attributes -------------------------------------


@pytest.mark.parametrize("name", ["name", "name_ar", "customer_name", "first_name",
                                  "LastName", "Full Name", "surname", "ism", "esm"])
def test_person_name_columns_by_name(name: str) -> None:
    assert name_suggests(name, PIIKind.PERSON_NAME)


@pytest.mark.parametrize("name", ["product_name", "file_name", "username", "company_name",
                                  "names_count", "ismail_flag"])
def test_other_name_columns_are_not_person_names(name: str) -> None:
    assert not name_suggests(name, PIIKind.PERSON_NAME)


def test_person_names_and_dates_of_birth_are_judged_by_column_name() -> None:
    frame = pd.DataFrame({
        "customer_name": ["Jane Doe", "John Roe", "Sara Al-Qahtani"],
        "product_name": ["Widget", "Gadget", "Gizmo"],
        "dob": ["1990-01-31", "1985-12-01", "31/01/1990"],
        "birth_date": [dt.date(1990, 1, 31), dt.date(1985, 12, 1), None],
        "birth_country": ["SA", "GB", "SA"],
        "first_name": [1, 2, 3],
    })
    report = scan(frame)
    assert _kinds(report) == {
        "customer_name": {PIIKind.PERSON_NAME},
        "dob": {PIIKind.DATE_OF_BIRTH},
        "birth_date": {PIIKind.DATE_OF_BIRTH},
        "first_name": {PIIKind.PERSON_NAME},
    }
    assert report.column("customer_name").findings[0].basis is Basis.BOTH
    assert report.column("customer_name").findings[0].examples == ("J*** D***", "J*** R***",
                                                                    "S*** A***")
    assert report.column("dob").findings[0].basis is Basis.BOTH
    assert report.column("birth_date").findings[0].matches == 2
    assert report.column("first_name").findings[0].basis is Basis.COLUMN_NAME


def test_a_column_name_alone_never_reports_an_iban_or_card() -> None:
    report = scan(pd.DataFrame({"iban": ["unknown"] * 5, "card_number": ["n/a"] * 5}))
    assert report.columns == ()


def test_protected_attributes_are_reported_as_such() -> None:
    frame = pd.DataFrame({"gender": ["f", "m"], "email": ["a@example.com", "b@example.com"]})
    report = scan(frame, protected_attributes=["gender", "email", "religion"])
    assert _kinds(report) == {
        "gender": {PIIKind.PROTECTED_ATTRIBUTE},
        "email": {PIIKind.EMAIL, PIIKind.PROTECTED_ATTRIBUTE},
    }
    assert report.column("gender").findings == ()
    assert report.missing_protected == ("religion",)
    assert not scan(frame[["gender"]], protected_attributes=["gender"]).found
    assert ("gender", "protected attribute", "declared", "", "", "") in report.to_rows()


# --- nothing raw leaks -------------------------------------------------------------------


def test_no_raw_value_appears_in_the_report_json_repr_or_rows() -> None:
    planted = [value for values in PLANTED.values() for value in values]
    names = ["Jane Doe", "Sara Al-Qahtani"]
    dates = ["1990-01-31"]
    frame = pd.DataFrame({
        "remarks": _planted(planted, n=400),
        "full_name": _planted(names, n=400),
        "date_of_birth": _planted(dates, n=400),
    })
    report = scan(frame, protected_attributes=["full_name"])
    assert {PIIKind.EMAIL, PIIKind.IBAN, PIIKind.PAYMENT_CARD} <= set(
        report.column("remarks").kinds)
    rendered = [json.dumps(report.to_dict()), repr(report), str(report.to_rows())]
    fragments = set(planted + names + dates)
    fragments |= {value.replace(" ", "").replace("-", "") for value in planted}
    fragments |= {"jane.doe", "example.com", "Qahtani", "6080101675"}
    for text in rendered:
        for fragment in fragments:
            assert fragment not in text, fragment


def test_report_renders_to_json_and_rows() -> None:
    report = scan(pd.DataFrame({"contact": ["jane@example.com", "+966512345678"]}))
    data = json.loads(json.dumps(report.to_dict()))
    assert data["found"] is True
    assert data["columns"][0]["kinds"] == ["email", "phone"]
    assert data["columns"][0]["findings"][0]["share"] == 0.5
    rows = report.to_rows()
    assert all(len(row) == len(TABLE_COLUMNS) for row in rows)
    assert rows[1] == ("contact", "phone", "values", "50.0%", "2", "+966*******78")
    with pytest.raises(NotFoundError, match="reported columns: 'contact'"):
        report.column("amount")


# --- input, sampling and policy ----------------------------------------------------------


def test_sampling_caps_the_rows_checked() -> None:
    frame = pd.DataFrame({"email": [f"user{i}@example.com" for i in range(500)]})
    report = scan(frame, sample_rows=50)
    assert (report.rows, report.sampled_rows) == (500, 50)
    assert report.column("email").findings[0].checked == 50
    assert scan(frame, sample_rows=None).sampled_rows == 500


def test_bad_arguments_raise_input_errors() -> None:
    with pytest.raises(InputError, match="sample_rows is 0"):
        scan(pd.DataFrame({"a": ["x"]}), sample_rows=0)
    with pytest.raises(InputError, match="min_checksum_share is -0.1"):
        PIIPolicy(min_checksum_share=-0.1)
    with pytest.raises(InputError, match="max_examples"):
        PIIPolicy(max_examples=-1)
    with pytest.raises(InputError, match="min_matches is 0; use 1 or more"):
        PIIPolicy(min_matches=0)


def test_arrow_table_input_and_policy_thresholds() -> None:
    table = pa.table({"notes": ["mail jane@example.com", "mail omar@example.org"] * 2
                      + ["nothing"] * 6})
    report = scan(table, policy=PIIPolicy(max_examples=1))
    assert report.column("notes").findings[0].examples == ("j***@e***.com",)
    assert scan(table, policy=PIIPolicy(min_matches=5)).columns == ()
    assert scan(table, policy=PIIPolicy(min_matches=4)).policy.to_dict()["min_matches"] == 4
    # Saudi mobiles in an integer column count by share only.
    phones = pa.table({"msisdn_raw": [966512345678] + list(range(1000, 1009))})
    assert scan(phones).columns == ()
    assert scan(phones, policy=PIIPolicy(min_share=0.1)).column("msisdn_raw").kinds == (
        PIIKind.PHONE,)


def test_a_large_sample_is_scanned_whole() -> None:
    rng = np.random.default_rng(0)
    n = 100_000
    frame = pd.DataFrame({
        "email": [f"user{i}@example.com" for i in range(n)],
        "amount": rng.normal(size=n),
        "count": rng.integers(0, 10**6, size=n),
        "city": rng.choice(["riyadh", "jeddah", "dammam"], size=n),
    })
    report = scan(frame)  # speed is measured by benchmarks, not asserted here
    assert _kinds(report) == {"email": {PIIKind.EMAIL}}
    assert report.column("email").findings[0].matches == n


def test_arabic_indic_digits_and_dictionary_columns_are_checked() -> None:
    eastern = "٠٥١٢٣٤٥٦٧٨"  # 0512345678 in Arabic-Indic digits
    table = pa.table({
        "remarks": _planted([eastern, "هوية ١٠٠٠٠٠٠٠٠٨"]),
        "codes": pa.array(_planted(["4111111111111111"])).dictionary_encode(),
    })
    report = scan(table, protected_attributes="codes")
    assert _kinds(report) == {
        "remarks": {PIIKind.PHONE, PIIKind.SAUDI_NATIONAL_ID},
        "codes": {PIIKind.PAYMENT_CARD, PIIKind.PROTECTED_ATTRIBUTE},
    }
    assert eastern not in repr(report)


def test_docs_examples_run() -> None:
    # Every ```python block of docs/pii.md runs, in order, in one namespace.
    text = (Path(__file__).resolve().parents[2] / "docs" / "pii.md").read_text()
    blocks = [part.split("```", 1)[0] for part in text.split("```python\n")[1:]]
    assert len(blocks) == 3
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "docs/pii.md", "exec"), namespace)  # noqa: S102
