"""news.extract on the sample article and on small texts written for these tests."""

from __future__ import annotations

import pytest

from news.extract import (
    ExtractedArticle,
    extract_facts,
    find_dates,
    find_entities,
    find_numbers,
    find_speaker,
)
from news.ingest import from_text


@pytest.fixture(scope="module")
def sample(sample_text: str) -> tuple[str, ExtractedArticle]:
    body = from_text(sample_text).body
    return body, extract_facts(body, "ar")


def _all(extracted: ExtractedArticle, field: str) -> set[str]:
    return {value for fact in extracted.facts for value in getattr(fact, field)}


def test_sample_entities(sample: tuple[str, ExtractedArticle]) -> None:
    entities = _all(sample[1], "entities")
    for name in ("DeepSeek-R1", "NVIDIA", "UI-TARS", "OpenAI", "Hugging Face"):
        assert name in entities
    assert "DeepSeek" in sample[1].key_entities


def test_sample_numbers(sample: tuple[str, ExtractedArticle]) -> None:
    numbers = _all(sample[1], "numbers")
    assert "96%" in numbers
    assert any(number.startswith("2000") for number in numbers)


def test_sample_speakers(sample: tuple[str, ExtractedArticle]) -> None:
    speakers = {fact.speaker for fact in sample[1].facts}
    assert "Kaoutar El Maghraoui" in speakers
    assert "Abraham Daniels" in speakers


def test_sample_continued_quote_keeps_its_speaker(sample: tuple[str, ExtractedArticle]) -> None:
    continued = [
        fact for fact in sample[1].facts if fact.is_sentence and fact.text.startswith("ويضيف")
    ]
    assert len(continued) == 1
    assert continued[0].speaker == "Abraham Daniels"
    assert continued[0].kind == "quote"


def test_sample_figure_clause_is_attributed_to_the_company(
    sample: tuple[str, ExtractedArticle],
) -> None:
    clauses = [fact for fact in sample[1].facts if not fact.is_sentence and "96%" in fact.text]
    assert len(clauses) == 1
    clause = clauses[0]
    assert clause.speaker == "الشركة"
    assert "96%" in clause.numbers
    assert clause.kind in ("claim", "quote")
    # The clause belongs to the sentence that carries it, which also states the figure.
    sentence = next(
        fact
        for fact in sample[1].facts
        if fact.is_sentence and fact.sentence_index == clause.sentence_index
    )
    assert clause.text in sentence.text


def test_sample_offsets_point_into_the_body(sample: tuple[str, ExtractedArticle]) -> None:
    body, extracted = sample
    sentences = [fact for fact in extracted.facts if fact.is_sentence]
    assert len(sentences) == len(extracted.sentences) == 17
    for fact in extracted.facts:
        assert body[fact.start : fact.end] == fact.text
    for span, fact in zip(extracted.sentences, sentences, strict=True):
        assert (span.start, span.end, span.text) == (fact.start, fact.end, fact.text)


def test_sample_facts_are_positioned_in_reading_order(sample: tuple[str, ExtractedArticle]) -> None:
    facts = sample[1].facts
    assert [fact.position for fact in facts] == list(range(len(facts)))
    indexes = [fact.sentence_index for fact in facts]
    assert indexes == sorted(indexes)
    assert len(facts) > 17  # long sentences add clause facts


def test_sample_dates_with_arabic_month_names(sample: tuple[str, ExtractedArticle]) -> None:
    dates = _all(sample[1], "dates")
    assert any("فبراير" in date for date in dates)
    assert any("ديسمبر" in date for date in dates)


# --- small texts ---------------------------------------------------------------------------


def test_english_according_to_speaker_and_claim_kind() -> None:
    extracted = extract_facts("Sales rose 12% last year, according to the company.", "en")
    fact = extracted.facts[0]
    assert fact.speaker == "the company"  # as a reply will say it: "According to the company"
    assert fact.kind == "claim"
    assert fact.numbers == ("12%",)


def test_english_said_speaker_and_quote_kind() -> None:
    text = '"We will open ten new stores," Maria Lopez said on Tuesday.'
    fact = extract_facts(text, "en").facts[0]
    assert fact.speaker == "Maria Lopez"
    assert fact.kind == "quote"


