"""A third-party loader, in one file: registered as `wire` in the `newsrag.loaders` entry-point
group, it reads `.wire` files, a news-wire format: `SLUG | YYYY-MM-DD` then the story."""
from __future__ import annotations

from index.loaders import FileText, LoadError, Loader


class WireLoader(Loader):
    suffixes = (".wire",)

    def load(self, file: FileText):
        head, _, body = file.text.partition("\n")
        slug, bar, day = head.partition("|")
        if not bar:
            raise LoadError("the first line must be 'SLUG | YYYY-MM-DD'")
        return [file.article(body, title=slug.strip(), date=day.strip(), source="wire")]
