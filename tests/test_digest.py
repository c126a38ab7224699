"""Scheduled digests end to end: subscriptions, schedules across DST changes, the outbox.

Everything is real: a SQLite file in ``tmp_path`` (a copy of a store built once per module, since
encoding an article costs seconds), the encoders, the router and handlers, DigestScheduler and
DeliveryWorker, python-telegram-bot and discord.py talking to the fake platforms on 127.0.0.1.
Time is the only thing injected: the scheduler takes a clock, and the tests move it.

"Nothing more was sent" is checked after ``DeliveryWorker.drain()`` has returned, which is when
the outbox holds nothing the worker could still send; no test waits a fixed time or measures one.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from bot.adapters.discord import DiscordAdapter
from bot.adapters.telegram import TelegramAdapter
from bot.config import Settings
from bot.delivery import DeliveryWorker
from bot.render import DISCORD_LIMIT, render_discord, render_plain, render_telegram
from bot.router import Dispatcher, with_admin_flags
from bot.scheduler import DigestScheduler
from bot.types import Conversation, Incoming, Reply, User, reply_to_json
from handlers import build_router
from news.ingest import from_text
from news.knowledge import Knowledge
from storage import deliveries
from storage import subscriptions as subscription_store
from storage.db import Database

from .fakes.discord_api import DEFAULT_CHANNEL_ID, FAKE_TOKEN, FakeDiscord
from .fakes.telegram_api import FakeTelegramAPI

# --------------------------------------------------------------------------- articles

# Written for these tests. Long enough that a four-article digest fits one Telegram message
# (4096) but needs two Discord messages (2000), so splitting on article boundaries is exercised.
BRIDGE = (
    "title: Harbor Bridge reopens after repairs\n"
    "source: City Times\n"
    "date: 2025-03-03\n\n"
    "The city of Port Elwood reopened the Harbor Bridge on Monday after eight months of repairs "
    "that closed both lanes and sent commuters on a forty minute detour through the industrial "
    "district. The repairs cost 42 million dollars, according to mayor Dana Whitfield, who said "
    "the council had approved the budget after engineers found corrosion in the main cables. "
    "Engineers replaced 120 steel cables and repainted the towers with a coating that the "
    "contractor, Northline Engineering, says should last for at least thirty years."
)
ORCHARD = (
    "title: Valley orchards expect a record apple harvest\n"
    "source: Farm Weekly\n"
    "date: 2025-03-04\n\n"
    "Growers in the Greenfield valley expect to pick 85,000 tonnes of apples this autumn, a "
    "record that beats the previous high of 71,000 tonnes set six years ago by a wide margin. "
    "The cooperative's chairman, Omar Haddad, said the mild spring protected the blossoms and "
    "that the cooperative would hire 400 seasonal workers to bring in the harvest on time. "
    "Prices are expected to fall by about 12 percent because of the large supply, according to "
    "the regional agriculture office, which publishes its forecast every March."
)
FERRY = (
    "title: Night ferries added between Arlow and Bexmoor\n"
    "source: Coastal Post\n"
    "date: 2025-03-05\n\n"
    "The Northern Ferry Company added four night crossings between Arlow and Bexmoor in May, "
    "the first overnight service on the route since the old terminal closed in 2009. "
    "Tickets for the night crossings cost 18 euros, and the company's director, Ines Varga, "
    "said she expected about 600 passengers a night during the summer season. "
    "The port authority of Bexmoor said it would keep the passenger terminal open until two in "
    "the morning and add 150 parking spaces next to the quay for night travellers."
)
OBSERVATORY = (
    "title: Mountain observatory receives a new telescope\n"
    "source: Science Desk\n"
    "date: 2025-03-06\n\n"
    "The Karsten Peak observatory installed a 4 metre telescope on Thursday, the largest "
    "instrument ever built for the site and the result of a decade of fundraising by the "
    "university. The telescope cost 65 million euros, according to the observatory's director, "
    "Lena Moravec, who said the first images would be released to the public in September. "
    "Astronomers from 14 countries have already asked for observing time, and the university "
    "said it would reserve a fifth of the nights for students and visiting researchers."
)
LATE_NEWS = (
    "title: Tram line to the airport approved\n"
    "source: City Times\n\n"
    "The Port Elwood council approved a 9 kilometre tram line to the airport on Saturday. "
    "The line will cost 210 million dollars, said transport chief Marta Ilves."
)
TITLES = [
    "Harbor Bridge reopens after repairs",
    "Valley orchards expect a record apple harvest",
    "Night ferries added between Arlow and Bexmoor",
    "Mountain observatory receives a new telescope",
]
LATE_TITLE = "Tram line to the airport approved"

# --------------------------------------------------------------------------- people and chats

TOKEN = "123:ABC"
BOT_ADMIN = 42  # in NEWSBOT_ADMINS; its private chat is where pauses are reported
GROUP_ADMIN = 77  # administers GROUP (the fake answers getChatMember accordingly)
MEMBER = 78  # a plain member of GROUP
GROUP = -1001234567890
WAIT = 30.0  # generous upper bound for a reply to arrive; never a measured duration
OLD_PERIOD = "2025-01-01"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


class Clock:
    """The scheduler's injected clock: the test moves ``now``."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the four articles, built once per module (adding costs seconds)."""
    path = tmp_path_factory.mktemp("digest_store") / "store.db"

    async def build() -> None:
        async with Database(path) as db:
            knowledge = Knowledge(db)
            for text in (BRIDGE, ORCHARD, FERRY, OBSERVATORY):
                result = await knowledge.add(from_text(text), added_by="tests")
                assert result.created

    asyncio.run(build())
    return path


