"""A logged model must load in another process: cockpit saves it with joblib (pickle) and
every later stage (evaluate, gate, serve, batch) loads it in its own process. A class or
function the user's script or notebook defines lives in `__main__`, which that process
cannot import: refused at log_model, not at the first evaluate or request."""

from __future__ import annotations

import pickle
import types
from typing import Any

from cockpit.errors import CockpitError


class _FromMain(Exception):
    def __init__(self, found: Any) -> None:
        self.found = found


class _Sink:
    """Pickled bytes go nowhere: only whether the model pickles is wanted."""

    def write(self, data: bytes) -> int:
        return len(data)


class _Probe(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, (type, types.FunctionType)) and getattr(obj, "__module__", None) == "__main__":
            raise _FromMain(obj)
        return NotImplemented


def check_portable(model: Any, label: str = "the model") -> None:
    """The model pickles, and names no class or function of `__main__`."""
    # protocol 5 hands large arrays to buffer_callback: they are not copied to be thrown away
    probe = _Probe(_Sink(), protocol=5, buffer_callback=lambda _: None)
    try:
        probe.dump(model)
    except _FromMain as found:
        kind = "class" if isinstance(found.found, type) else "function"
        raise CockpitError(
            f"{label} uses the {kind} {found.found.__qualname__} defined in your script or notebook "
            "(__main__): cockpit loads the model in another process, which cannot import it. "
            f"Define {found.found.__qualname__} in a module (a .py file) and import it"
        ) from None
    except Exception as exc:  # pickle's refusal (a lambda, a lock, an open file) is the answer
        raise CockpitError(
            f"{label} cannot be saved: pickle refuses it ({type(exc).__name__}: {exc})"[:300]
            + "; cockpit saves the model with joblib, so everything it holds must pickle"
        ) from None
