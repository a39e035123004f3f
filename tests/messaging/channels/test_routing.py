"""The router in front of per-app adapters: pure, so these tests run without a database
(pytest-django refuses any query in a test not marked for one)."""

from __future__ import annotations

from messaging.channels.base import DeadToken, Outcome, Outgoing, Result
from messaging.channels.routing import ProviderRouter, combine, token_groups


class Answers:
    """An adapter that answers per address from a table, and remembers what it got."""

    def __init__(self, name, table):
        self.name, self.table, self.got = name, table, []

    def send_batch(self, items, *, deadline=None):
        self.got.extend((item.address, item.app_id) for item in items)
        return [self.table[item.address] for item in items]


DEAD = Outcome(Result.BOUNCED, "Unregistered", invalidate_address=True)
OK = Outcome(Result.DELIVERED, "ok")


def test_each_token_goes_through_its_apps_adapter_and_dead_ones_come_back_as_data():
    ios = Answers("apns", {"t-ok": OK, "t-dead": DEAD, "t-alone-dead": DEAD})
    old = Answers("sandbox", {"t-old": OK})
    apps = {"t-ok": "ios", "t-dead": "ios", "t-alone-dead": "ios", "t-old": "old", "t-droid": None}
    router = ProviderRouter(
        "apple_push", push=True, token_apps=apps, adapters={"ios": ios, "old": old}
    )
    several, alone, other_platform = router.send_batch(
        [
            Outgoing("m1", "t-ok\nt-dead\nt-old\nt-droid", {"alert": "hi"}),
            Outgoing("m2", "t-alone-dead", {"alert": "hi"}),
            Outgoing("m3", "t-droid", {"alert": "hi"}),
        ]
    )
    assert ios.got == [("t-ok", "ios"), ("t-dead", "ios"), ("t-alone-dead", "ios")]
    assert old.got == [("t-old", "old")]
    assert several.result == Result.DELIVERED and not several.invalidate_address
    assert several.details == {"devices": 3, "delivered_devices": 2}
    assert several.dead_tokens == [DeadToken("ios", "t-dead")]
    assert (alone.result, alone.invalidate_address) == (Result.BOUNCED, True)
    assert alone.dead_tokens == [DeadToken("ios", "t-alone-dead")]
    assert other_platform.result == Result.FAILED and other_platform.dead_tokens == []
    assert router.name == "apns+sandbox"


def test_an_item_app_id_wins_and_sms_numbers_are_never_dead_tokens():
    twilio = Answers("twilio", {"+1555": DEAD})
    router = ProviderRouter("sms", push=False, token_apps={}, adapters={"app-1": twilio})
    [outcome] = router.send_batch([Outgoing("m1", "+1555", {"body": "x"}, app_id="app-1")])
    assert (outcome.result, outcome.invalidate_address, outcome.dead_tokens) == (
        Result.BOUNCED,
        True,
        [],
    )
    groups = token_groups([Outgoing("m2", "a\nb", {}, app_id="named")], {"a": "x"}, push=True)
    assert groups == {"named": [(0, "a"), (0, "b")]}


def test_one_outcome_object_answering_several_items_is_not_shared_after_routing():
    shared = Outcome(Result.BOUNCED, "gone", invalidate_address=True)

    class SameAnswer:
        name = "apns"

        def send_batch(self, items, *, deadline=None):
            return [shared] * len(items)

    router = ProviderRouter(
        "apple_push", push=True, token_apps={"a": "ios", "b": "ios"}, adapters={"ios": SameAnswer()}
    )
    first, second = router.send_batch([Outgoing("m1", "a", {}), Outgoing("m2", "b", {})])
    assert first.dead_tokens == [DeadToken("ios", "a")]
    assert second.dead_tokens == [DeadToken("ios", "b")]
    assert shared.dead_tokens == []


def test_combining_prefers_delivered_then_retry_with_the_longest_wait():
    retry = [Outcome(Result.RETRY, "a", retry_after=5), Outcome(Result.RETRY, "b", retry_after=30)]
    assert combine(retry).retry_after == 30
    assert combine([*retry, OK]).result == Result.DELIVERED
    assert combine([DEAD, Outcome(Result.FAILED, "bad")]).result == Result.FAILED
    assert combine([DEAD, DEAD]).invalidate_address


def test_the_deadline_reaches_every_apps_adapter_and_not_attempted_is_combined():
    seen = {}

    class Late:
        def __init__(self, name, result, attempted):
            self.name, self.result, self.attempted = name, result, attempted

        def send_batch(self, items, *, deadline=None):
            seen[self.name] = deadline
            return [Outcome(self.result, "x", attempted=self.attempted) for _ in items]

    router = ProviderRouter(
        "apple_push",
        push=True,
        token_apps={"a": "ios", "b": "old"},
        adapters={
            "ios": Late("apns", Result.RETRY, False),
            "old": Late("other", Result.RETRY, False),
        },
    )
    [outcome] = router.send_batch([Outgoing("m1", "a\nb", {"alert": "hi"})], deadline=123.0)
    assert seen == {"apns": 123.0, "other": 123.0}
    assert (outcome.result, outcome.attempted) == (Result.RETRY, False)
    assert combine([Outcome(Result.RETRY, attempted=False), Outcome(Result.RETRY)]).attempted
