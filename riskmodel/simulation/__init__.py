"""Monte Carlo simulation of annual losses: plans from a register, reproducible random streams,
event draws chunk by chunk, per-event losses by component.
"""
