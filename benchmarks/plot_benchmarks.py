"""Charts of the recorded benchmark results: ``benchmarks/results.json`` -> ``docs/img/*.png``.

Run: python benchmarks/plot_benchmarks.py [--results FILE] [--out DIR]

- ``overhead.png``: anydiff / direct time ratio against n, one panel per framework, one line per
  operator (the numbers of ``bench_frameworks.py``);
- ``engine_vs_autograd.png``: engine tape value-and-gradient against HIPS autograd, and each as a
  multiple of f's own time (the numbers of ``bench_engine.py``);
- ``sparse_vs_dense.png``: Brusselator Jacobian per call against N: ``AutoSparse(b)`` against the
  dense backend and asdex (the numbers of ``bench_sparse_jacobian.py``, key ``"sparse"``).

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
    if "sparse" in data:
        written.append(plot_sparse(data["sparse"], out / "sparse_vs_dense.png", plt))
    return written


def plot_sparse(entry: dict, path: Path, plt, backends: tuple = ("jax", "engine", "finitediff")) -> Path:
    """Brusselator Jacobian, ms per prepared call against N (log-log): AutoSparse(b) solid, the
    same dense backend dashed, asdex dotted; the colours used are in the legend."""
    cols = entry["columns"]
    rows = [dict(zip(cols, r)) for r in entry["rows"]]
    rows = [r for r in rows if r["problem"] == "brusselator" and r["backend"] in backends]
    fig, ax = plt.subplots(figsize=(8.6, 4.2))
    for k, b in enumerate(dict.fromkeys(r["backend"] for r in rows)):
        mine = sorted((r for r in rows if r["backend"] == b), key=lambda r: r["N"])
        color = f"C{k}"
        ax.plot([r["N"] for r in mine], [r["sparse_ms"] for r in mine], marker="o", color=color,
                label=f"AutoSparse({b!r}), {mine[-1]['ncolors']} colours")
        dense = [r for r in mine if r["dense_ms"] is not None]
        if dense:
            ax.plot([r["N"] for r in dense], [r["dense_ms"] for r in dense], marker="s", ls="--",
                    color=color, alpha=0.6, label=f"dense {b!r}")
        ref = [r for r in mine if r.get("asdex_ms") is not None]
        if ref:
            ax.plot([r["N"] for r in ref], [r["asdex_ms"] for r in ref], marker="^", ls=":",
                    color="black", label="asdex (JAX)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    sizes = sorted({r["N"] for r in rows})
    ax.set_xticks(sizes, [str(v) for v in sizes])
    ax.minorticks_off()
    ax.set_xlabel("N (grid N × N, 2 N² unknowns)")
    ax.set_ylabel("ms per Jacobian (prepared call)")
    ax.set_title("Brusselator Jacobian: sparse (coloured) vs dense vs asdex", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results.json")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = p.parse_args()
    for path in plot(args.results, args.out):
        print("wrote", path)


if __name__ == "__main__":
    main()