def copy_store(source: Path, target: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        extra = Path(str(source) + suffix)
        if extra.exists():
            shutil.copyfile(extra, Path(str(target) + suffix))
    return target


def make_settings(db: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "db": str(db),
        "admins": f"telegram:{BOT_ADMIN},console:local",
        "examples_dir": None,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class Env:
    """A store, the knowledge over it and the real dispatcher (no platform)."""

    db: Database
    knowledge: Knowledge
    dispatcher: Dispatcher
    settings: Settings


@pytest_asyncio.fixture
async def env(store: Path, tmp_path: Path) -> AsyncIterator[Env]:
    path = copy_store(store, tmp_path / "newsbot.db")
    async with Database(path) as db:
        knowledge = Knowledge(db)
        await knowledge.warm_up()
        settings = make_settings(path)
        yield Env(db, knowledge, Dispatcher(build_router(), knowledge, settings), settings)


@dataclass
class TelegramEnv(Env):
    """Env plus the real Telegram adapter against the fake Bot API, and a delivery worker."""

    api: FakeTelegramAPI
    adapter: TelegramAdapter
    worker: DeliveryWorker

    def scheduler(self, clock: Clock) -> DigestScheduler:
        return DigestScheduler(self.knowledge, self.worker, clock=clock)

    def digests(self, chat: int | str) -> list[dict[str, Any]]:
        """Digest messages the fake accepted for ``chat`` (other bot messages left out)."""
        return [m for m in self.api.sent_messages(chat) if "News digest" in m["text"]]


@pytest_asyncio.fixture
async def tg(store: Path, tmp_path: Path) -> AsyncIterator[TelegramEnv]:
    path = copy_store(store, tmp_path / "newsbot.db")
    async with FakeTelegramAPI(admins={GROUP: [GROUP_ADMIN]}) as api, Database(path) as db:
        knowledge = Knowledge(db)
        await knowledge.warm_up()
        settings = make_settings(
            path,
            telegram_token=TOKEN,
            telegram_api_url=api.base_url,
            telegram_file_url=api.base_file_url,
        )
        dispatcher = Dispatcher(build_router(), knowledge, settings)
        adapter = TelegramAdapter(dispatcher, settings, poll_timeout=1)
        await adapter.start()
        worker = DeliveryWorker(db, {"telegram": adapter}, admins=settings.admin_keys)
        try:
            yield TelegramEnv(db, knowledge, dispatcher, settings, api, adapter, worker)
        finally:
            await worker.stop()
            await adapter.stop()
        assert api.unknown_methods == []


@dataclass
class DiscordEnv:
    db: Database
    knowledge: Knowledge
    fake: FakeDiscord
    adapter: DiscordAdapter


@pytest_asyncio.fixture
async def dc(store: Path, tmp_path: Path) -> AsyncIterator[DiscordEnv]:
    """The real DiscordAdapter, started against the fake gateway and REST API."""
    path = copy_store(store, tmp_path / "newsbot.db")
    settings = make_settings(path, discord_token=FAKE_TOKEN)
    async with Database(path) as db, FakeDiscord(token=FAKE_TOKEN) as fake:
        knowledge = Knowledge(db)
        await knowledge.warm_up()
        adapter = DiscordAdapter(
            Dispatcher(build_router(), knowledge, settings), settings, guild_ready_timeout=0.05
        )
        async with adapter:
            yield DiscordEnv(db, knowledge, fake, adapter)


# --------------------------------------------------------------------------- helpers


CONSOLE = Conversation("console", "local", is_private=True)
CONSOLE_USER = User("console", "local", "you")


def group(chat: int = GROUP, thread: str | None = None) -> Conversation:
    return Conversation("telegram", str(chat), thread, is_private=False)


async def say(
    env: Env,
    text: str,
    conversation: Conversation = CONSOLE,
    user: User = CONSOLE_USER,
    *,
    is_chat_admin: bool | None = None,
) -> str:
    """Run ``text`` through the dispatcher as an adapter would and return the reply as text."""
    msg = Incoming(
        conversation=conversation,
        user=user,
        text=text,
        message_id="1",
        sent_at=datetime.now(UTC),
        is_chat_admin=conversation.is_private if is_chat_admin is None else is_chat_admin,
    )
    reply = await env.dispatcher.handle(with_admin_flags(msg, env.dispatcher))
    assert reply is not None
    return render_plain(reply, isolate_runs=False)


def tg_user(user_id: int) -> User:
    return User("telegram", str(user_id), f"User{user_id}")


async def rows(db: Database, sql: str, *params: object) -> list[dict[str, Any]]:
    cursor = await db.connection.execute(sql, params)
    return [dict(row) for row in await cursor.fetchall()]


async def all_subscriptions(db: Database) -> list[dict[str, Any]]:
    return await rows(db, "SELECT * FROM subscriptions ORDER BY id")


async def outbox(db: Database, subscription_id: int | None = None) -> list[dict[str, Any]]:
    if subscription_id is None:
        return await rows(db, "SELECT * FROM deliveries ORDER BY id")
    return await rows(
        db, "SELECT * FROM deliveries WHERE subscription_id = ? ORDER BY id", subscription_id
    )


async def subscription(db: Database, subscription_id: int) -> subscription_store.Subscription:
    found = await subscription_store.get_subscription(db, subscription_id)
    assert found is not None
    return found


async def add_subscription(
    db: Database,
    chat: int | str,
    *,
    platform: str = "telegram",
    thread: str = "",
    schedule: str = "daily 09:00",
    timezone: str = "UTC",
    keywords: tuple[str, ...] = (),
    last_period: str | None = OLD_PERIOD,
    last_article_id: int = 0,
) -> int:
    """A subscription as /subscribe stores it, with a chosen last period and article."""
    created, is_new = await subscription_store.subscribe(
        db,
        platform=platform,
        chat_id=str(chat),
        thread_id=thread,
        schedule=schedule,
        timezone=timezone,
        keywords=keywords,
        language="en",
        created_by="tests",
        last_article_id=last_article_id,
        last_period=last_period,
    )
    assert is_new
    return created.id


def titles_in(text: str) -> list[str]:
    return [title for title in [*TITLES, LATE_TITLE] if title in text]


# =========================================================================== 1. commands


async def test_subscribe_defaults_to_daily_0900_utc_and_lists_next_run(env: Env) -> None:
    before = datetime.now(UTC)
    reply = await say(env, "/subscribe")
    after = datetime.now(UTC)
    [row] = await all_subscriptions(env.db)
    assert (row["platform"], row["chat_id"], row["thread_id"]) == ("console", "local", "")
    assert (row["schedule"], row["timezone"], json.loads(row["keywords"])) == (
        "daily 09:00",
        "UTC",
        [],
    )
    assert row["active"] == 1 and row["created_by"] == "console:local"
    # The first digest is the next 09:00: the period already begun counts as done, and the
    # digest covers articles added from now on.
    assert row["last_article_id"] == 4
    assert row["last_period"] in {
        (moment - timedelta(hours=9)).date().isoformat() for moment in (before, after)
    }
    assert f"Subscribed (#{row['id']}): daily 09:00, UTC" in reply

    def next_nine(moment: datetime) -> str:
        today = moment.replace(hour=9, minute=0, second=0, microsecond=0)
        return (today if today > moment else today + timedelta(days=1)).strftime("%Y-%m-%d 09:00")

    expected = {f"{next_nine(moment)} UTC" for moment in (before, after)}
    assert any(text in reply for text in expected), reply

    listing = await say(env, "/subscriptions")
    assert "Digests in this chat:" in listing
    assert any(f"#{row['id']}: daily 09:00, UTC — next {text}" in listing for text in expected)


async def test_subscribe_with_zone_weekly_interval_and_keywords(env: Env) -> None:
    now = datetime.now(UTC)
    cairo = await say(env, "/subscribe daily 07:30 Africa/Cairo")
    weekly = await say(env, "/subscribe weekly fri 18:00 Asia/Riyadh")
    hourly = await say(env, "/subscribe every 6 hours")
    about = await say(env, "/subscribe daily 08:00 UTC bridge repairs")
    bare_keywords = await say(env, "/subscribe apples")
    assert all("Subscribed (#" in text for text in (cairo, weekly, hourly, about, bare_keywords))

    stored = [
        (row["schedule"], row["timezone"], tuple(json.loads(row["keywords"])))
        for row in await all_subscriptions(env.db)
    ]
    # A zone given once becomes the chat's zone, the default for its later subscriptions.
    assert stored == [
        ("daily 07:30", "Africa/Cairo", ()),
        ("weekly fri 18:00", "Asia/Riyadh", ()),
        ("every 6h", "Asia/Riyadh", ()),
        ("daily 08:00", "UTC", ("bridge", "repairs")),
        ("daily 09:00", "UTC", ("apples",)),
    ]
    assert "about: bridge, repairs" in about

    # The listing gives every next run in the subscription's own zone, at its wall-clock time.
    listing = await say(env, "/subscriptions")
    runs = dict(re.findall(r"#(\d+): .*? — next (\d{4}-\d\d-\d\d \d\d:\d\d \S+)", listing))
    assert len(runs) == 5, listing
    ids = [row["id"] for row in await all_subscriptions(env.db)]

    def run_of(index: int, zone: str) -> datetime:
        return datetime.strptime(runs[str(ids[index])][:16], "%Y-%m-%d %H:%M").replace(
            tzinfo=ZoneInfo(zone)
        )

    cairo_run = run_of(0, "Africa/Cairo")
    assert cairo_run.strftime("%H:%M") == "07:30" and runs[str(ids[0])].endswith(("EET", "EEST"))
    assert timedelta(0) < cairo_run - now <= timedelta(days=1, minutes=1)
    riyadh_run = run_of(1, "Asia/Riyadh")
    assert riyadh_run.weekday() == 4 and riyadh_run.strftime("%H:%M") == "18:00"
    assert runs[str(ids[1])].endswith("+03")
    assert timedelta(0) < riyadh_run - now <= timedelta(days=7, minutes=1)
    hourly_run = run_of(2, "Asia/Riyadh")  # every 6 hours from local midnight
    assert hourly_run.hour % 6 == 0 and hourly_run.minute == 0
    assert timedelta(0) < hourly_run - now <= timedelta(hours=6, minutes=1)
    assert "about: bridge, repairs" in listing


async def test_forum_topic_subscribes_separately(env: Env) -> None:
    admin = tg_user(GROUP_ADMIN)
    topic = group(thread="9")
    await say(env, "/subscribe daily 08:00", group(), admin, is_chat_admin=True)
    await say(env, "/subscribe daily 08:00", topic, admin, is_chat_admin=True)
    assert [(r["chat_id"], r["thread_id"]) for r in await all_subscriptions(env.db)] == [
        (str(GROUP), ""),
        (str(GROUP), "9"),
    ]
    in_topic = await say(env, "/subscriptions", topic, admin, is_chat_admin=True)
    in_group = await say(env, "/subscriptions", group(), admin, is_chat_admin=True)
    [topic_id, group_id] = [re.findall(r"#(\d+):", text) for text in (in_topic, in_group)]
    assert len(topic_id) == len(group_id) == 1 and topic_id != group_id
    # Stopping the topic's digest leaves the group's.
    assert "stopped" in await say(env, "/unsubscribe", topic, admin, is_chat_admin=True)
    assert [r["thread_id"] for r in await all_subscriptions(env.db)] == [""]


async def test_group_subscription_needs_a_chat_admin_or_a_bot_admin(env: Env) -> None:
    refused = await say(env, "/subscribe daily 08:00", group(), tg_user(MEMBER))
    assert refused == "Only this chat's admins can do that."
    assert await all_subscriptions(env.db) == []

    by_chat_admin = await say(
        env, "/subscribe daily 08:00", group(), tg_user(GROUP_ADMIN), is_chat_admin=True
    )
    assert "Subscribed (#" in by_chat_admin
    # A bot admin (NEWSBOT_ADMINS) who is not the chat's admin may too.
    by_bot_admin = await say(env, "/subscribe weekly mon 10:00", group(), tg_user(BOT_ADMIN))
    assert "Subscribed (#" in by_bot_admin
    stored = await all_subscriptions(env.db)
    assert [(r["created_by"], r["schedule"]) for r in stored] == [
        (f"telegram:{GROUP_ADMIN}", "daily 08:00"),
        (f"telegram:{BOT_ADMIN}", "weekly mon 10:00"),
    ]

    # A member may look, but not stop one.
    assert "daily 08:00" in await say(env, "/subscriptions", group(), tg_user(MEMBER))
    refused = await say(env, f"/unsubscribe {stored[0]['id']}", group(), tg_user(MEMBER))
    assert refused == "Only this chat's admins can do that."
    assert len(await all_subscriptions(env.db)) == 2


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("daily 25:00", "for example: /subscribe daily 09:00"),
        ("daily 09:00 Mars/Olympus", "such as Europe/London"),
        ("weekly 09:00", "for example: /subscribe weekly mon 09:00"),
        ("weekly funday 09:00", "for example: /subscribe weekly mon 09:00"),
        ("every 5 hours", "for example: /subscribe every 6 hours"),
        ("every hours", "for example: /subscribe every 6 hours"),
    ],
)
async def test_bad_schedule_gets_an_example_and_stores_nothing(
    env: Env, args: str, expected: str
) -> None:
    reply = await say(env, f"/subscribe {args}")
    assert expected in reply, reply
    assert await all_subscriptions(env.db) == []