@pytest.mark.parametrize(
    ("text", "speaker"),
    [
        (
            "The library cost 1.2 million dollars, according to the city council.",
            "the city council",
        ),
        ("Prices will rise, according to the Bank of England.", "the Bank of England"),
        ("According to Reuters, the deal is done.", "Reuters"),
        (
            '"It works," said Kaoutar El Maghraoui, a research scientist at IBM.',
            "Kaoutar El Maghraoui",
        ),
        ("The company says UI-TARS beats GPT-4o on several benchmarks.", "the company"),
        ("The firm's chief executive said profits doubled.", "the firm's chief executive"),
        ("Smith told Reuters the plan was dead.", "Smith"),
        ("On Monday Reuters said the talks had failed.", "Reuters"),
        ("But Smith said no.", "Smith"),
        # Arabic: the speaker ends where "that", "to" or "in" begins.
        ("وأكد الوزير أن الخطة ناجحة.", "الوزير"),
        ("واكد الوزير ان الخطة ناجحة.", "الوزير"),  # written without hamza
        ("وقالت الشركة في بيان إن المبيعات ارتفعت.", "الشركة"),
        ("وأشار التقرير إلى ارتفاع الأسعار.", "التقرير"),
        ("وقال المتحدث باسم الشركة إن الأرباح ارتفعت.", "المتحدث باسم الشركة"),
        # Present-tense verbs of saying, and diacritics.
        ("وتؤكّد DeepSeek أن استخدام نموذجها أرخص.", "DeepSeek"),
        ("ويشير الباحثون إلى أن النموذج أسرع.", "الباحثون"),
    ],
)
def test_named_speakers(text: str, speaker: str) -> None:
    assert find_speaker(text) == speaker


@pytest.mark.parametrize(
    "text",
    [
        "He said the plan was dead.",
        "The model is said to be fast.",
        "Profits doubled last year.",
        "The report, published on Monday, said prices rose.",  # Monday says when, not who
    ],
)
def test_english_text_without_a_named_speaker(text: str) -> None:
    assert find_speaker(text) is None


def test_arabic_yaqul_speaker() -> None:
    assert find_speaker("يقول Sam Altman: إن النموذج الجديد أسرع.") == "Sam Altman"


def test_arabic_wafqan_li_speaker_restores_elided_alef() -> None:
    assert find_speaker("ارتفعت الأرباح بنسبة 10% وفقًا للحكومة.") == "الحكومة"


def test_reported_speech_without_a_name_has_no_speaker() -> None:
    assert find_speaker("وتقول إنه يعمل بشكل أفضل من المنافسين.") is None


def test_numbers_with_units_and_years() -> None:
    numbers = find_numbers("The firm spent $5 million on 1,200 servers in 2024, up 7.5%.")
    assert "$5 million" in numbers
    assert "1,200 servers" in numbers
    assert "7.5%" in numbers
    assert not any(number.startswith("2024") for number in numbers)  # a bare year is a date
    assert find_numbers("Models such as GPT-4o and DeepSeek-V3") == []


def test_dates_iso_english_and_arabic() -> None:
    assert "2025-01-27" in find_dates("Released on 2025-01-27 to the public.")
    assert any("March" in date for date in find_dates("It launched on 5 March 2024."))
    assert any("يناير" in date for date in find_dates("صدر التقرير في 27 يناير 2025."))


def test_entities_skip_sentence_start_words() -> None:
    entities = find_entities("The OpenAI team met Google engineers in Paris.")
    assert "The OpenAI" not in entities
    assert {"OpenAI", "Google", "Paris"} <= set(entities)


def test_entities_after_arabic_conjunction_waw() -> None:
    entities = find_entities("تعاونت Microsoft وAmazon في مشروع جديد للحوسبة السحابية.")
    assert "Microsoft" in entities
    assert "Amazon" in entities


def test_arabic_speaker_keeps_latin_name_of_construct() -> None:
    speaker = find_speaker("وأوضح مهندسو Tesla أن البطارية الجديدة تدوم عشر سنوات.")
    assert speaker is not None
    assert "Tesla" in speaker


def test_a_quotation_of_several_sentences_keeps_its_speaker_throughout() -> None:
    article = extract_facts('Smith said: "Prices will rise. Wages will not." Markets fell.', "en")
    speakers = [fact.speaker for fact in article.facts if fact.is_sentence]
    assert speakers == ["Smith", "Smith", None]


def test_an_arabic_quotation_of_several_sentences_keeps_its_speaker_throughout() -> None:
    text = "قال الوزير: «سترتفع الأسعار. لن ترتفع الأجور.» وهبطت الأسواق."
    speakers = [fact.speaker for fact in extract_facts(text, "ar").facts if fact.is_sentence]
    assert speakers == ["الوزير", "الوزير", None]


def test_a_quotation_without_a_named_speaker_does_not_borrow_an_earlier_one() -> None:
    text = 'Smith said prices will rise. The report read: "Wages fell. Rents rose." Markets fell.'
    speakers = [fact.speaker for fact in extract_facts(text, "en").facts if fact.is_sentence]
    assert speakers == ["Smith", None, None, None]
