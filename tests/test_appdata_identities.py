"""Identity values: normalization, refusal of malformed input, e-mail and phone forms."""

from __future__ import annotations

import re

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from troth.appdata.identities import normalize, phone_variants, stored_form, stored_values
from troth.datamap.model import DataMap
from troth.errors import InvalidInput

REGIONS = ["US", "BR", "DE", "GB", "FR", "IN", "PL"]
KINDS = [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]


def datamap(region: str = "US") -> DataMap:
    return DataMap.model_validate(
        {
            "stores": {"app": {"type": "sql", "url": "sqlite:///x.db"}},
            "identities": {
                "email": {"normalize": "email"},
                "phone": {"normalize": "phone", "region": region},
                "user_id": {"normalize": "integer"},
                "cookie_id": {"normalize": "text"},
            },
            "tables": {},
        }
    )


DATAMAP = datamap()


@pytest.mark.parametrize(
    ("kind", "given_value", "expected"),
    [
        ("email", "  Bob.Smith@Example.COM ", "bob.smith@example.com"),
        ("phone", "(201) 555-0123", "+12015550123"),
        ("phone", "+44 7400 123456", "+447400123456"),
        ("phone", "1-201-555-0123", "+12015550123"),
        ("phone", "0049 151 23456789", "+4915123456789"),  # 00 is not the US prefix
        ("phone", "4915123456789", "+4915123456789"),  # a country code without its +
        ("user_id", "0042", "42"),
        ("cookie_id", "c1a2-b3_c4.d5:e6", "c1a2-b3_c4.d5:e6"),
    ],
)
def test_normalize(kind: str, given_value: str, expected: str) -> None:
    assert normalize(DATAMAP, kind, given_value) == expected


@pytest.mark.parametrize(
    "value", ["", "   ", "a" * 300, "x@y.com' --", "1; DELETE FROM users", "a\\b", "a\x00"]
)
def test_refused_values_are_not_echoed(value: str) -> None:
    with pytest.raises(InvalidInput) as err:
        normalize(DATAMAP, "email", value)
    assert value.strip() == "" or value not in str(err.value)


@pytest.mark.parametrize(
    ("given_value", "expected"),
    [
        ("Ana@Shop.TEST", "ana@shop.test"),
        ("ana@example", "ana@example"),
        ("ana@mail.example.com", "ana@mail.example.com"),
        ("ana@shop.invalid", "ana@shop.invalid"),
        ("root@LOCALHOST", "root@localhost"),
        ("dev@app.localhost", "dev@app.localhost"),
        ("printer@office.local", "printer@office.local"),
        ("ana@xn--bcher-kva.example", "ana@bücher.example"),
        ("Ana@Bücher.example", "ana@bücher.example"),
    ],
)
def test_special_use_test_and_idn_domains_are_accepted(given_value: str, expected: str) -> None:
    assert normalize(DATAMAP, "email", given_value) == expected


def test_idn_address_is_looked_up_in_both_forms() -> None:
    wanted = normalize(DATAMAP, "email", "ana@xn--bcher-kva.example")
    assert stored_values(DATAMAP, "email", [wanted]) == [
        "ana@bücher.example",
        "ana@xn--bcher-kva.example",
    ]


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("email", "  O'Brien@Example.org ", "o'brien@example.org"),  # refused in a request
        ("email", "ana..lopez@example.org", "ana..lopez@example.org"),  # the validator refuses
        ("email", "not an address", None),
        ("email", "", None),
        ("email", None, None),
        ("phone", "+1 555 0100", "+15550100"),  # possible, not valid: still its E.164
        ("phone", "ask at the desk", None),
        ("user_id", 7, "7"),
    ],
)
def test_stored_values_are_known_by_their_lax_form(
    kind: str, raw: object, expected: str | None
) -> None:
    assert stored_form(DATAMAP, kind, raw) == expected


# How people and apps write numbers, per country.
WRITTEN = {
    "+12015550123": [
        "(201) 555-0123",
        "(201)555-0123",
        "201-555-0123",
        "201.555.0123",
        "201 555 0123",
        "1-201-555-0123",
        "1 (201) 555-0123",
        "+1 201-555-0123",
        "+1 201 555 0123",
        "+1 (201) 555-0123",
        "+1.201.555.0123",
        "2015550123",
        "12015550123",
    ],
    "+551239235555": [
        "+55 (12) 3923-5555",
        "+55 12 3923-5555",
        "(12) 3923-5555",
        "12 3923-5555",
        "(012) 3923-5555",
        "012 3923 5555",
        "0055 12 3923 5555",
        "551239235555",
    ],
    "+5511987654321": ["(11) 98765-4321", "+55 (11) 98765-4321", "11987654321", "011 98765-4321"],
    "+447400123456": [
        "07400 123456",
        "07400123456",
        "07400-123456",
        "+44 7400 123456",
        "+44 (0)7400 123456",
        "+44 (0) 7400 123456",
        "0044 7400 123456",
        "+447400 123456",
    ],
    "+442079460958": [
        "020 7946 0958",
        "(020) 7946 0958",
        "+44 20 7946 0958",
        "+44 (0)20 7946 0958",
    ],
    "+4915123456789": [
        "0151 23456789",
        "0151/23456789",
        "0151-23456789",
        "(0151) 23456789",
        "01512 3456789",
        "+49 151 23456789",
        "+49 (0)151 23456789",
        "+49 (0) 1512 3456789",
        "0049 151 23456789",
        "0049 1512 3456789",
        "004915123456789",
        "+49-1512-3456789",
    ],
    "+33612345678": [
        "06 12 34 56 78",
        "06.12.34.56.78",
        "06-12-34-56-78",
        "0612345678",
        "+33 6 12 34 56 78",
        "+33 (0)6 12 34 56 78",
        "0033 6 12 34 56 78",
        "+33612345678",
    ],
    "+48512345678": [
        "512 345 678",
        "512-345-678",
        "512345678",
        "+48 512 345 678",
        "+48 512-345-678",
        "0048 512 345 678",
        "48512345678",
    ],
    "+819012345678": ["090-1234-5678", "09012345678", "+81 90-1234-5678"],
    "+919812345678": [
        "098123 45678",
        "09812345678",
        "98123 45678",
        "+91 98123 45678",
        "+91-98123-45678",
        "0091 98123 45678",
    ],
}