async def test_a_bare_time_is_not_taken_for_a_keyword(env: Env) -> None:
    """``/subscribe 08:00 Africa/Cairo`` must not store keywords "08:00" and "Africa/Cairo".

    The parser only recognises a time after ``daily``/``weekly``; anything else becomes
    keywords, so this subscribes to daily 09:00 UTC about "08:00" and "Africa/Cairo", which
    matches no article. Wanted: read it as ``daily 08:00 Africa/Cairo``, or refuse with an
    example; either way no keyword that is a time or a zone.
    """
    await say(env, "/subscribe 08:00 Africa/Cairo")
    for row in await all_subscriptions(env.db):
        assert json.loads(row["keywords"]) == []
        assert (row["schedule"], row["timezone"]) == ("daily 08:00", "Africa/Cairo")


async def test_unsubscribe_by_number_and_only_in_its_own_chat(env: Env) -> None:
    assert "no digests" in await say(env, "/unsubscribe")
    await say(env, "/subscribe daily 08:00")
    await say(env, "/subscribe weekly mon 09:00")
    first, second = (r["id"] for r in await all_subscriptions(env.db))
    which = await say(env, "/unsubscribe")
    assert "several digests" in which and f"#{first}" in which and f"#{second}" in which
    assert len(await all_subscriptions(env.db)) == 2

    # Another chat cannot stop this chat's digest by its number.
    elsewhere = await say(env, f"/unsubscribe {first}", group(), tg_user(BOT_ADMIN))
    assert "no digest" in elsewhere
    assert f"Digest #{first} stopped." in await say(env, f"/unsubscribe {first}")
    assert [r["id"] for r in await all_subscriptions(env.db)] == [second]
    assert f"Digest #{second} stopped." in await say(env, "/unsubscribe")
    assert await all_subscriptions(env.db) == []
    assert "no digests" in await say(env, "/subscriptions")


