"""The labels a job's container carries: whose run it is, so a run left behind is found."""

OWNER_KEYS = ("berth.project", "berth.stack", "berth.job")
"""The labels that say whose run a job container is (a run left behind is found by them)."""
