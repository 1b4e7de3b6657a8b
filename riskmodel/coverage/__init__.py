"""Who pays for every simulated event: NHS and supplier contracts first, then the insurance policy
(excess, sublimits, aggregate limit, waiting periods, exclusions, warranties), the rest kept by
the practice; and the invariants every split must satisfy.
"""