async def test_digest_preview_moves_nothing(env: Env) -> None:
    subscription_id = await add_subscription(
        env.db, "local", platform="console", keywords=("bridge",), last_period="2025-03-01"
    )
    before = await all_subscriptions(env.db)
    preview = await say(env, "/digest")
    assert "News digest: 1 new article" in preview
    assert titles_in(preview) == ["Harbor Bridge reopens after repairs"]
    assert "42 million dollars" in preview  # a key fact, quoted
    assert await all_subscriptions(env.db) == before
    assert await outbox(env.db) == []
    assert (await subscription(env.db, subscription_id)).last_article_id == 0

    # A fresh subscription covers articles from now on: nothing to preview yet.
    await say(env, "/unsubscribe")
    await say(env, "/subscribe")
    assert "No new articles for the next digest yet." in await say(env, "/digest")


async def test_subscribe_through_telegram(tg: TelegramEnv) -> None:
    api = tg.api

    def post(user: int, text: str, thread: int | None = None) -> None:
        api.push_update(api.text_message(GROUP, user, text, message_thread_id=thread))

    post(MEMBER, "/subscribe daily 08:00 Africa/Cairo")
    [refused] = await api.wait_for_messages(1, chat_id=GROUP, timeout=WAIT)
    assert "Only this chat's admins" in refused["text"]
    assert await all_subscriptions(tg.db) == []

    post(GROUP_ADMIN, "/subscribe daily 08:00 Africa/Cairo")
    post(GROUP_ADMIN, "/subscribe weekly sun 20:00 Europe/Berlin bridge", thread=9)
    replies = await api.wait_for_messages(3, chat_id=GROUP, timeout=WAIT)
    assert all("Subscribed (#" in m["text"] for m in replies[1:])
    topic_reply = next(m for m in replies[1:] if "weekly" in m["text"])
    assert topic_reply["message_thread_id"] == 9  # answered in the topic
    stored = [
        (r["chat_id"], r["thread_id"], r["schedule"], r["timezone"], r["created_by"])
        for r in await all_subscriptions(tg.db)
    ]
    assert sorted(stored) == [
        (str(GROUP), "", "daily 08:00", "Africa/Cairo", f"telegram:{GROUP_ADMIN}"),
        (str(GROUP), "9", "weekly sun 20:00", "Europe/Berlin", f"telegram:{GROUP_ADMIN}"),
    ]
    # The adapter asked Telegram who administers the group; the member was not one of them.
    asked = {call["user_id"] for call in api.calls_of("getChatMember")}
    assert {MEMBER, GROUP_ADMIN} <= asked


