"""Keep library chatter (weight-loading bars, init notices) out of chatclone's own output."""

from __future__ import annotations

import logging
import os
import warnings


def quiet_libraries() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    warnings.filterwarnings("ignore", message=".*mean_resizing.*")
    # accelerate saves tied embeddings once and says so at every checkpoint; reloading ties
    # them again (checked by the resume tests), so the notice is only noise for users.
    logging.getLogger("accelerate.utils.other").setLevel(logging.ERROR)
