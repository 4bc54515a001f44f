"""Charts of the recorded benchmark results: ``benchmarks/results.json`` -> ``docs/img/*.png``.

Run: python benchmarks/plot_benchmarks.py [--results FILE] [--out DIR]

- ``overhead.png``: anydiff / direct time ratio against n, one panel per framework, one line per
  operator (the numbers of ``bench_frameworks.py``);
- ``engine_vs_autograd.png``: engine tape value-and-gradient against HIPS autograd, and each as a
  multiple of f's own time (the numbers of ``bench_engine.py``).

Update ``results.json`` from a new benchmark run, then re-run this script and commit the PNGs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def plot(results: Path, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = json.loads(results.read_text())
    out.mkdir(parents=True, exist_ok=True)
    written = []

    rows = data["frameworks"]["rows"]
    frameworks = list(dict.fromkeys(r[0] for r in rows))
    fig, axes = plt.subplots(1, len(frameworks), figsize=(4 * len(frameworks), 3.4), sharey=True)
    for ax, fw in zip(axes, frameworks):
        for op in dict.fromkeys(r[1] for r in rows if r[0] == fw):
            pts = sorted((r[2], r[4] / r[3]) for r in rows if r[0] == fw and r[1] == op)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=op)
        ax.axhline(1.0, color="grey", lw=0.8)
        ax.axhline(1.1, color="grey", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_title(fw)
        ax.set_xlabel("n (size of x)")
    axes[0].set_ylabel("anydiff / direct time")
    axes[-1].legend(fontsize=8)
    fig.suptitle("Prepared anydiff operator against the framework called directly", fontsize=10)
    fig.tight_layout()
    written.append(out / "overhead.png")
    fig.savefig(written[-1], dpi=110, metadata={"Software": None})
    plt.close(fig)

    rows = data["engine"]["rows"]
    names = [r[0] for r in rows]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
    ys = range(len(rows))
    a1.barh([y + 0.2 for y in ys], [r[3] * 1e6 for r in rows], height=0.4, label="autograd value_and_grad")
    a1.barh([y - 0.2 for y in ys], [r[2] * 1e6 for r in rows], height=0.4, label="engine tape value_and_grad")
    a1.set_xscale("log")
    a1.set_yticks(list(ys), names, fontsize=8)
    a1.set_xlabel("µs per call (log scale)")
    a1.legend(fontsize=8)
    a1.set_title("time per value-and-gradient")
    a2.barh([y + 0.2 for y in ys], [r[3] / r[1] for r in rows], height=0.4, label="autograd")
    a2.barh([y - 0.2 for y in ys], [r[2] / r[1] for r in rows], height=0.4, label="engine")
    a2.set_yticks(list(ys), [""] * len(rows))
    a2.set_xlabel("value-and-gradient time / f time")
    a2.axvline(3.0, color="grey", lw=0.8, ls=":")
    a2.legend(fontsize=8)
    a2.set_title("cost relative to f")
    fig.tight_layout()
    written.append(out / "engine_vs_autograd.png")
    fig.savefig(written[-1], dpi=110, metadata={"Software": None})
    plt.close(fig)
    return written


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results.json")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = p.parse_args()
    for path in plot(args.results, args.out):
        print("wrote", path)


if __name__ == "__main__":
    main()
