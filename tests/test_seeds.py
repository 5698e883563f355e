"""Several seeds at once: each match records its seed; seeds come and go, matches stay."""

from __future__ import annotations

import json

from tests.fixtures_db import SEED_ARTICLE, SEED_PROFILE
from tests.fixtures_feeds import rss

ITEMS = [
    {"guid": "1", "title": "Daraz opens a warehouse in Karachi", "link": "https://e.org/1"},
    {
        "guid": "2",
        "title": "Tesla unveils a new electric lorry in Berlin",
        "link": "https://e.org/2",
    },
]
PAKISTAN = {"id": "pk", "article": str(SEED_ARTICLE), "profile": str(SEED_PROFILE)}


def test_each_seed_matches_on_its_own_and_removed_seeds_keep_their_matches(
    followup, write_config, feed_server, tmp_path
):
    article = tmp_path / "tesla.txt"
    article.write_text(
        "Tesla unveils an electric lorry. Tesla and Elon Musk showed the Semi truck in Berlin, "
        "where Tesla builds electric cars at its Gigafactory Berlin-Brandenburg.",
        encoding="utf-8",
    )
    feed_server.add("/a.xml", rss(ITEMS))
    both = write_config(
        feeds=[feed_server.url("/a.xml")], seeds=[PAKISTAN, {"id": "ev", "article": str(article)}]
    )
    assert followup("poll", "--once", "--config", str(both)).code == 0
    found = json.loads(followup("matches", "--format", "json", "--config", str(both)).out)
    assert {(m["seed"], m["title"]) for m in found} == {
        ("pk", ITEMS[0]["title"]),
        ("ev", ITEMS[1]["title"]),
    }
    only_pk = write_config(feeds=[feed_server.url("/a.xml")], seeds=[PAKISTAN], name="pk.toml")
    assert followup("poll", "--once", "--config", str(only_pk)).code == 0
    kept = json.loads(
        followup("matches", "--format", "json", "--seed", "ev", "--config", str(only_pk)).out
    )
    assert [m["title"] for m in kept] == [ITEMS[1]["title"]]
