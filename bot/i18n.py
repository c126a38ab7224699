"""The bot's messages in English and Arabic.

Messages are looked up by key; a chat's language (set with /language, otherwise the question's)
chooses the text. A key missing in Arabic falls back to English.
"""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "answer_intro": "Here is what I found:",
        "answer_speaker": "According to {speaker}:",
        "no_answer": "I could not find an answer to that in the stored articles.",
        "closest_articles": "The closest articles I have:",
        "empty_store": "No articles are stored yet, so I cannot answer questions. An admin can add some with /add.",
        "more_facts": "More from this article",
        "apology": "Sorry, something went wrong on my side. Please try again in a moment.",
        "rate_limited": "You are asking faster than I can answer. Please wait {seconds} seconds and ask again.",
        "not_admin": "Only the bot's admins can do that.",
        "not_chat_admin": "Only this chat's admins can do that.",
        "added": "Added article #{id}: {title} ({facts} facts).",
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
    },
    "ar": {
        "answer_intro": "إليك ما وجدته:",
        "answer_speaker": "بحسب {speaker}:",
        "no_answer": "لم أجد إجابة عن هذا السؤال في المقالات المخزّنة.",
        "closest_articles": "أقرب المقالات المتوفرة لدي:",
        "empty_store": "لا توجد مقالات مخزّنة بعد، لذا لا أستطيع الإجابة. يمكن للمشرف إضافة مقالات عبر /add.",
        "more_facts": "المزيد من هذا المقال",
        "apology": "عذرًا، حدث خطأ من جهتي. حاول مرة أخرى بعد قليل.",
        "rate_limited": "أنت تسأل أسرع مما أستطيع الإجابة. انتظر {seconds} ثانية ثم اسأل مجددًا.",
        "not_admin": "هذا الأمر متاح لمشرفي البوت فقط.",
        "not_chat_admin": "هذا الأمر متاح لمشرفي هذه المحادثة فقط.",
        "added": "أُضيف المقال #{id}: {title} ({facts} حقيقة).",
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
    },
}


def message(key: str, language: str = "en", **params: object) -> str:
    """The message ``key`` in ``language`` (English when missing), with ``params`` filled in."""
    template = MESSAGES.get(language, {}).get(key) or MESSAGES["en"][key]
    return template.format(**params)
