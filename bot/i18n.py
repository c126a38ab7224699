"""The bot's messages in English and Arabic.

Messages are looked up by key; a chat's language (set with /language, otherwise the question's)
chooses the text. A key missing in Arabic falls back to English.
"""

from __future__ import annotations

import operator
from typing import SupportsIndex

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "answer_intro": "Here is what I found:",
        "answer_speaker": "According to {speaker}:",
        "answer_also": "The same article also says:",
        "no_answer": "I could not find an answer to that in the stored articles.",
        "closest_articles": "The closest articles I have:",
        "empty_store": "No articles are stored yet, so I cannot answer questions. An admin can add some with /add.",
        "more_facts": "More from this article",
        "apology": "Sorry, something went wrong on my side. Please try again in a moment.",
        "rate_limited.one": "You are asking faster than I can answer. Please wait a second and ask again.",
        "rate_limited.other": "You are asking faster than I can answer. Please wait {seconds} seconds and ask again.",
        "not_admin": "Only the bot's admins can do that.",
        "not_chat_admin": "Only this chat's admins can do that.",
        "added.one": "Added article #{id}: {title} (1 fact).",
        "added.other": "Added article #{id}: {title} ({facts} facts).",
        "already_present": "That article is already stored as #{id}: {title}.",
        "removed": "Removed article #{id}.",
        "no_such_article": "There is no article #{id}.",
        "articles_header": "Articles {first}–{last} of {total}:",
        "no_articles": "No articles are stored yet.",
        "language_set": "This chat's language is now English.",
        "unknown_command": "I do not know the command /{command}. Send /help to see what I can do.",
        "usage_ask": "Ask me a question after /ask, for example: /ask what did DeepSeek claim about cost?",
        "usage_add": "Send /add with the article's text, a link, or an attached .txt, .md or .html file (or reply /add to a message).",
        "usage_remove": "Send /remove with an article number, for example /remove 3.",
        "usage_article": "Send /article with an article number, for example /article 3.",
        "usage_language": "Send /language ar or /language en.",
        "start": "Hello! I answer questions about the news articles I have stored, in English or Arabic, and quote the fact that answers with its source.",
        "help_header": "What you can do:",
        "help_ask": "/ask QUESTION — ask about the stored news (or just write to me in a private chat)",
        "help_articles": "/articles — recent articles; /article ID — one article's key facts",
        "help_language": "/language ar|en — the language I answer in here",
        "help_help": "/help — this message",
        "help_add": "/add TEXT|URL|file — add an article (admins)",
        "help_remove": "/remove ID — remove an article (admins)",
        "article_header": "Article #{id}",
        "article_facts": "Key facts:",
        "help_subscribe": "/subscribe [daily HH:MM | weekly DAY HH:MM | every N hours] [TIMEZONE] [keywords] — digests of new articles here (chat admins)",
        "help_unsubscribe": "/unsubscribe [ID] — stop a digest (chat admins)",
        "help_subscriptions": "/subscriptions — this chat's digests; /digest — preview the next one",
        "subscribed": "Subscribed (#{id}): {schedule}, {timezone}{keywords}. Next digest: {next_run}.",
        "resubscribed": "Digest #{id} is active again: {schedule}, {timezone}{keywords}. Next digest: {next_run}.",
        "keywords_suffix": ", about: {keywords}",
        "unsubscribed": "Digest #{id} stopped.",
        "no_subscriptions": "This chat has no digests. Start one with /subscribe, e.g. /subscribe daily 08:00 Africa/Cairo",
        "which_subscription": "This chat has several digests; send /unsubscribe with the number of the one to stop:",
        "no_such_subscription": "This chat has no digest #{id}.",
        "subscriptions_header": "Digests in this chat:",
        "subscription_line": "#{id}: {schedule}, {timezone}{keywords} — next {next_run}{paused}",
        "paused_suffix": " (paused: {reason}; send /subscribe here to resume)",
        "digest_header.one": "News digest: 1 new article",
        "digest_header.other": "News digest: {count} new articles",
        "digest_nothing": "Nothing new since the last digest.",
        "digest_read_more": "More: /article {id}",
        "digest_preview_none": "No new articles for the next digest yet.",
        "menu_subscribe": "Subscribe this chat to news digests",
        "menu_unsubscribe": "Stop a digest",
        "menu_subscriptions": "This chat's digests",
        "menu_digest": "Preview the next digest",
        "admin_paused": "Digest #{id} for {platform} chat {chat} is paused: {reason}. It resumes when /subscribe is sent there again.",
    },
    "ar": {
        "answer_intro": "إليك ما وجدته:",
        "answer_speaker": "بحسب {speaker}:",
        "answer_also": "ويقول المقال نفسه أيضًا:",
        "no_answer": "لم أجد إجابة عن هذا السؤال في المقالات المخزّنة.",
        "closest_articles": "أقرب المقالات المتوفرة لدي:",
        "empty_store": "لا توجد مقالات مخزّنة بعد، لذا لا أستطيع الإجابة. يمكن للمشرف إضافة مقالات عبر /add.",
        "more_facts": "المزيد من هذا المقال",
        "apology": "عذرًا، حدث خطأ من جهتي. حاول مرة أخرى بعد قليل.",
        "rate_limited.one": "أنت تسأل أسرع مما أستطيع الإجابة. انتظر ثانية ثم اسأل مجددًا.",
        "rate_limited.two": "أنت تسأل أسرع مما أستطيع الإجابة. انتظر ثانيتين ثم اسأل مجددًا.",
        "rate_limited.few": "أنت تسأل أسرع مما أستطيع الإجابة. انتظر {seconds} ثوانٍ ثم اسأل مجددًا.",
        "rate_limited.other": "أنت تسأل أسرع مما أستطيع الإجابة. انتظر {seconds} ثانية ثم اسأل مجددًا.",
        "not_admin": "هذا الأمر متاح لمشرفي البوت فقط.",
        "not_chat_admin": "هذا الأمر متاح لمشرفي هذه المحادثة فقط.",
        "added.one": "أُضيف المقال #{id}: {title} (حقيقة واحدة).",
        "added.two": "أُضيف المقال #{id}: {title} (حقيقتان).",
        "added.few": "أُضيف المقال #{id}: {title} ({facts} حقائق).",
        "added.other": "أُضيف المقال #{id}: {title} ({facts} حقيقة).",
        "already_present": "هذا المقال مخزّن من قبل برقم #{id}: {title}.",
        "removed": "حُذف المقال #{id}.",
        "no_such_article": "لا يوجد مقال برقم #{id}.",
        "articles_header": "المقالات {first}–{last} من {total}:",
        "no_articles": "لا توجد مقالات مخزّنة بعد.",
        "language_set": "لغة هذه المحادثة الآن العربية.",
        "unknown_command": "لا أعرف الأمر /{command}. أرسل /help لترى ما يمكنني فعله.",
        "usage_ask": "اكتب سؤالك بعد /ask، مثلًا: /ask ما هو ترخيص DeepSeek-R1؟",
        "start": "مرحبًا! أجيب عن الأسئلة حول المقالات الإخبارية المخزّنة لدي، بالعربية أو الإنجليزية، وأقتبس الحقيقة التي تجيب مع مصدرها.",
        "help_header": "ما يمكنك فعله:",
        "help_ask": "/ask سؤال — اسأل عن الأخبار المخزّنة (أو راسلني مباشرة في محادثة خاصة)",
        "help_articles": "/articles — أحدث المقالات؛ /article رقم — أهم حقائق مقال",
        "help_language": "/language ar|en — لغة إجاباتي هنا",
        "help_help": "/help — هذه الرسالة",
        "help_add": "/add نص|رابط|ملف — إضافة مقال (للمشرفين)",
        "help_remove": "/remove رقم — حذف مقال (للمشرفين)",
        "article_header": "المقال #{id}",
        "article_facts": "أهم الحقائق:",
        "help_subscribe": "/subscribe [daily HH:MM | weekly DAY HH:MM | every N hours] [المنطقة الزمنية] [كلمات] — ملخصات المقالات الجديدة هنا (لمشرفي المحادثة)",
        "help_unsubscribe": "/unsubscribe [رقم] — إيقاف ملخص (لمشرفي المحادثة)",
        "help_subscriptions": "/subscriptions — ملخصات هذه المحادثة؛ /digest — معاينة الملخص القادم",
        "subscribed": "تم الاشتراك (#{id}): {schedule}، {timezone}{keywords}. الملخص القادم: {next_run}.",
        "resubscribed": "عاد الملخص #{id} إلى العمل: {schedule}، {timezone}{keywords}. الملخص القادم: {next_run}.",
        "keywords_suffix": "، حول: {keywords}",
        "unsubscribed": "أُوقف الملخص #{id}.",
        "no_subscriptions": "لا توجد ملخصات في هذه المحادثة. ابدأ واحدًا عبر /subscribe، مثلًا: /subscribe daily 08:00 Africa/Cairo",
        "which_subscription": "في هذه المحادثة عدة ملخصات؛ أرسل /unsubscribe مع رقم الملخص المراد إيقافه:",
        "no_such_subscription": "لا يوجد في هذه المحادثة ملخص برقم #{id}.",
        "subscriptions_header": "الملخصات في هذه المحادثة:",
        "subscription_line": "#{id}: {schedule}، {timezone}{keywords} — القادم {next_run}{paused}",
        "paused_suffix": " (متوقف: {reason}؛ أرسل /subscribe هنا لاستئنافه)",
        "digest_header.one": "ملخص الأخبار: مقال جديد واحد",
        "digest_header.two": "ملخص الأخبار: مقالان جديدان",
        "digest_header.few": "ملخص الأخبار: {count} مقالات جديدة",
        "digest_header.many": "ملخص الأخبار: {count} مقالًا جديدًا",
        "digest_header.other": "ملخص الأخبار: {count} مقال جديد",
        "digest_nothing": "لا جديد منذ الملخص الأخير.",
        "digest_read_more": "المزيد: /article {id}",
        "digest_preview_none": "لا مقالات جديدة للملخص القادم بعد.",
        "menu_subscribe": "اشترك في ملخصات الأخبار هنا",
        "menu_unsubscribe": "إيقاف ملخص",
        "menu_subscriptions": "ملخصات هذه المحادثة",
        "menu_digest": "معاينة الملخص القادم",
    },
}


