"""Identity values: normalization, refusal of malformed input, phone variants."""

from __future__ import annotations

import phonenumbers
import pytest

from troth.datamap.model import DataMap
from troth.errors import InvalidInput
from troth.rights.identities import normalize, phone_variants

DATAMAP = DataMap.model_validate(
    {
        "stores": {"app": {"type": "sql", "url": "sqlite:///x.db"}},
        "identities": {
            "email": {"normalize": "email"},
            "phone": {"normalize": "phone", "region": "US"},
            "user_id": {"normalize": "integer"},
            "cookie_id": {"normalize": "text"},
        },
        "tables": {},
    }
)


@pytest.mark.parametrize(
    ("kind", "given_value", "expected"),
    [
        ("email", "  Bob.Smith@Example.COM ", "bob.smith@example.com"),
        ("phone", "(201) 555-0123", "+12015550123"),
        ("phone", "+44 7400 123456", "+447400123456"),
        ("phone", "1-201-555-0123", "+12015550123"),
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


# How people and apps write numbers, per country (the reference app uses these too).
WRITTEN = {
    "+12015550123": [
        "(201) 555-0123",
        "201-555-0123",
        "201.555.0123",
        "201 555 0123",
        "1-201-555-0123",
        "+1 201-555-0123",
        "+1 201 555 0123",
        "2015550123",
    ],
    "+447400123456": ["07400 123456", "07400123456", "07400-123456", "+44 7400 123456"],
    "+4915123456789": ["0151 23456789", "0151/23456789", "0151-23456789", "+49 151 23456789"],
    "+33612345678": ["06 12 34 56 78", "06.12.34.56.78", "0612345678", "+33 6 12 34 56 78"],
    "+48512345678": ["512 345 678", "512-345-678", "512345678", "+48 512 345 678"],
    "+819012345678": ["090-1234-5678", "09012345678", "+81 90-1234-5678"],
    "+919812345678": ["098123 45678", "09812345678", "98123 45678", "+91 98123 45678"],
}


@pytest.mark.parametrize("e164", sorted(WRITTEN))
def test_phone_variants_cover_common_writings(e164: str) -> None:
    variants = set(phone_variants(e164))
    assert e164 in variants
    assert [w for w in WRITTEN[e164] if w not in variants] == []


@pytest.mark.parametrize("region", ["US", "GB", "DE", "FR", "JP", "IN", "BR", "PL", "ES", "AU"])
@pytest.mark.parametrize(
    "kind", [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]
)
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
