"""The inputs' model: the risk register, the insurance policy, contracts, the practice profile,
the controls library, the standards and the incident log, each validated into frozen dataclasses.
"""