# =========================================================================== 2. schedules


async def sweep(
    scheduler: DigestScheduler,
    clock: Clock,
    db: Database,
    subscription_id: int,
    start: datetime,
    end: datetime,
    step: timedelta = timedelta(minutes=5),
) -> list[tuple[datetime, str]]:
    """Tick from ``start`` to ``end``; the moments the subscription's recorded period moved."""
    moved: list[tuple[datetime, str]] = []
    last = (await subscription(db, subscription_id)).last_period
    clock.now = start
    while clock.now <= end:
        await scheduler.tick()
        period = (await subscription(db, subscription_id)).last_period
        if period != last:
            assert period is not None
            moved.append((clock.now, period))
            last = period
        clock.now += step
    return moved


@pytest.mark.parametrize(
    ("schedule", "zone", "start", "end", "expected"),
    [
        pytest.param(
            "daily 09:00",
            "Europe/Berlin",
            utc(2025, 3, 28, 12),
            utc(2025, 3, 31, 23),
            [
                (utc(2025, 3, 29, 8), "2025-03-29"),  # 09:00 CET
                (utc(2025, 3, 30, 7), "2025-03-30"),  # 09:00 CEST, the day clocks go forward
                (utc(2025, 3, 31, 7), "2025-03-31"),
            ],
            id="berlin-09:00-spring-forward",
        ),
        pytest.param(
            "daily 09:00",
            "Europe/Berlin",
            utc(2025, 10, 24, 12),
            utc(2025, 10, 27, 23),
            [
                (utc(2025, 10, 25, 7), "2025-10-25"),  # 09:00 CEST
                (utc(2025, 10, 26, 8), "2025-10-26"),  # 09:00 CET, the day clocks go back
                (utc(2025, 10, 27, 8), "2025-10-27"),
            ],
            id="berlin-09:00-fall-back",
        ),
        pytest.param(
            "daily 02:30",
            "Europe/Berlin",
            utc(2025, 3, 29, 12),
            utc(2025, 3, 31, 12),
            [
                # 02:30 does not exist on 2025-03-30 (02:00 CET -> 03:00 CEST): it runs once,
                # an hour later by the wall clock (03:30 CEST).
                (utc(2025, 3, 30, 1, 30), "2025-03-30"),
                (utc(2025, 3, 31, 0, 30), "2025-03-31"),  # 02:30 CEST
            ],
            id="berlin-02:30-skipped-on-spring-night",
        ),
        pytest.param(
            "daily 02:30",
            "Europe/Berlin",
            utc(2025, 10, 25, 12),
            utc(2025, 10, 27, 12),
            [
                # 02:30 happens twice on 2025-10-26 (CEST, then CET): it runs once, the first time.
                (utc(2025, 10, 26, 0, 30), "2025-10-26"),
                (utc(2025, 10, 27, 1, 30), "2025-10-27"),  # 02:30 CET
            ],
            id="berlin-02:30-twice-on-autumn-night",
        ),
        pytest.param(
            "weekly sun 09:00",
            "America/New_York",
            utc(2025, 3, 1, 12),
            utc(2025, 3, 17, 0),
            [
                (utc(2025, 3, 2, 14), "2025-W09"),  # 09:00 EST
                (utc(2025, 3, 9, 13), "2025-W10"),  # 09:00 EDT, the day clocks go forward
                (utc(2025, 3, 16, 13), "2025-W11"),
            ],
            id="new-york-weekly-sunday-spring-forward",
        ),
    ],
)
async def test_schedule_runs_at_local_wall_clock_time_across_dst(
    env: Env,
    schedule: str,
    zone: str,
    start: datetime,
    end: datetime,
    expected: list[tuple[datetime, str]],
) -> None:
    clock = Clock(start)
    scheduler = DigestScheduler(env.knowledge, DeliveryWorker(env.db, {}), clock=clock)
    # No new articles (last_article_id is the newest), so periods move but nothing is sent.
    subscription_id = await add_subscription(
        env.db, "local", platform="console", schedule=schedule, timezone=zone, last_article_id=4
    )
    await scheduler.tick()  # makes up the (old) period before ``start``; the sweep goes on
    moved = await sweep(scheduler, clock, env.db, subscription_id, start, end)
    assert moved == expected
    assert await outbox(env.db) == []  # nothing new since last_article_id: no message at all


