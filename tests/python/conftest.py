import os

from hypothesis import HealthCheck, settings

# Under CI (the CI variable set) the examples are the same on every run, so that a red CI is
# reproducible; elsewhere each run explores new ones.
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=bool(os.environ.get("CI")),
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("thorough", max_examples=500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("PCCT_HYPOTHESIS_PROFILE", "ci"))
