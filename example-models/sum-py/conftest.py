"""pytest setup: puts the mcp guest library (model-sdk/python) on the import path."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent.joinpath("../../model-sdk/python").resolve()))
