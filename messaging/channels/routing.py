"""Fans a batch of push or SMS messages out to the provider of each recipient's app.

One delivery per profile and channel, whose address may hold several push tokens (one
per device, newline-separated), and push message objects carry no `app_id` (spec
§4.1–4.4). So each token goes through the adapter of its app, and the outcomes of one
delivery's tokens are combined into one.

Pure: the caller (messaging.delivery.routing) looks up which app each token belongs to
and builds one adapter per app; the router only groups, sends and combines. A token the
provider reports dead comes back in `Outcome.dead_tokens`, and the caller invalidates
exactly those. The apps' adapters send their groups at the same time, each under the
batch's deadline.
"""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from .base import ChannelAdapter, DeadToken, Outcome, Outgoing, Result

# app_id → the (item index, address) pairs it carries.
Groups = dict[str, list[tuple[int, str]]]


def addresses(item: Outgoing) -> list[str]:
    """The addresses one item carries: one, or one push token per device."""
    return [a for a in item.address.split("\n") if a]


def token_groups(items: list[Outgoing], token_apps: dict[str, str | None], *, push: bool) -> Groups:
    """Which app carries each address of `items`.

    `token_apps` (push only): token → the app_id it was tracked with, None for a token of
    another platform's app (not ours to send: the Android token in an iOS delivery). An
    item's own `app_id` (SMS, or a push message that names its app) wins over the token's.
    """
    groups: Groups = defaultdict(list)
    for index, item in enumerate(items):
        for address in addresses(item):
            app_id = item.app_id or (token_apps.get(address) if push else "")
            if app_id is None:
                continue
            groups[app_id].append((index, address))
    return dict(groups)


def combine(outcomes: list[Outcome]) -> Outcome:
    """One outcome for a delivery sent to several tokens.

    Delivered to any device counts as delivered; a retry then would send twice to the
    devices that got it, so retries are only asked for when nothing went out.
    """
    if len(outcomes) == 1:
        return outcomes[0]
    text = " | ".join(o.provider_response for o in outcomes)[:4000]
    attempted = any(o.attempted for o in outcomes)
    delivered = [o for o in outcomes if o.result == Result.DELIVERED]
    if delivered:
        return Outcome(
            Result.DELIVERED,
            provider_response=text,
            details={"devices": len(outcomes), "delivered_devices": len(delivered)},
        )
    retries = [o for o in outcomes if o.result == Result.RETRY]
    if retries:
        waits = [o.retry_after for o in retries if o.retry_after is not None]
        return Outcome(
            Result.RETRY,
            provider_response=text,
            retry_after=max(waits) if waits else None,
            attempted=attempted,
        )
    if all(o.result == Result.BOUNCED for o in outcomes):
        return Outcome(
            Result.BOUNCED,
            provider_response=text,
            invalidate_address=all(o.invalidate_address for o in outcomes),
        )
    return Outcome(Result.FAILED, provider_response=text)


class ProviderRouter:
    """A ChannelAdapter in front of the per-app adapters of one channel.

    `push`: the channel is a push channel (its addresses are tokens). `adapters` holds one
    adapter per app_id that `token_groups` finds in the batch it is built for (the caller
    builds them from each app's configuration).
    """

    def __init__(
        self,
        channel: str,
        *,
        push: bool,
        token_apps: dict[str, str | None],
        adapters: dict[str, ChannelAdapter],
    ) -> None:
        self.channel, self.push = channel, push
        self.token_apps = token_apps
        self.adapters = adapters
        self.name = "sandbox"  # set per batch to the provider(s) that carried it

    def send_batch(self, items: list[Outgoing], *, deadline: float | None = None) -> list[Outcome]:
        per_item: list[list[Outcome]] = [[] for _ in items]
        dead: list[list[DeadToken]] = [[] for _ in items]
        groups = token_groups(items, self.token_apps, push=self.push)
        used = {self.adapters[app_id].name for app_id in groups}

        def send(app_id: str, members: list[tuple[int, str]]) -> list[Outcome]:
            return self.adapters[app_id].send_batch(
                [
                    Outgoing(
                        message_id=items[i].message_id,
                        address=address,
                        payload=items[i].payload,
                        app_id=app_id,
                    )
                    for i, address in members
                ],
                deadline=deadline,
            )

        if len(groups) > 1:
            # Several apps: their adapters (different providers, often) send side by side.
            with ThreadPoolExecutor(len(groups), thread_name_prefix="herald-router") as pool:
                sent = dict(zip(groups, pool.map(send, groups, groups.values()), strict=True))
        else:
            sent = {app_id: send(app_id, members) for app_id, members in groups.items()}
        for app_id, members in groups.items():
            for (index, address), outcome in zip(members, sent[app_id], strict=True):
                if outcome.invalidate_address and self.push:
                    # Named by the app the token was tracked with, when known.
                    dead[index].append(DeadToken(self.token_apps.get(address) or app_id, address))
                per_item[index].append(outcome)
        self.name = "+".join(sorted(used)) or "sandbox"
        results = []
        for item, outcomes, dead_tokens in zip(items, per_item, dead, strict=True):
            if not outcomes:
                results.append(
                    Outcome(
                        Result.FAILED,
                        provider_response=f"no push token of a {self.channel} app",
                        attempted=False,
                    )
                )
                continue
            outcome = combine(outcomes)
            # A copy: adapters may answer several items with one Outcome object. The
            # devices that answered "dead" are in dead_tokens; an address of several
            # devices is not dead as a whole.
            results.append(
                replace(
                    outcome,
                    invalidate_address=outcome.invalidate_address and len(addresses(item)) == 1,
                    dead_tokens=dead_tokens,
                )
            )
        return results
