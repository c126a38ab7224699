"""news.text: normalisation, language detection, stemming, sentences and clauses."""

from __future__ import annotations

import pytest

from news.ingest import from_text
from news.text import (
    Language,
    Span,
    detect_language,
    index_terms,
    normalize,
    normalize_arabic,
    split_clauses,
    split_sentences,
    stem,
    strip_invisible,
)

# --- Arabic normalisation --------------------------------------------------------------------


def test_normalize_arabic_removes_diacritics() -> None:
    assert normalize_arabic("العَرَبِيَّةُ") == "العربية"
    assert normalize_arabic("كَتَبَ") == "كتب"


def test_normalize_arabic_removes_tatweel() -> None:
    assert normalize_arabic("كتـــاب") == "كتاب"


def test_normalize_arabic_unifies_alef_forms() -> None:
    assert normalize_arabic("أحمد إسلام آمن ٱلله") == "احمد اسلام امن الله"


def test_normalize_keeps_taa_marbuta_and_alef_maqsura_before_stemming() -> None:
    # Folding ة/ى before the Snowball stemmer would hide the feminine and definite endings.
    assert normalize("مدرسة") == "مدرسة"
    assert normalize("مستشفى") == "مستشفى"


def test_stem_folds_taa_marbuta_after_stemming() -> None:
    # The definite feminine form loses both article and ending, as the indefinite one does...
    assert stem(normalize("الشركة")) == stem(normalize("شركة"))
    assert stem(normalize("المدرسة")) == stem(normalize("مدرسة"))
    # ...and a ة the stemmer leaves in place is folded afterwards, so no stem keeps it.
    assert stem("قطة") == "قطه"
    assert "ى" not in stem("مستشفى")


def test_normalize_digits_case_and_invisible_characters() -> None:
    assert normalize("\u2067DeepSeek\u2069 ١٢٣") == "deepseek 123"
    assert strip_invisible("a\u200bb\ufeffc") == "abc"


# --- language detection ----------------------------------------------------------------------


def test_detect_language_arabic() -> None:
    assert detect_language("قال الرئيس إن الاقتصاد ينمو بسرعة هذا العام") == "ar"


def test_detect_language_english() -> None:
    assert detect_language("The central bank raised interest rates on Thursday.") == "en"


def test_detect_language_arabic_with_latin_names() -> None:
    text = "أعلنت شركة OpenAI عن نموذج GPT-4o الجديد بالتعاون مع Microsoft اليوم"
    assert detect_language(text) == "ar"


def test_detect_language_text_without_letters_defaults_to_english() -> None:
    assert detect_language("12345 !!!") == "en"


# --- sentences ---------------------------------------------------------------------------------


def test_split_sentences_sample_has_17_sentences(sample_text: str) -> None:
    draft = from_text(sample_text)
    assert not draft.body.startswith("date")
    sentences = split_sentences(draft.body, "ar")
    assert len(sentences) == 17
    for sentence in sentences:
        assert draft.body[sentence.start : sentence.end] == sentence.text


def _sentence_texts(text: str, language: Language) -> list[str]:
    """The sentences' texts, once each sentence's offsets are checked against ``text``."""
    sentences = split_sentences(text, language)
    for span in sentences:
        assert text[span.start : span.end] == span.text
    return [span.text for span in sentences]


def test_split_sentences_english_abbreviations() -> None:
    text = "Dr. Smith met Mr. Jones in the U.S. on Monday. They talked."
    sentences = _sentence_texts(text, "en")
    assert sentences == ["Dr. Smith met Mr. Jones in the U.S. on Monday.", "They talked."]


def test_split_sentences_keeps_decimals() -> None:
    text = "Prices rose 3.5 percent in May. They fell in June."
    sentences = _sentence_texts(text, "en")
    assert sentences == ["Prices rose 3.5 percent in May.", "They fell in June."]


def test_split_sentences_after_may_the_month() -> None:
    text = "The law takes effect in May. Critics say it is rushed. It may. Or not."
    sentences = _sentence_texts(text, "en")
    assert sentences == [
        "The law takes effect in May.",
        "Critics say it is rushed.",
        "It may.",
        "Or not.",
    ]


def test_split_sentences_keeps_a_closing_bracket_with_its_sentence() -> None:
    text = "Each crew flew on a Saturn IB.) The crew positions had titles."
    sentences = _sentence_texts(text, "en")
    assert sentences == ["Each crew flew on a Saturn IB.)", "The crew positions had titles."]
    assert _sentence_texts("(It was not used.)", "en") == ["(It was not used.)"]


def test_split_sentences_arabic_punctuation() -> None:
    text = "هل ارتفعت الأسعار؟ نعم، ارتفعت كثيرا. وماذا بعد!"
    sentences = _sentence_texts(text, "ar")
    assert sentences == ["هل ارتفعت الأسعار؟", "نعم، ارتفعت كثيرا.", "وماذا بعد!"]


