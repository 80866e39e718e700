"""python3 -m ivftrain report MODEL_DIR [--eval EVAL.json] [--data DATASET] --out report.png"""
import sys

from .report import main

sys.exit(main())
