"""Realism profiles: where the docs are silent, switch from the friendly guess to a harsher one.

See README.md ("Realism profiles") for what each profile does and the line it stands on.
"""

import hashlib

PROFILES = ("lag", "unordered", "skew", "vocabulary", "licences", "pages", "names")
# pages: the most pairs one DescribeAssetImageHostList answer holds.
T8_PAGE = 20
# licences: every LICENCE_EVERY-th image (dataset order, from the LICENCE_FIRST-th) cannot be
# scanned: TCSS IsAuthorized 0, HSS non_scan_reason / scannable false.
LICENCE_EVERY = 5
LICENCE_FIRST = 4
NO_LICENCE_REASON = "image_scan_quota_exhausted: no image-scan licence is bound to this image"


class RealismError(ValueError):
    pass


def parse(text):
    """``"lag,skew"`` / ``"all"`` / ``""`` -> a sorted tuple of profile names."""
    names = set()
    for part in (text or "").split(","):
        part = part.strip()
        if not part or part == "none":
            continue
        if part == "all":
            names.update(PROFILES)
        elif part in PROFILES:
            names.add(part)
        else:
            raise RealismError("unknown realism profile %r (known: %s, all)"
                               % (part, ", ".join(PROFILES)))
    return tuple(p for p in PROFILES if p in names)


def stable_shuffle(items, key):
    """``items`` in an order that looks random but is the same on every call."""
    return sorted(items, key=lambda item: hashlib.sha1(str(key(item)).encode("utf-8")).digest())
