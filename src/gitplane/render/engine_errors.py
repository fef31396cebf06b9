"""kustomize's errors made readable: its chain of wrapped errors shortened to the one that
says what is wrong, paths made repository-relative, whole objects it prints left out (they
can hold a Secret's values)."""
from __future__ import annotations

import os
import re
from pathlib import Path


_ABS_PATH = re.compile(r"(/[\w.@+-]+)+")


def readable_error(stderr: str, top: Path, scratch: Path, directory: Path | None = None) -> str:
    """kustomize's chain of wrapped errors, shortened, with paths made relative."""
    text = stderr.strip().splitlines()
    msg = next((ln for ln in reversed(text) if ln.startswith("error:") or
                ln.startswith("Error:")), text[-1] if text else "kustomize failed")
    msg = re.sub(r"^(error|Error):\s*", "", msg)
    msg = re.sub(r"map\[string\]interface \{\}\{.*\}", "<object redacted>", msg)
    msg = re.sub(r"missing kind in object \{.*\}", "missing kind in object (not a Kubernetes "
                 "object)", msg)
    via_wrapper = os.path.relpath(top, scratch) + "/"
    for base, repl in ((str(scratch), ""), (str(top.resolve()) + "/", ""), (str(top) + "/", ""),
                       (via_wrapper, "")):
        msg = msg.replace(base, repl)
    msg = re.sub(r"accumulating resources: accumulation err='accumulating resources from "
                 r"'[^']*': ", "", msg)
    msg = re.sub(r"accumulating (resources|components): accumulateDirectory: \"recursed "
                 r"accumulation of path '[^']*': (.*)\"$", r"\2", msg)
    if "already registered id" in msg:
        m = re.search(r"already registered id: (\S+)", msg)
        msg = f"the same object is defined twice: {m.group(1) if m else ''} " \
              "(may not add resource with an already registered id)"
    elif "accumulating resources" in msg and "no such file" in msg:
        m = re.search(r"accumulating resources from '([^']+)'", msg)
        msg = f"resource '{m.group(1) if m else '?'}' not found"
    elif len(msg) > 400:
        parts = [p for p in msg.split(": ") if p]
        msg = ": ".join(parts[-3:])
    return msg