# Messages that carry a count, and the parameter that holds it. Each has a form per plural
# category its language needs ("added.one", "added.other"; Arabic also "two", "few" and
# "many"); a category without its own form takes the "other" one.
COUNTED = {"added": "facts", "digest_header": "count", "rate_limited": "seconds"}


def plural_category(language: str, count: int) -> str:
    """The CLDR plural category of ``count`` in ``language`` (Arabic or English)."""
    if language != "ar":
        return "one" if count == 1 else "other"
    if count in (0, 1, 2):
        return ("zero", "one", "two")[count]
    if 3 <= count % 100 <= 10:
        return "few"
    return "many" if 11 <= count % 100 <= 99 else "other"


def has_message(key: str, language: str) -> bool:
    """Whether the catalogue holds ``key`` in ``language`` (in any of its plural forms)."""
    forms = MESSAGES.get(language, {})
    return key in forms or f"{key}.other" in forms


def message(key: str, language: str = "en", **params: object) -> str:
    """The message ``key`` in ``language`` (English when missing), with ``params`` filled in."""
    if key in COUNTED:
        return _counted_template(key, language, params[COUNTED[key]]).format(**params)
    template = MESSAGES.get(language, {}).get(key) or MESSAGES["en"][key]
    return template.format(**params)


def _counted_template(key: str, language: str, count: object) -> str:
    """The form of ``key`` for ``count`` in ``language`` (English when it has none)."""
    if language not in MESSAGES or f"{key}.other" not in MESSAGES[language]:
        language = "en"
    if not isinstance(count, SupportsIndex):  # the parameters are untyped: say which one is wrong
        raise TypeError(f"the count of {key!r} must be a whole number, not {count!r}")
    forms = MESSAGES[language]
    category = plural_category(language, operator.index(count))
    return forms.get(f"{key}.{category}") or forms[f"{key}.other"]
