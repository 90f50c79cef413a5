"""Scalar outputs (``--out ''`` on the command line, ``output=""`` in a declaration): the
energy of a point cloud is invariant under E(c) and S(n); measured from the origin it is not
invariant under translations."""


def energy(p):
    """The sum of the squared distances between every pair of points."""
    diff = p[:, None, :] - p[None, :, :]
    return float((diff**2).sum())


def energy_from_origin(p):
    """The sum of the squared distances from the origin."""
    return float((p**2).sum())