async def test_daily_digest_delivered_at_0900_berlin_across_spring_forward(
    tg: TelegramEnv,
) -> None:
    chat = 5001
    subscription_id = await add_subscription(
        tg.db, chat, timezone="Europe/Berlin", last_period="2025-03-28"
    )
    clock = Clock(utc(2025, 3, 29, 7, 59))  # 08:59 CET
    scheduler = tg.scheduler(clock)
    assert await scheduler.tick() == 0
    assert await outbox(tg.db) == []

    clock.now = utc(2025, 3, 29, 8, 0)  # 09:00 CET
    assert await scheduler.tick() == 1
    await tg.worker.drain()
    [first] = tg.digests(chat)
    assert titles_in(first["text"]) and sorted(titles_in(first["text"])) == sorted(TITLES)
    assert first["parse_mode"] == "HTML"

    # Later the same day, and up to 08:59 CEST the next day: nothing more.
    for moment in (
        utc(2025, 3, 29, 8, 0),
        utc(2025, 3, 29, 8, 1),
        utc(2025, 3, 29, 23, 0),
        utc(2025, 3, 30, 1, 30),  # 03:30 CEST, just after the jump
        utc(2025, 3, 30, 6, 59),  # 08:59 CEST
    ):
        clock.now = moment
        assert await scheduler.tick() == 0, moment
    await tg.worker.drain()
    assert len(tg.digests(chat)) == 1
    assert (await subscription(tg.db, subscription_id)).last_period == "2025-03-29"

    # An article added between two digests goes into the next one only.
    added = await tg.knowledge.add(from_text(LATE_NEWS), added_by="tests")
    assert added.created
    clock.now = utc(2025, 3, 30, 7, 0)  # 09:00 CEST
    assert await scheduler.tick() == 1
    assert await scheduler.tick() == 0  # never two for one period
    await tg.worker.drain()
    [_, second] = tg.digests(chat)
    assert titles_in(second["text"]) == [LATE_TITLE]
    assert "News digest: 1 new article" in second["text"]

    # The next day: the period is recorded, but nothing new means no message.
    clock.now = utc(2025, 3, 31, 7, 0)
    assert await scheduler.tick() == 0
    await tg.worker.drain()
    assert len(tg.digests(chat)) == 2
    assert (await subscription(tg.db, subscription_id)).last_period == "2025-03-31"
    periods = [(r["period"], r["part"], r["status"]) for r in await outbox(tg.db)]
    assert periods == [("2025-03-29", 0, "sent"), ("2025-03-30", 0, "sent")]


# =========================================================================== 3. restart


async def test_digest_missed_while_down_is_sent_once_on_restart(tg: TelegramEnv) -> None:
    chat = 5002
    # Last completed period: five days before "now"; the bot was down since.
    subscription_id = await add_subscription(
        tg.db, chat, timezone="Europe/Berlin", last_period="2025-03-25"
    )
    clock = Clock(utc(2025, 3, 30, 10, 0))
    async with DigestScheduler(tg.knowledge, tg.worker, clock=clock):
        pass  # start() ticks once, at once, to make up what was missed
    rows_after_start = await outbox(tg.db, subscription_id)
    assert [(r["period"], r["status"]) for r in rows_after_start] == [("2025-03-30", "pending")]
    assert (await subscription(tg.db, subscription_id)).last_period == "2025-03-30"

    await tg.worker.drain()
    [digest] = tg.digests(chat)
    assert sorted(titles_in(digest["text"])) == sorted(TITLES)

    # Another restart later the same day, another tick: nothing more.
    clock.now = utc(2025, 3, 30, 10, 5)
    async with DigestScheduler(tg.knowledge, tg.worker, clock=clock) as again:
        assert await again.tick() == 0
    await tg.worker.drain()
    assert len(tg.digests(chat)) == 1
    assert [r["status"] for r in await outbox(tg.db)] == ["sent"]


