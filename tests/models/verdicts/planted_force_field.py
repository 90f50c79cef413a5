"""A force field: an energy of about 1e4 next to forces of about 1, one output each.

``energy`` is a pairwise Gaussian potential on top of a constant 1e4 (invariant under E(c) and
S(n)); ``forces`` are its exact negative gradient (equivariant). ``planted_force_field`` adds a
fixed field along one coordinate axis to the forces, at 1e-6 of their size: the forces break
E(c) at 1e-6 relative, far above the float64 tolerance 1e-9, while ``‖Δforces‖ / ‖(energy,
forces)‖`` pooled over both outputs is 1e-10 to 3e-10 at the declared n = 6, below it (only the
larger forces of the n = 25 size probe lift the pooled figure just above): an error judged per
output sees the violation on every case. Expected: ``planted_force_field`` exit 1 naming the
forces output; ``force_field`` (the same model without the plant) exit 0.
"""

import numpy as np

import symcheck

OFFSET = 1e4


def _energy_and_forces(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    diff = x[:, None, :] - x[None, :, :]
    pair = np.exp(-0.5 * np.sum(diff**2, axis=-1))
    np.fill_diagonal(pair, 0.0)
    energy = OFFSET + 0.5 * pair.sum()
    # F_i = −∂E/∂x_i = Σ_j exp(−r_ij²/2) (x_i − x_j)
    forces = np.einsum("ij,ijc->ic", pair, diff)
    return np.asarray(energy), forces


@symcheck.equivariant(inputs=["n c:point"], output=["energy=", "forces=n c"],
                      groups=["E(c)", "S(n)"], sizes={"n": 6, "c": 3})
def force_field(x: np.ndarray) -> dict[str, np.ndarray]:
    energy, forces = _energy_and_forces(x)
    return {"energy": energy, "forces": forces}


@symcheck.equivariant(inputs=["n c:point"], output=["energy=", "forces=n c"],
                      groups=["E(c)", "S(n)"], sizes={"n": 6, "c": 3})
def planted_force_field(x: np.ndarray) -> dict[str, np.ndarray]:
    energy, forces = _energy_and_forces(x)
    size = np.sqrt(np.mean(forces**2))
    field = np.zeros_like(forces)
    field[:, 0] = 1e-6 * size  # along the first axis, whatever the rotation
    return {"energy": energy, "forces": forces + field}
