"""The eval report: report.json, a printed table and a PNG chart comparing configurations."""
from __future__ import annotations

import json
from pathlib import Path

from rag.errors import require_extra

COLUMNS = [("hit_at_1", "hit@1"), ("hit_at_5", "hit@5"), ("hit_at_10", "hit@10"), ("mrr", "MRR"),
           ("answer_correct", "correct"), ("token_f1", "F1"), ("citation_recall", "cite R"),
           ("citation_precision", "cite P"), ("abstention_accuracy", "abstain"),
           ("false_abstention_rate", "false abst"), ("all_articles_at_10", "all@10"),
           ("latency_p50_ms", "p50 ms"), ("latency_p95_ms", "p95 ms")]
CHARTED = [c for c in COLUMNS[:-2] if c[0] != "false_abstention_rate"]


def table(compare: dict[str, dict]) -> str:
    """A fixed-width table, one row per configuration (also valid Markdown)."""
    head = "| config | " + " | ".join(label for _, label in COLUMNS) + " |"
    rule = "|---|" + "---:|" * len(COLUMNS)
    rows = [f"| {name} | " + " | ".join(_cell(m.get(key)) for key, _ in COLUMNS) + " |"
            for name, m in compare.items()]
    return "\n".join([head, rule, *rows])


def _cell(value) -> str:
    if value is None:
        return "–"
    return f"{value:.0f}" if value > 10 else f"{value:.2f}"


def write_report(summary: dict, out: Path) -> None:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    text = table(summary["compare"])
    (out / "table.md").write_text(text + "\n")
    print(text)
    chart(summary["compare"], out / "report.png", title=f"{Path(summary['gold']).name} on {summary['corpus']}")
    print(f"\nwrote {out / 'report.json'}, {out / 'table.md'}, {out / 'report.png'}")


def chart(compare: dict[str, dict], path: Path, title: str) -> None:
    matplotlib = require_extra("matplotlib", "eval", "the eval chart")
    matplotlib.use("Agg")  # no display here
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(compare)
    x = np.arange(len(CHARTED))
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(12, 5))
    for i, name in enumerate(names):
        values = [compare[name].get(key) or 0.0 for key, _ in CHARTED]
        ax.bar(x + i * width - 0.4 + width / 2, values, width, label=name)
    ax.set_xticks(x, [label for _, label in CHARTED])
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    ax.legend(fontsize=8, ncols=min(5, len(names)), loc="upper center", bbox_to_anchor=(0.5, -0.08))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
