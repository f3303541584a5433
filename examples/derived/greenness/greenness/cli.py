"""``greenness STACK --out FILE.parquet``: the trend of every pixel of a stack."""

from __future__ import annotations

import argparse
import sys

from .trend import annual_ndvi, trends


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="greenness", description=__doc__)
    parser.add_argument("stack", help="the stack's folder or object-store prefix")
    parser.add_argument("--out", required=True, help="Parquet file of row, col, years, slope, intercept")
    parser.add_argument("--master", help="ardent's --master (default: ARDENT_MASTER, else embedded)")
    parser.add_argument("--min-years", type=int, default=3, help="fewest clear years for a trend (3)")
    args = parser.parse_args(argv)
    try:
        table = trends(annual_ndvi(args.stack, args.master), args.min_years)
    except (RuntimeError, ValueError) as e:
        print(f"greenness: {e}", file=sys.stderr)
        return 1
    table.to_parquet(args.out, index=False)
    greening, browning = int((table.slope > 0).sum()), int((table.slope < 0).sum())
    print(f"{len(table)} pixels: {greening} greening, {browning} browning; written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