@pytest.mark.parametrize("e164", sorted(WRITTEN))
def test_phone_variants_cover_common_writings(e164: str) -> None:
    variants = set(phone_variants(e164))
    assert e164 in variants
    assert [w for w in WRITTEN[e164] if w not in variants] == []


@pytest.mark.parametrize("e164", sorted(WRITTEN))
def test_common_writings_normalize_in_the_numbers_region(e164: str) -> None:
    region = phonenumbers.region_code_for_number(phonenumbers.parse(e164))
    spec = datamap(region)
    assert {w: normalize(spec, "phone", w) for w in WRITTEN[e164]} == dict.fromkeys(
        WRITTEN[e164], e164
    )


@pytest.mark.parametrize("region", ["US", "GB", "DE", "FR", "JP", "IN", "BR", "PL", "ES", "AU"])
@pytest.mark.parametrize("kind", KINDS)
def test_libphonenumber_formats_are_variants(region: str, kind: int) -> None:
    example = phonenumbers.example_number_for_type(region, kind)
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    variants = set(phone_variants(e164))
    for fmt in (
        phonenumbers.PhoneNumberFormat.NATIONAL,
        phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    ):
        assert phonenumbers.format_number(example, fmt) in variants
    assert normalize(DATAMAP, "phone", e164) == e164


def test_fifty_numbers_fit_one_sqlite_statement() -> None:
    """Look-ups send 50 numbers at a time; SQLite allows 32,766 parameters."""
    worst = 0
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in KINDS:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
                worst = max(worst, len(phone_variants(e164)))
    assert 50 * worst < 32_766


def writings(number: phonenumbers.PhoneNumber) -> list[str]:
    """Common ways to write `number`: libphonenumber's formats with other separators,
    00 for +, the area code in parentheses, the trunk prefix in parentheses after +CC."""
    fmt = phonenumbers.PhoneNumberFormat
    national = phonenumbers.format_number(number, fmt.NATIONAL)
    intl = phonenumbers.format_number(number, fmt.INTERNATIONAL)
    code, *groups = re.findall(r"\d+", intl)
    forms = [phonenumbers.format_number(number, fmt.E164), national, intl, "00" + intl[1:]]
    forms += [intl.replace(" ", sep).replace("-", sep) for sep in ("-", ".", "")]
    forms += [national.replace(" ", sep) for sep in ("-", ".", "")]
    if len(groups) > 1:
        forms.append(f"+{code} ({groups[0]}) {' '.join(groups[1:])}")
    if (
        phonenumbers.PhoneMetadata.metadata_for_region(
            phonenumbers.region_code_for_number(number)
        ).national_prefix
        == "0"
    ):
        forms.append(f"+{code} (0){' '.join(groups)}")
    return forms


@st.composite
def valid_numbers(draw: st.DrawFn) -> tuple[str, phonenumbers.PhoneNumber]:
    """A valid number of one of REGIONS: an example number with its last digits redrawn."""
    region = draw(st.sampled_from(REGIONS))
    kind = draw(
        st.sampled_from(
            [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]
        )
    )
    example = phonenumbers.example_number_for_type(region, kind)
    nsn = str(phonenumbers.national_significant_number(example))
    tail = draw(st.text("0123456789", min_size=4, max_size=4))
    candidate = phonenumbers.parse(f"+{example.country_code}{nsn[:-4]}{tail}")
    if not phonenumbers.is_valid_number(candidate):
        candidate = example
    return region, candidate


@settings(max_examples=300, deadline=None)
@given(valid_numbers())
def test_every_common_writing_normalizes_back_and_is_a_variant(
    drawn: tuple[str, phonenumbers.PhoneNumber],
) -> None:
    region, number = drawn
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    spec = datamap(region)
    variants = set(phone_variants(e164))
    for form in writings(number):
        assert normalize(spec, "phone", form) == e164, form
        assert form in variants, form
