"""Discord payloads stay inside Discord's limits, checked by the fake server's own validator."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from notify_catalogue import EXAMPLES, T

from xsmom.notify.discord import clip, discord_embeds, discord_payload
from xsmom.notify.fake_discord import problems
from xsmom.notify.render import Field, Rendered, render


def _msg(title: str = "t", description: str = "", n_fields: int = 0, **kw: object) -> Rendered:
    fields = tuple(Field(f"name {i}", f"value {i}") for i in range(n_fields))
    return Rendered(
        kind="test",
        severity=str(kw.get("severity", "info")),
        dedup_key=str(kw.get("key", "test:1")),
        ts_event=T,
        title=title,
        description=description,
        fields=fields,
    )


def _total(embeds: list[dict]) -> int:  # type: ignore[type-arg]
    n = 0
    for e in embeds:
        n += len(e.get("title", "")) + len(e.get("description", ""))
        n += len(e.get("footer", {}).get("text", ""))
        n += sum(len(f["name"]) + len(f["value"]) for f in e.get("fields", []))
    return n


def test_clip_marks_the_cut_with_the_number_of_characters_cut() -> None:
    # 300 chars into 256: the mark "… [70 more characters cut]" is 26 chars, 230 kept, 70 cut
    assert clip("a" * 300, 256) == "a" * 230 + "… [70 more characters cut]"
    assert len(clip("a" * 300, 256)) == 256
    assert clip("short", 256) == "short"
    assert clip("abcdef", 3) == "ab…"


def test_every_catalogue_message_is_a_valid_discord_payload() -> None:
    for message, key, severity in EXAMPLES:
        r = render(message)
        payload = discord_payload(r)
        files = {f"files[{i}]": a.data for i, a in enumerate(r.attachments)}
        assert problems(payload, files) == [], key
        embed = payload["embeds"][0]
        assert embed["footer"]["text"] == f"{key} · {type(message).kind}"
        assert embed["color"] == r.colour
        assert payload["allowed_mentions"] == {"parse": []}
        assert ("content" in payload) == (severity != "info")
    daily = discord_payload(render(EXAMPLES[12][0]))
    assert daily["embeds"][0]["image"] == {"url": "attachment://equity.png"}
    assert daily["attachments"] == [{"id": 0, "filename": "equity.png"}]


def test_a_long_description_continues_in_a_second_embed() -> None:
    text = "x" * 5000
    embeds = discord_embeds(_msg(description=text))
    assert [len(e.get("description", "")) for e in embeds] == [4096, 904]
    assert "".join(e["description"] for e in embeds) == text  # nothing lost
    assert "title" not in embeds[1]


def test_thirty_fields_make_two_embeds() -> None:
    embeds = discord_embeds(_msg(n_fields=30))
    assert [len(e["fields"]) for e in embeds] == [25, 5]
    assert [f["name"] for e in embeds for f in e["fields"]] == [f"name {i}" for i in range(30)]


def test_oversized_message_is_cut_visibly_within_6000_characters() -> None:
    r = _msg(title="T" * 400, description="d" * 9000, n_fields=300, severity="critical")
    payload = discord_payload(r)
    assert problems(payload, {}) == []
    embeds = payload["embeds"]
    assert _total(embeds) <= 6000 and len(embeds) <= 10
    assert embeds[0]["title"].endswith("more characters cut]")
    assert "more characters cut]" in embeds[-1].get("description", "") or any(
        f["name"] == "truncated" for e in embeds for f in e.get("fields", [])
    )
    last_field = embeds[-1]["fields"][-1]
    assert last_field["name"] == "truncated" and last_field["value"].endswith("not shown")
    assert embeds[0]["footer"]["text"] == "test:1 · test"  # the key always survives
    assert len(payload["content"]) <= 2000


def test_many_tiny_fields_never_exceed_ten_embeds() -> None:
    fields = tuple(Field("a", "b") for _ in range(400))
    r = Rendered(kind="k", severity="info", dedup_key="k:1", ts_event=T, title="t", fields=fields)
    embeds = discord_embeds(r)
    assert len(embeds) == 10 and problems({"embeds": embeds}, {}) == []
    shown = sum(len(e["fields"]) for e in embeds) - 1
    assert embeds[-1]["fields"][-1]["value"] == f"{400 - shown} more field(s) not shown"


def test_field_name_and_value_limits_and_empty_values() -> None:
    r = Rendered(
        kind="k",
        severity="info",
        dedup_key="k:1",
        ts_event=T,
        title="t",
        fields=(Field("n" * 300, "v" * 2000), Field("", "")),
    )
    f1, f2 = discord_embeds(r)[0]["fields"]
    assert len(f1["name"]) == 256 and len(f1["value"]) == 1024
    # the 4-digit mark is 28 chars: 1024 - 28 = 996 kept, 2000 - 996 = 1004 cut
    assert f1["value"].endswith("… [1004 more characters cut]")
    assert f2 == {"name": "\u200b", "value": "\u200b", "inline": True}


_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=7000)


@settings(max_examples=60, deadline=None)
@given(
    title=st.text(min_size=1, max_size=600),
    description=_text,
    fields=st.lists(st.tuples(st.text(max_size=400), st.text(max_size=1500)), max_size=60),
    key=st.text(min_size=1, max_size=3000),
)
def test_any_message_fits_discord(
    title: str, description: str, fields: list[tuple[str, str]], key: str
) -> None:
    r = Rendered(
        kind="k",
        severity="warning",
        dedup_key=key,
        ts_event=T,
        title=title,
        description=description,
        fields=tuple(Field(n, v) for n, v in fields),
    )
    payload = discord_payload(r)
    assert problems(json.loads(json.dumps(payload)), {}) == []
