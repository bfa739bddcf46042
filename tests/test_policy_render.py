"""Policy render: the notice in Markdown and HTML says what the policy says, safely."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from troth.policy import load_policy
from troth.policy.model import Organization, Policy, VaguePeriod
from troth.policy.render import render, render_html_fragment

BASE = load_policy(Path(__file__).with_name("test_policy_full.yaml"))
SECTIONS = [
    "Who we are",
    "What we collect",
    "How we use your data",
    "Who we share it with",
    "How long we keep it",
    "Your rights",
    "Children",
    "Security",
    "Changes to this notice",
    "Contact us",
]
VOID = {"meta", "br", "hr", "img", "input", "link"}


class Tags(HTMLParser):
    """Checks that every element closes in order; collects tags and attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.seen: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append((tag, dict(attrs)))
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open.pop() == tag


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    tags.close()
    assert tags.open == []
    return tags


def test_markdown_has_every_section_in_order() -> None:
    md = render(BASE, "md")
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings == [f"## {i}. {title}" for i, title in enumerate(SECTIONS, 1)]
    assert md.startswith(
        "# Storybox Privacy Policy\n\n_Storybox · version 3 · effective 2026-03-01_"
    )


def test_markdown_says_what_the_policy_says() -> None:
    md = render(BASE, "md")
    for sentence in (
        "Storybox (Storybox Ltd) decides how and why your personal data is processed",
        "| User Contact Email, Name | Customer | You provide it | Required | Needed to open",
        "| From third parties: App stores that process payments |",
        "| Our legitimate interests: Keeping accounts and payments safe. |",
        "| Required (opt-in); you can withdraw it at any time |",
        "| Advertising partners | advertising partner | a keyed pseudonym instead of your identity"
        " | Cookie ID | Personalised advertising |",
        "We transfer personal data to United States. Safeguard: standard contractual clauses.",
        "You can opt out of them at any time.",
        "- User Contact Email, Name, Recorded stories: deleted or anonymized 30 days after account"
        " deletion. Kept longer where: the law requires us to keep it. Backup copies may remain"
        " for up to 35 more days.",
        "- Device Data: deleted 90 days after collection.",
        "- Purchase History: kept as long as the law requires. Tax law requires us",
        "- You can have your data deleted. Ask by e-mail to privacy@storybox.example or on our "
        "website. We answer within 30 days. We first confirm your identity with a one-time code",
        "We answer requests within 30 days (GDPR), 45 days (CCPA).",
        "We will not treat you differently for exercising any of these rights.",
        "supervisory authority: [Data Protection Commission](<https://www.dataprotection.ie>).",
        "Our services are not directed to children under 13.",
        "Only people aged 18 or over may make purchases.",
        "- Encryption in transit and at rest",
        "We announce changes by e-mail, in the app.",
        "A new version applies to existing users 30 days after it is posted.",
        "- **E-mail:** [privacy@storybox.example](<mailto:privacy@storybox.example>)",
        "- **Data protection officer:** Dana Officer [dpo@storybox.example]",
        "We do not make decisions based solely on automated processing.",
    ):
        assert sentence in md, sentence


def test_vague_retention_is_stated_honestly() -> None:
    rules = [
        BASE.retention[0].model_copy(
            update={"period_days": None, "period": VaguePeriod.unspecified}
        ),
        BASE.retention[1].model_copy(
            update={"period_days": None, "period": VaguePeriod.as_long_as_necessary}
        ),
    ]
    md = render(BASE.model_copy(update={"retention": rules}), "md")
    assert "deleted or anonymized after account deletion; no period is stated." in md
    assert "- Device Data: kept as long as necessary (no period stated)." in md


def test_markdown_escapes_markup_in_values() -> None:
    org = Organization(name="*Acme* [corp](http://x) | co")
    md = render(BASE.model_copy(update={"organization": org}), "md")
    assert r"\*Acme\* \[corp\](http://x) \| co is responsible" in md


def test_html_page_is_well_formed_and_accessible() -> None:
    html = render(BASE, "html")
    assert html.startswith('<!doctype html>\n<html lang="en">')
    tags = parse(html)
    names = [tag for tag, _ in tags.seen]
    assert "script" not in names and names.count("style") == 1
    assert names.count("section") == len(SECTIONS) and "main" in names and "nav" in names
    ids = {attrs["id"] for _, attrs in tags.seen if "id" in attrs}
    for tag, attrs in tags.seen:
        if tag == "section":
            assert attrs["aria-labelledby"] in ids
        if tag == "th":
            assert attrs["scope"] in ("col", "row")
        if tag == "a" and (attrs.get("href") or "").startswith("#"):
            assert (attrs["href"] or "")[1:] in ids
    assert '<a href="mailto:privacy@storybox.example">privacy@storybox.example</a>' in html


def test_html_escapes_values_and_links_only_web_addresses() -> None:
    org = Organization(name="<script>alert(1)</script>", website="javascript:alert(1)")
    html = render(BASE.model_copy(update={"organization": org}), "html")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript' not in html
    parse(html)


def test_fragment_embeds_without_page_chrome() -> None:
    fragment = render_html_fragment(BASE)
    assert fragment.lstrip().startswith('<article class="troth-notice" lang="en">')
    assert "<html" not in fragment and "<style" not in fragment
    assert fragment.strip() in render(BASE, "html")
    parse(fragment)


def test_sparse_policy_says_what_is_missing() -> None:
    policy = Policy.model_validate(
        {"policy": {"name": "Tiny", "version": "1"}, "organization": {"name": "Tiny"}}
    )
    md = render(policy, "md")
    for sentence in (
        "_Tiny · version 1 · no effective date stated_",
        "This notice does not list the personal data collected.",
        "This notice names no recipients of personal data.",
        "This notice does not say how long personal data is kept.",
        "This notice sets no age limit.",
        "This notice gives no contact details.",
    ):
        assert sentence in md, sentence


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown format 'pdf'"):
        render(BASE, "pdf")  # type: ignore[arg-type]
