"""The delivery side of a dispatch: audience in pages, render, claim, send, record.

A run of `run.dispatch_run` goes through these modules, in this order:

- `paging`: the dispatch's profiles, counted, then walked in keyset pages;
- `plans`: one plan per message object (channel, compiled templates, variation);
- `rows`: per page and plan, one delivery row per profile, rendered and addressed
  (`recipients` decides who is reachable, `push_tokens` which tokens may be used);
- `claims`: the rows this run may send, taken in a locked transaction;
- `send`: the claimed rows as `Outgoing` items through the adapter `routing` picks (built
  by `registry`; content cards land in the feed through `feed`);
- `outcomes`: what the adapter answered, stored with its engagement events and dead tokens;
- `sweeper`: dispatches and rows that lost their worker.

Adapters (messaging.channels) are pure; every database read and write of a send happens
here. The Celery entry points are in messaging.tasks.
"""