def test_split_sentences_heading_paragraph_is_its_own_sentence() -> None:
    text = "Markets today\n\nStocks fell sharply on Friday. Bonds rose."
    assert _sentence_texts(text, "en") == [
        "Markets today",
        "Stocks fell sharply on Friday.",
        "Bonds rose.",
    ]


def test_split_sentences_splits_a_quoted_passage_into_its_sentences() -> None:
    text = 'The minister said: "Prices will rise. Wages will not. We are ready." Markets fell.'
    assert _sentence_texts(text, "en") == [
        'The minister said: "Prices will rise.',
        "Wages will not.",
        'We are ready."',
        "Markets fell.",
    ]


def test_split_sentences_keeps_a_short_quotation_inside_its_sentence() -> None:
    text = 'He shouted "Stop!" and ran. The sign said "No Entry." Drivers ignored it.'
    sentences = _sentence_texts(text, "en")
    assert sentences == [
        'He shouted "Stop!" and ran.',
        'The sign said "No Entry."',
        "Drivers ignored it.",
    ]


def test_split_sentences_an_unclosed_quotation_mark_does_not_swallow_the_paragraph() -> None:
    # The backtick opens a quotation that a typographic apostrophe closes: sentencex alone
    # pairs neither and keeps everything up to the next straight quote as one sentence.
    text = (
        "He explained how to prepare the `simples\u2019 used in drugs. Sahl wrote the first"
        " pharmacopoeia. His works were printed as 'Mesue' in Latin."
    )
    sentences = _sentence_texts(text, "en")
    assert sentences == [
        "He explained how to prepare the `simples\u2019 used in drugs.",
        "Sahl wrote the first pharmacopoeia.",
        "His works were printed as 'Mesue' in Latin.",
    ]


def test_split_sentences_splits_an_arabic_quotation() -> None:
    text = "قال الوزير: «سترتفع الأسعار. لن ترتفع الأجور.» وهبطت الأسواق."
    sentences = _sentence_texts(text, "ar")
    assert sentences == ["قال الوزير: «سترتفع الأسعار.", "لن ترتفع الأجور.»", "وهبطت الأسواق."]


# --- clauses -----------------------------------------------------------------------------------


def _key_sentence(sample_text: str) -> tuple[str, Span]:
    body = from_text(sample_text).body
    matches = [span for span in split_sentences(body, "ar") if "96%" in span.text]
    assert len(matches) == 1
    return body, matches[0]


def test_split_clauses_splits_the_key_sentence(sample_text: str) -> None:
    body, sentence = _key_sentence(sample_text)
    clauses = split_clauses(sentence)
    assert len(clauses) >= 3
    with_figure = [clause for clause in clauses if "96%" in clause.text]
    assert len(with_figure) == 1
    assert "وفقًا للشركة" in with_figure[0].text
    for clause in clauses:
        assert body[clause.start : clause.end] == clause.text
        assert sentence.start <= clause.start < clause.end <= sentence.end


def test_split_clauses_single_clause_sentence_gives_nothing() -> None:
    text = "The bridge reopened on Monday."
    assert split_clauses(Span(text, 0, len(text))) == []


def test_split_clauses_english_conjunction() -> None:
    text = "The company raised prices by ten percent, while its rivals kept theirs unchanged."
    clauses = split_clauses(Span(text, 10, 10 + len(text)))
    assert [clause.text for clause in clauses] == [
        "The company raised prices by ten percent",
        "while its rivals kept theirs unchanged.",
    ]
    assert clauses[0].start == 10


# --- index terms -------------------------------------------------------------------------------


def test_index_terms_stems_and_drops_english_stopwords() -> None:
    assert index_terms("The companies are training their models") == ["compani", "train", "model"]


def test_index_terms_stems_and_drops_arabic_stopwords() -> None:
    terms = index_terms("المدرسة الكبيرة في المدينة")
    assert "في" not in terms
    assert terms == [stem("مدرسة"), stem("كبيرة"), stem("مدينة")]
    assert all("ة" not in term for term in terms)


def test_index_terms_keep_stopwords_when_asked() -> None:
    assert "the" in index_terms("the bridge", keep_stopwords=True)


def test_index_terms_hyphenated_names_whole_and_by_part() -> None:
    terms = index_terms("DeepSeek-R1 model")
    assert "deepseek-r1" in terms
    assert "deepseek" in terms
    assert "r1" in terms


@pytest.mark.parametrize("text", ["", "   ", "!!! ???", "\u2067\u2069"])
def test_index_terms_of_text_without_words_is_empty(text: str) -> None:
    assert index_terms(text) == []
