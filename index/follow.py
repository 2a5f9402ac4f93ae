"""A registry that follows a shared store: several machines ingest into one `chroma run` server,
which keeps a record of every stored article and copy (store.py); `follow` brings this machine's
registry, and so BM25 (rebuilt when the registry's generation moves), to what the server holds.
The server is the one source of truth; a registry in front of it is a view that can be rebuilt."""
from __future__ import annotations

from dataclasses import dataclass

from . import neardup
from .journal import chunk_id
from .registry import Registry
from .store import VectorStore


@dataclass
class FollowReport:
    added: int = 0  # articles and copies stored from elsewhere
    updated: int = 0
    removed: int = 0  # removed elsewhere
    shared: int = 0  # this registry's own, which the server had no record of yet (stored before records)


def follow(registry: Registry, store: VectorStore) -> FollowReport:
    """Add, update and remove registry rows until they are the server's records."""
    report = FollowReport()
    if not store.shared:
        return report
    heads = store.record_heads()
    busy = set(registry.pending())  # this data dir's writes in flight: theirs to finish
    local = {aid: head for aid, head in registry.heads().items() if aid not in busy}
    missing = [aid for aid in local if aid not in heads]
    if missing:
        # Without a record, an original whose chunks the server holds was stored before records
        # existed: shared now, with its copies. One whose chunks are gone was removed elsewhere.
        held = store.ids_for_articles([aid for aid in missing if local[aid][1] is None])
        keep = {aid for aid, ids in held.items() if ids}
        keep |= {aid for aid in missing if local[aid][1] in keep or local[aid][1] in heads}
        records = registry.records(sorted(keep))
        store.put_records(records)
        report.shared = len(records)
        gone = [aid for aid in missing if aid not in keep]
        with registry.transaction():
            for aid in gone:
                registry.remove_article(aid)
        report.removed = len(gone)
    changed = [aid for aid, head in heads.items() if aid not in busy and local.get(aid) != head]
    for i in range(0, len(changed), 500):  # a transaction per page: a big first follow holds no long lock
        records = [registry.own(r) for r in store.records(changed[i:i + 500])]
        with registry.transaction():
            for record in records:
                article = record.article
                if record.canonical:
                    registry.remove_article(article.id)
                    registry.put_alias(article, record.canonical, record.similarity or 1.0)
                else:
                    chunks = record.chunks()
                    registry.put_article(article, [chunk_id(article, c) for c in chunks], chunks)
                    sig = neardup.signature(article.text)
                    registry.put_signature(article.id, None if sig is None else neardup.to_bytes(sig))
                if article.id in local:
                    report.updated += 1
                else:
                    report.added += 1
    return report
