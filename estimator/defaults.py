"""Defaults of the inputs, named once: here with no imports, so the command line's help can
name them without loading the models (typer reads every signature at start-up)."""

from __future__ import annotations

# The training sequence length when none is given (Llama 2, DeepSeek-V3 pretraining: 4K).
DEFAULT_SEQ_LEN = 4096
# A serving request's prompt and output lengths when none are given.
DEFAULT_INPUT_LEN = 2048
DEFAULT_OUTPUT_LEN = 512
# The alternatives a plan shows per phase.
DEFAULT_TOP_K = 3
