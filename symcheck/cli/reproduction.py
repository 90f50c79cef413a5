"""The reproduction recipe in the command line's words: the flags that replay the worst case,
and a ``symcheck check --only`` line (the Python API words it as a call, in :mod:`symcheck.api`).
Flags are the command line's own: the report layer gets these lines finished.

>>> from symcheck.app.reproduction import Reproduction
>>> from symcheck.core.caseid import CaseId, GroupSet
>>> r = Reproduction(kind="model", target="m.py:f", name="f", inputs=("n d",),
...                  outputs=("n d",), groups=("S(n)",), sizes={"n": 4, "d": 2},
...                  case=CaseId(GroupSet(("S(n)",)), "haar", 3))
>>> print(command(r).replace(" --", "\\n--"))
symcheck equivariance m.py:f
--in 'n d'
--out 'n d'
--group 'S(n)'
--size n=4,d=2
--seed 0
--trials 20
--case 'S(n)/haar:3'
"""

from __future__ import annotations

import shlex

from symcheck.app.reproduction import Reproduction
from symcheck.cli.options import flag
from symcheck.core.caseid import CaseId
from symcheck.core.options import Measure


def command(r: Reproduction) -> str | None:
    """The ``symcheck`` command that replays the worst failing case (None: nothing fails, or
    the check has no command line, e.g. an in-memory callable)."""
    if r.case is None or r.target is None:
        return None
    if r.kind == "weights":
        return _weights_command(r, r.case)
    args = ["symcheck", "equivariance", r.target]
    for spec in r.inputs:
        args += ["--in", spec]
    for spec in r.outputs:
        args += ["--out", spec]
    for group in r.groups:
        args += ["--group", group]
    args += ["--size", ",".join(f"{k}={v}" for k, v in r.sizes.items())]
    args += measure_flags(r.measure)
    if r.data is not None:
        args += ["--inputs", r.data]
    if r.mask is not None:
        args += ["--mask", r.mask]
    if r.padding_mask is not None:
        args += ["--padding-mask", r.padding_mask]
    args += ["--case", r.case.ref]
    if r.backend is not None:
        args += ["--backend", r.backend]
    return shlex.join(args)


def measure_flags(m: Measure) -> list[str]:
    """The flags of the measurement options a replay repeats: seed and trials always, then
    every declared option that differs from its default (the case is the caller's).

    >>> measure_flags(Measure(seed=3, trials=20, probes=False, rtol=1e-6))
    ['--seed', '3', '--trials', '20', '--rtol', '1e-06', '--no-probes']
    """
    args = [flag("seed"), str(m.seed), flag("trials"), str(m.trials)]
    for name, value in m.changed().items():
        if name in ("seed", "trials", "case"):
            continue
        if isinstance(value, bool):
            args.append(flag(name) if value else flag(name).replace("--", "--no-", 1))
        else:
            args += [flag(name), repr(value) if isinstance(value, float) else str(value)]
    return args


def _weights_command(r: Reproduction, case: CaseId) -> str:
    w = r.weights
    args = ["symcheck", "equivariance", str(r.target)]
    if w.get("layer"):
        args += ["--layer", str(w["layer"])]
    if w.get("heads") is not None:
        args += ["--heads", str(w["heads"])]
    for group in r.groups:
        args += ["--group", group]
    args += ["--size", f"n={r.sizes.get('n')}", *measure_flags(r.measure),
             "--weights", str(w["mode"])]
    if w.get("layer") != "all":
        args += ["--component", str(w["component"])]
    if w.get("fold"):
        args += ["--fold-norms"]
    args += ["--case", case.ref]
    return shlex.join(args)


def check_command(name: str, config: str | None) -> str:
    """``symcheck check [--config PATH] --only NAME``: the declared check ``name`` alone.

    >>> check_command("attention", "ci/a b.toml")
    "symcheck check --config 'ci/a b.toml' --only attention"
    """
    args = ["symcheck", "check"]
    if config is not None:
        args += ["--config", config]
    return shlex.join([*args, "--only", name])