# =========================================================================== 5. 429 storm


async def test_flood_storm_drops_nothing_and_doubles_nothing(tg: TelegramEnv) -> None:
    private_chats = [6001, 6002, 6003, 6004]
    groups = [-1006005, -1006006]
    topic = (-1006007, "9")
    ids = {chat: await add_subscription(tg.db, chat) for chat in private_chats + groups}
    topic_id = await add_subscription(tg.db, topic[0], thread=topic[1])
    clock = Clock(utc(2025, 3, 30, 9, 0))
    assert await tg.scheduler(clock).tick() == 7

    # python-telegram-bot's AIORateLimiter retries a 429 itself, at most 5 times per send; seven
    # sends can absorb at most 7 x 5 = 35 failures and still succeed, so 60 in a row make some
    # sends give up and the DeliveryWorker retry them as well: both layers are exercised.
    failures = 60
    tg.api.fail_next("sendMessage", times=failures, retry_after=0.1)
    await tg.worker.drain()

    assert tg.api.injected_failures == failures
    retried = [r for r in await outbox(tg.db) if r["attempts"] > 0]
    assert retried and all("retry" in r["last_error"].lower() for r in retried)
    for chat in private_chats + groups:
        [digest] = tg.digests(chat)
        assert sorted(titles_in(digest["text"])) == sorted(TITLES)
        [row] = await outbox(tg.db, ids[chat])
        assert row["status"] == "sent"
        assert row["message_ids"] == str(digest["message_id"])
    [in_topic] = tg.digests(topic[0])
    assert in_topic["message_thread_id"] == 9  # a forum topic's digest goes to its topic
    [topic_row] = await outbox(tg.db, topic_id)
    assert topic_row["status"] == "sent"
    assert len(tg.api.sent_messages()) == 7


# =========================================================================== 6. 403


async def test_forbidden_chat_pauses_its_subscription_and_tells_admins_once(
    tg: TelegramEnv,
) -> None:
    open_chat, open_group, blocked = 7001, -1007002, 7003
    ids = {chat: await add_subscription(tg.db, chat) for chat in (open_chat, open_group, blocked)}
    tg.api.forbid_chat(blocked)
    clock = Clock(utc(2025, 3, 30, 9, 0))
    scheduler = tg.scheduler(clock)
    assert await scheduler.tick() == 3
    await tg.worker.drain()

    assert len(tg.digests(open_chat)) == len(tg.digests(open_group)) == 1
    assert tg.digests(blocked) == []
    paused = await subscription(tg.db, ids[blocked])
    assert not paused.active and paused.paused_reason and "blocked" in paused.paused_reason
    assert paused.admins_told
    [notice] = tg.api.sent_messages(BOT_ADMIN)
    assert f"Digest #{ids[blocked]}" in notice["text"] and str(blocked) in notice["text"]
    assert "paused" in notice["text"]
    # The row is kept, and so is the undelivered message.
    [kept] = await outbox(tg.db, ids[blocked])
    assert kept["status"] == "pending"
    for chat in (open_chat, open_group):
        assert (await subscription(tg.db, ids[chat])).active

    # The next day: the paused one is not queued, and the admins are not told again.
    assert (await tg.knowledge.add(from_text(LATE_NEWS), added_by="tests")).created
    clock.now = utc(2025, 3, 31, 9, 0)
    assert await scheduler.tick() == 2
    await tg.worker.drain()
    assert len(tg.api.sent_messages(BOT_ADMIN)) == 1
    assert len(tg.digests(open_chat)) == 2 and tg.digests(blocked) == []

    # Unblocked, someone sends /subscribe there: the same subscription resumes.
    tg.api.allow_chat(blocked)
    tg.api.push_update(tg.api.text_message(blocked, blocked, "/subscribe"))
    [answer] = await tg.api.wait_for_messages(1, chat_id=blocked, timeout=WAIT)
    assert f"Digest #{ids[blocked]} is active again" in answer["text"]
    resumed = await subscription(tg.db, ids[blocked])
    assert resumed.active and resumed.paused_reason is None and not resumed.admins_told
    assert len(await all_subscriptions(tg.db)) == 3
    await tg.worker.drain()
    [late] = tg.digests(blocked)  # the digest held back while paused, once
    assert sorted(titles_in(late["text"])) == sorted(TITLES)
    assert [r["status"] for r in await outbox(tg.db, ids[blocked])] == ["sent"]


# =========================================================================== 7. Discord


