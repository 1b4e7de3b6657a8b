"""Statistics and decisions from simulated, priced years: the simulation drivers, metrics and
their Monte Carlo errors, policy comparison, quarter-on-quarter attribution, control ranking,
the practice's own evidence (posterior frequencies).
"""
