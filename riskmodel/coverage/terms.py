"""Contracts and a policy compiled against a register and its control statuses."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..inputs.components import COMPONENTS
from ..inputs.contracts import Contracts
from ..inputs.policy import WAR_TAGS, Policy
from ..inputs.register import Register

K = len(COMPONENTS)


@dataclass(frozen=True)
class Terms:
    """Contracts and policy compiled against a register and its control statuses.

    Attributes
    ----------
    borne : ndarray (risks, K)
        The share of each component the risk's system owner bears by contract.
    recovery_probability, cap_per_event : ndarray (risks,)
        The chance the owner pays an event, and the most it pays for one (inf: no cap).
    policy : Policy or None
    excluded : ndarray (risks,) of bool
        War or unencrypted-device exclusion: the policy pays nothing of the risk.
    warranty : ndarray (risks,) of bool
        A warranted control relevant to the risk is not in place.
    cost_per_hour : float
        The practice's business-interruption cost per hour of downtime.
    """

    borne: np.ndarray
    recovery_probability: np.ndarray
    cap_per_event: np.ndarray
    policy: Policy | None
    excluded: np.ndarray
    warranty: np.ndarray
    cost_per_hour: float

    @classmethod
    def compile(cls, register: Register, contracts: Contracts, policy: Policy | None,
                control_status: dict[str, bool] | None = None) -> "Terms":
        """The terms of ``contracts`` and ``policy`` for each risk of ``register``, with the
        register's control statuses overridden by ``control_status``."""
        status = {**register.control_status, **(control_status or {})}
        R = len(register.risks)
        borne = np.zeros((R, K))
        rec = np.ones(R)
        cap = np.full(R, np.inf)
        excluded = np.zeros(R, dtype=bool)
        warranty = np.zeros(R, dtype=bool)
        for i, r in enumerate(register.risks):
            cover = contracts.cover(r.system_owner)
            for comp, share in cover.borne.items():
                borne[i, COMPONENTS.index(comp)] = share
            rec[i] = cover.recovery_probability
            if cover.cap_per_event is not None:
                cap[i] = cover.cap_per_event
            if policy is not None:
                if policy.war_exclusion and any(t in WAR_TAGS for t in r.tags):
                    excluded[i] = True
                if (policy.unencrypted_device_exclusion and r.category == "lost_stolen_device"
                        and not status.get("device_encryption", False)):
                    excluded[i] = True
                for c in policy.requires_controls:
                    ctrl = register.controls.get(c)
                    relevant = ctrl is None or not ctrl.categories or r.category in ctrl.categories
                    if relevant and not status.get(c, False):
                        warranty[i] = True
        return cls(borne, rec, cap, policy, excluded, warranty,
                   register.practice.interruption_cost_per_hour)
