"""A model that never returns (a deadlock, a wait on a device): ``--timeout`` stops it."""

import time


def stuck(x):
    time.sleep(3600)
    return x
