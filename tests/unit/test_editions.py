from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.editions import Edition, latest_due, load_channels, merge_editions, parse_hhmm, zone
from bot.settings import ConfigError

ROOT = Path(__file__).resolve().parents[2]
TOPICS = ("models", "research", "regulation", "safety")


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_edition_moment_follows_daylight_saving_in_berlin() -> None:
    edition = Edition(channel="slack:C1", time="08:00", timezone="Europe/Berlin")
    assert edition.moment(date(2026, 3, 28)) == _utc(2026, 3, 28, 7, 0)  # CET, UTC+1
    assert edition.moment(date(2026, 3, 29)) == _utc(2026, 3, 29, 6, 0)  # CEST from that night
    assert edition.moment(date(2026, 10, 25)) == _utc(2026, 10, 25, 7, 0)  # back to CET
    # The window runs from the previous edition: 23 hours across the spring change, 25 across the autumn one.
    start, end = edition.window(date(2026, 3, 29))
    assert end - start == timedelta(hours=23)
    start, end = edition.window(date(2026, 10, 25))
    assert end - start == timedelta(hours=25)
    start, end = edition.window(date(2026, 6, 1))
    assert end - start == timedelta(hours=24)


def test_times_that_do_not_exist_or_occur_twice() -> None:
    # 02:30 does not exist on 29 March in Berlin: the edition goes out at 03:30 summer time (01:30 UTC).
    spring = Edition(channel="slack:C1", time="02:30", timezone="Europe/Berlin")
    assert spring.moment(date(2026, 3, 29)) == _utc(2026, 3, 29, 1, 30)
    # 02:30 happens twice on 25 October: the first one (still summer time, 00:30 UTC).
    autumn = Edition(channel="slack:C1", time="02:30", timezone="Europe/Berlin")
    assert autumn.moment(date(2026, 10, 25)) == _utc(2026, 10, 25, 0, 30)
    new_york = Edition(channel="discord:1", time="09:30", timezone="America/New_York")
    assert new_york.moment(date(2026, 3, 7)) == _utc(2026, 3, 7, 14, 30)  # EST
    assert new_york.moment(date(2026, 3, 8)) == _utc(2026, 3, 8, 13, 30)  # EDT


def test_latest_due_edition() -> None:
    tokyo = zone("Asia/Tokyo")
    at = parse_hhmm("07:45")
    # 22:00 UTC on the 1st is 07:00 on the 2nd in Tokyo: the 2nd's edition is not due yet, the 1st's is.
    assert latest_due(_utc(2026, 5, 1, 22, 0), at, tokyo) == (date(2026, 5, 1), _utc(2026, 4, 30, 22, 45))
    assert latest_due(_utc(2026, 5, 1, 22, 45), at, tokyo) == (date(2026, 5, 2), _utc(2026, 5, 1, 22, 45))
    honolulu = zone("Pacific/Honolulu")
    assert latest_due(_utc(2026, 5, 1, 9, 0), parse_hhmm("23:30"), honolulu)[0] == date(2026, 4, 29)


@pytest.mark.parametrize("text", ["8", "24:00", "08:60", "8am", "", "08:00:00"])
def test_bad_times_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        parse_hhmm(text)


def test_bad_time_zone_names_the_zone() -> None:
    with pytest.raises(ValueError, match="'Mars/Olympus' is not an IANA time zone"):
        zone("Mars/Olympus")
    with pytest.raises(ValueError, match="IANA"):
        Edition(channel="slack:C1", timezone="CEST")


def test_channels_file(tmp_path: Path) -> None:
    example = ROOT / "config" / "channels.example.yaml"
    # Copied as it is, the example gives no placeholder channel an edition ...
    assert load_channels(example, TOPICS).channels == ()
    # ... and its commented entries, once uncommented, are valid editions.
    uncommented = tmp_path / "channels.yaml"
    head, entries = example.read_text().split("channels: []")
    uncommented.write_text(head + "channels:" + "\n".join(line[1:] if line.startswith("#") else line
                                                           for line in entries.splitlines()))
    shipped = load_channels(uncommented, TOPICS)
    assert [e.channel for e in shipped.channels] == ["slack:C0123456789", "discord:112233445566778899",
                                                     "slack:C0987654321"]
    assert shipped.channels[2].topics == ("regulation", "safety") and shipped.channels[2].format == "compact"
    assert load_channels(tmp_path / "missing.yaml", TOPICS).channels == ()
    bad = tmp_path / "channels.yaml"
    bad.write_text("channels:\n  - {channel: 'slack:C1', time: '25:00'}\n")
    with pytest.raises(ConfigError, match=r"channels.yaml: channels\[0\].time: .*HH:MM"):
        load_channels(bad, TOPICS)
    bad.write_text("channels:\n  - {channel: 'slack:C1', topics: [weather]}\n")
    with pytest.raises(ConfigError, match=r"channels\[0\].topics: unknown topic 'weather'"):
        load_channels(bad, TOPICS)
    bad.write_text("channels:\n  - {channel: 'slack:C1'}\n  - {channel: 'slack:C1'}\n")
    with pytest.raises(ConfigError, match="appears twice"):
        load_channels(bad, TOPICS)
    bad.write_text("channels:\n  - {channel: 'teams:C1'}\n")
    with pytest.raises(ConfigError, match=r"channels\[0\].channel"):
        load_channels(bad, TOPICS)


def test_chat_settings_win_over_the_file_and_removed_entries_go() -> None:
    configured = [Edition(channel="slack:A", time="08:00"), Edition(channel="slack:B", time="09:00")]
    stored = [Edition(channel="slack:B", time="07:00", origin="chat"), Edition(channel="slack:C", time="10:00"),
              Edition(channel="slack:D", time="11:00", origin="chat")]
    merged = {e.channel: e.time for e in merge_editions(configured, stored)}
    assert merged == {"slack:A": "08:00", "slack:B": "07:00", "slack:D": "11:00"}
