"""The rules of DOMAIN.md section 7 (A1-A16) as executable policy.

Interim: until the privacy issue lands, every verified principal is treated like the open
policy. The privacy issue replaces this module with the real rules; nothing else changes.
"""

from __future__ import annotations

from app.access.policy import OpenPolicy


class CarePolicy(OpenPolicy):
    """Placeholder for A1-A16 (issue: patient privacy)."""
