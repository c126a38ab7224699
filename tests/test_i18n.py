"""The message catalogue: counts read as people write them, in English and Arabic."""

from __future__ import annotations

import numpy as np
import pytest

from bot.i18n import COUNTED, MESSAGES, has_message, message, plural_category
from bot.router import user_error_text
from news.errors import UserError


@pytest.mark.parametrize(
    ("count", "english", "arabic"),
    [
        (0, "other", "zero"),
        (1, "one", "one"),
        (2, "other", "two"),
        (3, "other", "few"),
        (10, "other", "few"),
        (11, "other", "many"),
        (99, "other", "many"),
        (100, "other", "other"),
        (103, "other", "few"),
    ],
)
def test_plural_categories(count: int, english: str, arabic: str) -> None:
    assert plural_category("en", count) == english
    assert plural_category("ar", count) == arabic


def test_counted_messages_have_a_form_for_any_count_in_both_languages() -> None:
    for key in COUNTED:
        assert f"{key}.other" in MESSAGES["en"] and f"{key}.one" in MESSAGES["en"]
        assert f"{key}.other" in MESSAGES["ar"]
        assert key not in MESSAGES["en"] and key not in MESSAGES["ar"]  # no uncounted form


def test_digest_headers_agree_with_their_count() -> None:
    assert message("digest_header", "en", count=1) == "News digest: 1 new article"
    assert message("digest_header", "en", count=4) == "News digest: 4 new articles"
    assert message("digest_header", "ar", count=1) == "ملخص الأخبار: مقال جديد واحد"
    assert message("digest_header", "ar", count=2) == "ملخص الأخبار: مقالان جديدان"
    assert message("digest_header", "ar", count=5) == "ملخص الأخبار: 5 مقالات جديدة"
    assert message("digest_header", "ar", count=12) == "ملخص الأخبار: 12 مقالًا جديدًا"
    assert message("digest_header", "ar", count=100) == "ملخص الأخبار: 100 مقال جديد"


def test_an_added_article_with_one_fact_says_fact() -> None:
    assert message("added", "en", id=3, title="T", facts=1) == "Added article #3: T (1 fact)."
    assert message("added", "en", id=3, title="T", facts=7) == "Added article #3: T (7 facts)."
    assert "(7 حقائق)" in message("added", "ar", id=3, title="T", facts=7)
    # Zero facts has no Arabic form of its own: the general one is used.
    assert "(0 حقيقة)" in message("added", "ar", id=3, title="T", facts=0)


def test_a_rate_limit_in_either_language_names_the_wait() -> None:
    one = UserError("rate limited", key="rate_limited", seconds=1)
    many = UserError("rate limited", key="rate_limited", seconds=5)
    assert "Please wait a second and ask again" in user_error_text(one, "en")
    assert "Please wait 5 seconds and ask again" in user_error_text(many, "en")
    assert "انتظر ثانية ثم" in user_error_text(one, "ar")
    assert "انتظر 5 ثوانٍ ثم" in user_error_text(many, "ar")
    assert has_message("rate_limited", "ar") and not has_message("no_such_key", "en")


def test_an_error_without_a_catalogue_entry_shows_its_own_text() -> None:
    error = UserError("Plain words.", key="not_in_catalogue")
    assert user_error_text(error, "ar") == "Plain words."


def test_a_count_that_is_not_a_whole_number_is_refused_by_name() -> None:
    assert message("added", "en", id=3, title="T", facts=np.int64(2)).endswith("(2 facts).")
    with pytest.raises(TypeError, match="'added'"):
        message("added", "en", id=3, title="T", facts="2")
    with pytest.raises(TypeError, match="'digest_header'"):
        message("digest_header", "ar", count=2.0)