async def test_digest_delivered_to_a_discord_channel_split_between_articles(
    dc: DiscordEnv,
) -> None:
    worker = DeliveryWorker(dc.db, {"discord": dc.adapter})
    subscription_id = await add_subscription(
        dc.db, DEFAULT_CHANNEL_ID, platform="discord", timezone="Asia/Riyadh"
    )
    clock = Clock(utc(2025, 3, 30, 6, 0))  # 09:00 in Riyadh
    assert await DigestScheduler(dc.knowledge, worker, clock=clock).tick() == 1
    await worker.drain()
    sent = dc.fake.channel_messages(DEFAULT_CHANNEL_ID)
    parts = await outbox(dc.db, subscription_id)

    assert len(sent) == len(parts) >= 2  # four long articles do not fit 2000 characters
    assert all(r["status"] == "sent" for r in parts)
    assert [r["message_ids"] for r in parts] == [m["id"] for m in sent]
    assert all(len(m["content"]) <= DISCORD_LIMIT for m in sent)
    assert "News digest" in sent[0]["content"]
    # Each article whole in one message: its title and its facts together, never cut.
    facts = {
        TITLES[0]: "42 million dollars",
        TITLES[1]: "85,000 tonnes",
        TITLES[2]: "18 euros",
        TITLES[3]: "65 million euros",
    }
    for title, fact in facts.items():
        holding = [m["content"] for m in sent if title in m["content"]]
        assert len(holding) == 1, title
        assert fact in holding[0]
    for later in sent[1:]:
        assert later["content"].startswith("**"), later["content"][:80]  # a title opens it


# =========================================================================== 8. long messages


LONG_REPLY = Reply.text(*(f"Paragraph {i}: " + "news " * 80 for i in range(30)))  # ~12,500 chars


async def queue_message(db: Database, chat: int | str, reply: Reply, platform: str) -> int:
    """One outbox message (as a digest period queues them); returns its subscription's id."""
    subscription_id = await add_subscription(db, chat, platform=platform)
    assert await deliveries.enqueue_period(
        db,
        subscription_id=subscription_id,
        period="2025-03-30",
        platform=platform,
        chat_id=str(chat),
        thread_id="",
        parts=[reply_to_json(reply)],
        last_article_id=0,
    )
    return subscription_id


def paragraphs_in(texts: list[str]) -> list[int]:
    # Discord's rendering escapes the colon (it could open an emoji code).
    return [int(n) for text in texts for n in re.findall(r"Paragraph (\d+)\\?:", text)]


async def test_a_long_message_failing_part_way_is_resumed_not_repeated(tg: TelegramEnv) -> None:
    chat = 8001
    subscription_id = await queue_message(tg.db, chat, LONG_REPLY, "telegram")
    parts = len(render_telegram(LONG_REPLY))
    assert parts >= 3
    # The first message is accepted, the second fails (not a flood, so no retry_after): the
    # worker backs off and tries again, and must not post the first message a second time.
    tg.api.fail_next("sendMessage", error_code=500, description="Internal Server Error", after=1)
    await tg.worker.drain()

    sent = tg.api.sent_messages(chat)
    assert tg.api.injected_failures == 1
    assert len(sent) == parts
    assert paragraphs_in([m["text"] for m in sent]) == list(range(30))
    [row] = await outbox(tg.db, subscription_id)
    assert (row["status"], row["attempts"]) == ("sent", 1)
    assert row["message_ids"] == ",".join(str(m["message_id"]) for m in sent)


async def test_parts_sent_before_a_refusal_are_not_sent_again_when_the_chat_resumes(
    dc: DiscordEnv,
) -> None:
    subscription_id = await queue_message(dc.db, DEFAULT_CHANNEL_ID, LONG_REPLY, "discord")
    # The channel refuses the bot after its first message: the subscription pauses, and which
    # parts went out is kept with the message.
    dc.fake.fail_route(
        "POST",
        r"/channels/\d+/messages",
        status=403,
        body={"message": "Missing Permissions", "code": 50013},
        after=1,
    )
    await DeliveryWorker(dc.db, {"discord": dc.adapter}).drain()
    first = dc.fake.channel_messages(DEFAULT_CHANNEL_ID)
    [held] = await outbox(dc.db, subscription_id)
    assert len(first) == 1 and held["status"] == "pending"
    assert held["message_ids"] == first[0]["id"]
    assert not (await subscription(dc.db, subscription_id)).active

    # Allowed again and resumed, by a worker that knows only what the store says.
    assert await subscription_store.resume_chat(dc.db, "discord", str(DEFAULT_CHANNEL_ID), "")
    await DeliveryWorker(dc.db, {"discord": dc.adapter}).drain()
    sent = dc.fake.channel_messages(DEFAULT_CHANNEL_ID)
    [row] = await outbox(dc.db, subscription_id)

    assert len(sent) == len(render_discord(LONG_REPLY))
    assert paragraphs_in([m["content"] for m in sent]) == list(range(30))
    assert row["status"] == "sent"
    assert row["message_ids"] == ",".join(m["id"] for m in sent)


async def test_the_delivery_worker_stops_when_woken_in_the_same_step_as_the_stop(
    tmp_path: Path,
) -> None:
    """stop() right after a wake: the cancellation must not be lost to the wake.

    On Python 3.11, ``asyncio.wait_for`` returns the awaited result and drops a cancellation
    that arrives in the same step as the result, so the worker went on and stop() never
    returned (a bot told to stop just after starting hung).
    """
    async with Database(tmp_path / "newsbot.db") as db:
        worker = DeliveryWorker(db, {})
        worker.start()
        # Until the first round (the start's wake) is done and the worker waits again.
        while not worker.waiting:
            await asyncio.sleep(0.01)
        task = worker._task
        assert task is not None
        worker.wake()
        task.cancel()
        # Stopping takes a step or two. A lost cancellation sends the worker into another round
        # and back to waiting, so it would never be done.
        for _ in range(10):
            await asyncio.sleep(0)
        assert task.done()
        await worker.stop()
