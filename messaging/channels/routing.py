"""Routes a batch of push or SMS messages to the provider of each recipient's app.

The pipeline makes one delivery per profile and channel, whose address may hold several
push tokens (one per device, newline-separated), and push message objects carry no
`app_id` (spec §4.1–4.4). So each token is looked up to find its app, and sent through
that app's configured adapter — or the sandbox when the app has none.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from campaigns.models import Channel

from .base import ChannelAdapter, Outcome, Outgoing, Result
from .sandbox import SandboxAdapter

CHANNEL_PLATFORM = {
    Channel.APPLE_PUSH: "ios",
    Channel.ANDROID_PUSH: "android",
    Channel.KINDLE_PUSH: "kindle",
    Channel.WEB_PUSH: "web",
}


def _combine(outcomes: list[Outcome]) -> Outcome:
    """One outcome for a delivery sent to several tokens.

    Delivered to any device counts as delivered; a retry then would send twice to the
    devices that got it, so retries are only asked for when nothing went out.
    """
    if len(outcomes) == 1:
        return outcomes[0]
    text = " | ".join(o.provider_response for o in outcomes)[:4000]
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
            Result.RETRY, provider_response=text, retry_after=max(waits) if waits else None
        )
    if all(o.result == Result.BOUNCED for o in outcomes):
        return Outcome(
            Result.BOUNCED,
            provider_response=text,
            invalidate_address=all(o.invalidate_address for o in outcomes),
        )
    return Outcome(Result.FAILED, provider_response=text)


class ProviderRouter:
    """A ChannelAdapter in front of the per-app adapters of one channel."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.name = "sandbox"  # set per batch to the provider(s) that carried it
        self.used: set[str] = set()

    def _adapter(self, app_id: str) -> ChannelAdapter:
        from messaging.crypto import CredentialsUnreadable
        from messaging.services.providers import adapter_for_config, channel_config_get

        config = channel_config_get(channel=self.channel, app_id=app_id)
        if config is None or config.is_sandbox:
            return SandboxAdapter(self.channel)
        try:
            return adapter_for_config(config)
        except (CredentialsUnreadable, ValueError) as exc:
            return _Unusable(config.provider, str(exc))

    def _token_apps(self, tokens: list[str]) -> dict[str, str | None]:
        """token → app_id; None for a token of another platform's app (not ours to send)."""
        from messaging.models import App, PushToken

        found = dict(PushToken.objects.filter(token__in=tokens).values_list("token", "app_id"))
        platforms = {
            app.app_id: app.platform
            for app in App.objects.filter(
                api_id__in=[a for a in set(found.values()) if _is_uuid(a)]
            )
        }
        wanted = CHANNEL_PLATFORM.get(self.channel)
        result: dict[str, str | None] = {}
        for token in tokens:
            app_id = found.get(token, "")
            platform = platforms.get(app_id)
            result[token] = None if platform and wanted and platform != wanted else app_id
        return result

    def send_batch(self, items: list[Outgoing]) -> list[Outcome]:
        from messaging.services.providers import push_token_invalidate

        parts: list[list[str]] = [[a for a in item.address.split("\n") if a] for item in items]
        push = self.channel in CHANNEL_PLATFORM
        token_apps = self._token_apps([t for p in parts for t in p]) if push else {}
        groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
        per_item: list[list[Outcome]] = [[] for _ in items]
        for index, (item, addresses) in enumerate(zip(items, parts, strict=True)):
            for address in addresses:
                app_id = item.app_id or (token_apps.get(address) if push else "")
                if app_id is None:
                    continue  # a token of, say, the Android app in an iOS delivery
                groups[app_id].append((index, address))
        self.used = set()
        for app_id, members in groups.items():
            adapter = self._adapter(app_id)
            self.used.add(adapter.name)
            outcomes = adapter.send_batch(
                [
                    Outgoing(
                        message_id=items[i].message_id,
                        address=address,
                        payload=items[i].payload,
                        app_id=app_id,
                    )
                    for i, address in members
                ]
            )
            for (index, address), outcome in zip(members, outcomes, strict=True):
                if outcome.invalidate_address and push and len(parts[index]) > 1:
                    # Only this device is dead; the pipeline would drop every token listed.
                    push_token_invalidate(app_id=app_id, token=address)
                per_item[index].append(outcome)
        self.name = "+".join(sorted(self.used)) or "sandbox"
        results = []
        for addresses, outcomes in zip(parts, per_item, strict=True):
            if not outcomes:
                results.append(
                    Outcome(
                        Result.FAILED, provider_response=f"no push token of a {self.channel} app"
                    )
                )
                continue
            outcome = _combine(outcomes)
            if len(addresses) > 1:
                # Dead tokens were invalidated one by one above; the flag would make the
                # pipeline drop every token of the address, other apps' included.
                outcome.invalidate_address = False
            results.append(outcome)
        return results


class _Unusable:
    """Stands in for an adapter whose stored configuration cannot be used (e.g. credentials
    encrypted with another key): retried later, so fixing the settings saves the send."""

    def __init__(self, name: str, reason: str) -> None:
        self.name, self.reason = name, reason

    def send_batch(self, items: list[Outgoing]) -> list[Outcome]:
        return [
            Outcome(Result.RETRY, provider_response=f"not sent: {self.reason}", retry_after=60)
            for _ in items
        ]


def _is_uuid(value: Any) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
